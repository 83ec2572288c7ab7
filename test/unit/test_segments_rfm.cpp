// RFM scores, the segment table, value tiers and churn labels, on
// hand-computed cases (the arithmetic is in the comments).
#include "core/segments/rfm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg = salesflow::segments;

namespace {

std::vector<int> recency_scores(const std::vector<double>& r) {
    const std::vector<double> zeros(r.size(), 0.0);
    std::vector<int> out;
    for (const auto& s : sg::rfm_scores(r, zeros, zeros)) out.push_back(s.recency);
    return out;
}

}  // namespace

// score = 1 + floor((10·below + 5·equal) / (2n)); with n = 10 and distinct
// values the k-th worst (k = 0..9) scores 1 + floor((10k + 5)/20): 1,1,2,2,3,3,4,4,5,5.
TEST(SegmentsRfm, TenCustomersScoreAsComputedByHand) {
    const std::vector<double> recency{5, 40, 12, 90, 3, 200, 60, 25, 150, 8};  // days since last purchase
    const std::vector<double> frequency{10, 2, 7, 1, 15, 1, 3, 5, 1, 8};         // three tied at 1
    const std::vector<double> monetary{500, 80, 320, 20, 900, 35, 150, 150, 10, 410};  // two tied at 150
    const auto scores = sg::rfm_scores(recency, frequency, monetary);
    // Recency, worst first: 200,150 → 1; 90,60 → 2; 40,25 → 3; 12,8 → 4; 5,3 → 5.
    const std::vector<int> r{5, 3, 4, 2, 5, 1, 2, 3, 1, 4};
    // Frequency: the three 1s: below 0, equal 3 → 1 + 15/20 → 1; 2: below 3 → 1 + 35/20 → 2;
    // 3: 45/20 → 3; 5: 55/20 → 3; 7: 65/20 → 4; 8: 75/20 → 4; 10, 15 → 5.
    const std::vector<int> f{5, 2, 4, 1, 5, 1, 3, 3, 1, 4};
    // Monetary: 10, 20 → 1; 35, 80 → 2; the two 150s: below 4, equal 2 → 1 + 50/20 → 3; 320, 410 → 4; 500, 900 → 5.
    const std::vector<int> m{5, 2, 4, 1, 5, 2, 3, 3, 1, 4};
    ASSERT_EQ(scores.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(scores[i].recency, r[i]) << "customer " << i;
        EXPECT_EQ(scores[i].frequency, f[i]) << "customer " << i;
        EXPECT_EQ(scores[i].monetary, m[i]) << "customer " << i;
    }
    // Their segments (FM = (F + M + 1) / 2).
    const std::vector<std::string> segments{"Champions",  "About to Sleep", "Champions",      "Hibernating", "Champions",
                                            "Lost",       "At Risk",        "Need Attention", "Lost",        "Champions"};
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(sg::rfm_segment_name(sg::rfm_segment(scores[i])), segments[i]) << i;
}

TEST(SegmentsRfm, TiesAlwaysShareAScore) {
    EXPECT_EQ(sg::quintile_scores(std::vector<double>(7, 42.0)), std::vector<int>(7, 3));
    EXPECT_EQ(recency_scores(std::vector<double>(3, 10.0)), std::vector<int>(3, 3));
    const std::vector<double> v{5, 1, 5, 3, 5, 1};
    const auto s = sg::quintile_scores(v);
    EXPECT_EQ(s[0], s[2]);
    EXPECT_EQ(s[0], s[4]);
    EXPECT_EQ(s[1], s[5]);
}

TEST(SegmentsRfm, TinyPopulationsStayAwayFromTheExtremes) {
    EXPECT_EQ(sg::quintile_scores(std::vector<double>{7}), std::vector<int>{3});
    EXPECT_EQ(sg::quintile_scores(std::vector<double>{1, 2}), (std::vector<int>{2, 4}));
    EXPECT_EQ(sg::quintile_scores(std::vector<double>{2, 2}), (std::vector<int>{3, 3}));
    EXPECT_EQ(sg::quintile_scores(std::vector<double>{4, 1, 3, 2}), (std::vector<int>{5, 1, 4, 2}));
    EXPECT_EQ(recency_scores({4, 1, 3, 2}), (std::vector<int>{1, 5, 2, 4}));
    EXPECT_EQ(sg::quintile_scores(std::vector<double>{1, 2, 3, 4, 5}), (std::vector<int>{1, 2, 3, 4, 5}));
    // One customer: average on every axis.
    const auto one = sg::rfm_scores(std::vector<double>{3}, std::vector<double>{1}, std::vector<double>{20});
    EXPECT_EQ(one[0].recency, 3);
    EXPECT_EQ(one[0].frequency, 3);
    EXPECT_EQ(one[0].monetary, 3);
    EXPECT_STREQ(sg::rfm_segment_name(sg::rfm_segment(one[0])), "Need Attention");
    EXPECT_TRUE(sg::quintile_scores(std::vector<double>{}).empty());
}

TEST(SegmentsRfm, ScoresAreOrderIndependentAndMonotone) {
    std::vector<double> v;
    for (int i = 0; i < 103; ++i) v.push_back(std::fmod(i * 37.0, 23.0));  // many ties
    const auto s = sg::quintile_scores(v);
    std::vector<double> reversed(v.rbegin(), v.rend());
    auto sr = sg::quintile_scores(reversed);
    std::reverse(sr.begin(), sr.end());
    EXPECT_EQ(s, sr);
    std::set<int> seen;
    for (std::size_t i = 0; i < v.size(); ++i) {
        ASSERT_GE(s[i], 1);
        ASSERT_LE(s[i], 5);
        seen.insert(s[i]);
        for (std::size_t j = 0; j < v.size(); ++j)
            if (v[i] < v[j]) {
                ASSERT_LE(s[i], s[j]);
            }
    }
    EXPECT_EQ(seen.size(), 5u);
}

TEST(SegmentsRfm, EveryCellHasExactlyOneOfTheElevenSegments) {
    const std::set<std::string> names{"Champions",      "Loyal Customers", "Potential Loyalists", "New Customers",
                                      "Promising",      "Need Attention",  "About to Sleep",      "At Risk",
                                      "Can't Lose Them", "Hibernating",    "Lost"};
    std::set<std::string> reached;
    int cells = 0;
    for (int r = 1; r <= 5; ++r)
        for (int f = 1; f <= 5; ++f)
            for (int m = 1; m <= 5; ++m) {
                const std::string name = sg::rfm_segment_name(sg::rfm_segment(r, f, m));
                ASSERT_EQ(names.count(name), 1u) << name;
                reached.insert(name);
                ++cells;
            }
    EXPECT_EQ(cells, 125);
    EXPECT_EQ(reached, names);
    EXPECT_EQ(sg::kRfmSegmentCount, 11);
}

TEST(SegmentsRfm, SegmentTableCorners) {
    auto name = [](int r, int f, int m) { return std::string(sg::rfm_segment_name(sg::rfm_segment(r, f, m))); };
    EXPECT_EQ(name(5, 5, 5), "Champions");
    EXPECT_EQ(name(5, 1, 1), "New Customers");
    EXPECT_EQ(name(4, 1, 1), "Promising");
    EXPECT_EQ(name(4, 2, 1), "Potential Loyalists");  // FM = (2+1+1)/2 = 2
    EXPECT_EQ(name(3, 5, 4), "Loyal Customers");
    EXPECT_EQ(name(3, 3, 3), "Need Attention");
    EXPECT_EQ(name(3, 1, 2), "About to Sleep");
    EXPECT_EQ(name(2, 4, 3), "At Risk");
    EXPECT_EQ(name(1, 5, 5), "Can't Lose Them");
    EXPECT_EQ(name(2, 1, 2), "Hibernating");
    EXPECT_EQ(name(1, 1, 1), "Lost");
    EXPECT_EQ(sg::rfm_fm_score(1, 2), 2);
    EXPECT_EQ(sg::rfm_fm_score(4, 5), 5);
    EXPECT_EQ(sg::rfm_fm_score(1, 1), 1);
}

TEST(SegmentsRfm, ValueTiersFollowParetoShares) {
    // Total 100. Share of revenue before each customer: 0 → high; 0.5 → medium
    // (not < 0.5); 0.8 → low; 0.9 → low.
    const std::vector<double> m{10, 50, 5, 30, 5};
    const auto t = sg::value_tiers(m);
    const std::vector<sg::ValueTier> expected{sg::ValueTier::low, sg::ValueTier::high, sg::ValueTier::low,
                                              sg::ValueTier::medium, sg::ValueTier::low};
    EXPECT_EQ(t, expected);
    // A tie group straddling a threshold takes the tier of its first member:
    // 40 → high (0), the three 20s start at 0.4 → all high.
    const auto ties = sg::value_tiers(std::vector<double>{20, 40, 20, 20});
    EXPECT_EQ(ties, std::vector<sg::ValueTier>(4, sg::ValueTier::high));
    // Custom thresholds: high below 0.3, medium below 0.6.
    const auto custom = sg::value_tiers(std::vector<double>{50, 30, 10, 5, 5}, 0.3, 0.6);
    EXPECT_EQ(custom, (std::vector<sg::ValueTier>{sg::ValueTier::high, sg::ValueTier::medium, sg::ValueTier::low,
                                                   sg::ValueTier::low, sg::ValueTier::low}));
    // Non-positive revenue is always low; an all-zero tenant is all low.
    EXPECT_EQ(sg::value_tiers(std::vector<double>{0, -5, 10}),
              (std::vector<sg::ValueTier>{sg::ValueTier::low, sg::ValueTier::low, sg::ValueTier::high}));
    EXPECT_EQ(sg::value_tiers(std::vector<double>{0, 0}), std::vector<sg::ValueTier>(2, sg::ValueTier::low));
    EXPECT_TRUE(sg::value_tiers(std::vector<double>{}).empty());
    EXPECT_STREQ(sg::value_tier_name(sg::ValueTier::medium), "medium");
}

TEST(SegmentsRfm, ChurnRiskFromPAlive) {
    EXPECT_EQ(sg::churn_risk(0.0), sg::ChurnRisk::high);
    EXPECT_EQ(sg::churn_risk(0.29), sg::ChurnRisk::high);
    EXPECT_EQ(sg::churn_risk(0.3), sg::ChurnRisk::medium);
    EXPECT_EQ(sg::churn_risk(0.69), sg::ChurnRisk::medium);
    EXPECT_EQ(sg::churn_risk(0.7), sg::ChurnRisk::low);
    EXPECT_EQ(sg::churn_risk(1.0), sg::ChurnRisk::low);
    EXPECT_EQ(sg::churn_risk(0.5, 0.6, 0.9), sg::ChurnRisk::high);
    EXPECT_STREQ(sg::churn_risk_name(sg::ChurnRisk::high), "high");
    EXPECT_THROW(sg::churn_risk(1.2), std::invalid_argument);
    EXPECT_THROW(sg::churn_risk(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    EXPECT_THROW(sg::churn_risk(0.5, 0.8, 0.2), std::invalid_argument);
}

TEST(SegmentsRfm, InvalidInputThrowsInvalidArgument) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> two{1, 2}, three{1, 2, 3};
    EXPECT_THROW(sg::rfm_scores(two, three, three), std::invalid_argument);
    EXPECT_THROW(sg::rfm_scores(std::vector<double>{-1, 2}, two, two), std::invalid_argument);
    EXPECT_THROW(sg::rfm_scores(two, std::vector<double>{1, -2}, two), std::invalid_argument);
    EXPECT_THROW(sg::rfm_scores(two, two, std::vector<double>{1, nan}), std::invalid_argument);
    EXPECT_NO_THROW(sg::rfm_scores(two, two, std::vector<double>{-10, 5}));  // net-negative spend ranks lowest
    EXPECT_THROW(sg::quintile_scores(std::vector<double>{std::numeric_limits<double>::infinity()}), std::invalid_argument);
    EXPECT_THROW(sg::rfm_segment(0, 3, 3), std::invalid_argument);
    EXPECT_THROW(sg::rfm_segment(3, 6, 3), std::invalid_argument);
    EXPECT_THROW(sg::value_tiers(two, 0.9, 0.5), std::invalid_argument);
    EXPECT_THROW(sg::value_tiers(two, 0.0, 0.5), std::invalid_argument);
    EXPECT_THROW(sg::value_tiers(std::vector<double>{nan}), std::invalid_argument);
}

// Association rules, recommendations, basket items and backtest metrics of
// the orders module on hand-made data with hand-computed answers.
#include <gtest/gtest.h>

#include "core/orders/associations.hpp"
#include "core/orders/basket.hpp"
#include "core/orders/metrics.hpp"
#include "core/orders/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

namespace {

using namespace salesflow::orders;
using Baskets = std::vector<std::vector<std::int64_t>>;

// N = 6; n(1) = 4, n(2) = 4, n(3) = 3, n(4) = 2 (basket 2 lists item 2 twice:
// counted once); n(12) = 3, n(13) = 2, n(23) = 2, n(14) = n(24) = 1, n(34) = 0.
const Baskets kBaskets{{1, 2, 3}, {1, 2, 2}, {1, 3}, {2, 3}, {1, 2, 4}, {4}};

const Rule* find_rule(const std::vector<Rule>& rules, std::int64_t a, std::int64_t b) {
    for (const auto& r : rules)
        if (r.antecedent == a && r.consequent == b) return &r;
    return nullptr;
}

TEST(OrdersAssociations, HandComputedSupportConfidenceLift) {
    RuleOptions o;
    o.min_support_count = 2;
    o.min_pair_count = 2;
    o.min_confidence = 0.0;
    o.min_lift = 0.0;
    const AssociationResult res = mine_associations(kBaskets, o);
    EXPECT_EQ(res.baskets, 6u);
    EXPECT_EQ(res.frequent_items, 4u);
    EXPECT_EQ(res.recounts, 0);
    ASSERT_EQ(res.rules.size(), 6u);  // pairs 12, 13, 23 both ways; pairs with 4 occur once
    const Rule* r12 = find_rule(res.rules, 1, 2);
    ASSERT_NE(r12, nullptr);
    EXPECT_EQ(r12->pair_count, 3u);
    EXPECT_DOUBLE_EQ(r12->support, 0.5);
    EXPECT_DOUBLE_EQ(r12->confidence, 0.75);
    EXPECT_DOUBLE_EQ(r12->lift, 6.0 * 3 / (4 * 4));
    const Rule* r31 = find_rule(res.rules, 3, 1);
    ASSERT_NE(r31, nullptr);
    EXPECT_DOUBLE_EQ(r31->support, 2.0 / 6);
    EXPECT_DOUBLE_EQ(r31->confidence, 2.0 / 3);
    EXPECT_DOUBLE_EQ(r31->lift, 1.0);
    const Rule* r13 = find_rule(res.rules, 1, 3);
    ASSERT_NE(r13, nullptr);
    EXPECT_DOUBLE_EQ(r13->confidence, 0.5);
    EXPECT_EQ(find_rule(res.rules, 1, 4), nullptr);
    // Sorted by lift: the 1<->2 rules (1.125) come first, 1 -> 2 before 2 -> 1 by id.
    EXPECT_EQ(res.rules[0].antecedent, 1);
    EXPECT_EQ(res.rules[0].consequent, 2);
    EXPECT_EQ(res.rules[1].antecedent, 2);

    o.min_lift = 1.05;
    EXPECT_EQ(association_rules(kBaskets, o).size(), 2u);
    o.min_lift = 0.0;
    o.min_confidence = 0.6;  // 1->2, 2->1 (0.75), 3->1, 3->2 (2/3)
    EXPECT_EQ(association_rules(kBaskets, o).size(), 4u);
    o.min_confidence = 0.0;
    o.min_pair_count = 1;  // 1<->4, 2<->4 join: conf(4->1) = 1/2, lift 6/(2*4) = 0.75
    const auto with4 = association_rules(kBaskets, o);
    EXPECT_EQ(with4.size(), 10u);
    ASSERT_NE(find_rule(with4, 4, 1), nullptr);
    EXPECT_DOUBLE_EQ(find_rule(with4, 4, 1)->lift, 0.75);
    o.min_support_count = 3;  // item 4 (count 2) is not frequent
    EXPECT_EQ(association_rules(kBaskets, o).size(), 6u);
}

TEST(OrdersAssociations, RejectsBadOptionsAndHandlesEmpty) {
    RuleOptions o;
    o.max_pairs = 0;
    EXPECT_THROW(association_rules(kBaskets, o), std::invalid_argument);
    o = {};
    o.min_lift = std::nan("");
    EXPECT_THROW(association_rules(kBaskets, o), std::invalid_argument);
    EXPECT_TRUE(association_rules({}, {}).empty());
    EXPECT_TRUE(association_rules({{}, {7}}, {}).empty());
}

TEST(OrdersAssociations, MemoryBoundRaisesThresholdKeepsExactCounts) {
    const Baskets baskets = simulate_baskets(20000, 2000, 8.0, 1.0, 0.5, 11);
    RuleOptions o;
    o.min_confidence = 0.0;
    o.min_lift = 0.0;
    const AssociationResult full = mine_associations(baskets, o);
    EXPECT_EQ(full.recounts, 0);
    o.max_pairs = full.pairs_counted / 20;
    const AssociationResult bounded = mine_associations(baskets, o);
    EXPECT_GT(bounded.recounts, 0);
    EXPECT_GT(bounded.item_threshold, o.min_support_count);
    EXPECT_LE(bounded.pairs_counted, o.max_pairs);
    EXPECT_LT(bounded.frequent_items, full.frequent_items);
    ASSERT_FALSE(bounded.rules.empty());
    // Every kept rule is exactly the unbounded one, and every unbounded rule
    // between items above the raised threshold is kept.
    std::map<std::pair<std::int64_t, std::int64_t>, Rule> all;
    for (const auto& r : full.rules) all[{r.antecedent, r.consequent}] = r;
    for (const auto& r : bounded.rules) {
        const auto it = all.find({r.antecedent, r.consequent});
        ASSERT_NE(it, all.end());
        EXPECT_EQ(it->second.pair_count, r.pair_count);
        EXPECT_DOUBLE_EQ(it->second.lift, r.lift);
        EXPECT_DOUBLE_EQ(it->second.confidence, r.confidence);
    }
    std::map<std::int64_t, std::uint32_t> n;
    for (const auto& b : baskets) {
        std::vector<std::int64_t> u(b);
        std::sort(u.begin(), u.end());
        u.erase(std::unique(u.begin(), u.end()), u.end());
        for (auto id : u) ++n[id];
    }
    std::size_t expected = 0;
    for (const auto& r : full.rules)
        expected += n[r.antecedent] >= bounded.item_threshold && n[r.consequent] >= bounded.item_threshold;
    EXPECT_EQ(bounded.rules.size(), expected);
    // The planted pairs (2k+1 -> 2k+2 half of the time) top the lift ranking.
    const Rule& top = bounded.rules.front();
    EXPECT_EQ(std::abs(top.antecedent - top.consequent), 1);
}

TEST(OrdersAssociations, RecommendsUnownedByLiftTimesConfidence) {
    RuleOptions o;
    o.min_confidence = 0.0;
    o.min_lift = 0.0;
    const auto rules = association_rules(kBaskets, o);
    const std::vector<std::int64_t> owns1{1};
    const auto rec = recommend(owns1, rules, 5);
    ASSERT_EQ(rec.size(), 2u);
    EXPECT_EQ(rec[0].product_id, 2);
    EXPECT_DOUBLE_EQ(rec[0].score, 1.125 * 0.75);
    EXPECT_EQ(rec[0].because.antecedent, 1);
    EXPECT_EQ(rec[1].product_id, 3);
    EXPECT_DOUBLE_EQ(rec[1].score, 0.5);
    // Owning 1 and 2: only 3 is left; 1 -> 3 and 2 -> 3 tie, the lower id explains.
    const std::vector<std::int64_t> owns12{2, 1};
    const auto rec2 = recommend(owns12, rules, 5);
    ASSERT_EQ(rec2.size(), 1u);
    EXPECT_EQ(rec2[0].product_id, 3);
    EXPECT_EQ(rec2[0].because.antecedent, 1);
    EXPECT_EQ(recommend(owns1, rules, 1).size(), 1u);
    EXPECT_TRUE(recommend(std::vector<std::int64_t>{9}, rules, 5).empty());
}

TEST(OrdersBasket, RecencyWeightedBetaBinomial) {
    // Orders on days 1, 5, 9; with half-life 1 order the weights are 1/4, 1/2, 1.
    const std::vector<OrderLine> h{{9, 10, 1.0, 5.0}, {1, 10, 2.0, 4.0}, {1, 11, 1.0, 7.0},
                                   {5, 10, 4.0, 4.5}, {9, 12, 10.0, 2.0}, {9, 10, 2.0, 5.5}};
    BasketOptions o;
    o.half_life_orders = 1.0;
    o.prior_a = 0.5;
    o.prior_b = 1.5;
    const auto items = predict_basket(h, o);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0].product_id, 10);
    EXPECT_DOUBLE_EQ(items[0].probability, (1.75 + 0.5) / (1.75 + 2.0));
    EXPECT_DOUBLE_EQ(items[0].quantity, 3.0);    // median of {2, 4, 1 + 2}
    EXPECT_DOUBLE_EQ(items[0].unit_price, 5.5);  // latest line of the latest day
    EXPECT_EQ(items[1].product_id, 12);
    EXPECT_DOUBLE_EQ(items[1].probability, 1.5 / 3.75);
    EXPECT_EQ(items[2].product_id, 11);
    EXPECT_DOUBLE_EQ(items[2].probability, 0.75 / 3.75);
    EXPECT_NEAR(expected_amount(items), 0.6 * 3 * 5.5 + 0.4 * 10 * 2 + 0.2 * 1 * 7, 1e-12);
    o.top_n = 2;
    EXPECT_EQ(predict_basket(h, o).size(), 2u);
    // Without recency, 11 and 12 tie at one order each: the baseline breaks it by quantity.
    const auto base = frequent_items_baseline(h, 0);
    ASSERT_EQ(base.size(), 3u);
    EXPECT_EQ(base[0].product_id, 10);
    EXPECT_DOUBLE_EQ(base[0].probability, 1.0);
    EXPECT_EQ(base[1].product_id, 12);
    EXPECT_TRUE(predict_basket(std::vector<OrderLine>{}, o).empty());
    o.half_life_orders = 0.0;
    EXPECT_THROW(predict_basket(h, o), std::invalid_argument);
    const std::vector<OrderLine> bad{{1, 1, std::nan(""), 1.0}};
    EXPECT_THROW(predict_basket(bad, {}), std::invalid_argument);
}

TEST(OrdersMetrics, BrierReliabilityPrecisionRecall) {
    const std::vector<double> p{0.05, 0.15, 0.95, 0.95, 1.0}, y{0, 1, 1, 0, 1};
    EXPECT_DOUBLE_EQ(brier_score(p, y), (0.0025 + 0.7225 + 0.0025 + 0.9025 + 0.0) / 5);
    const auto t = reliability_table(p, y);
    ASSERT_EQ(t.size(), 10u);
    EXPECT_EQ(t[0].count, 1u);
    EXPECT_EQ(t[1].count, 1u);
    EXPECT_DOUBLE_EQ(t[1].observed_frequency, 1.0);
    EXPECT_EQ(t[9].count, 3u);  // 1.0 falls in the last bin
    EXPECT_NEAR(t[9].mean_predicted, 2.9 / 3, 1e-12);
    EXPECT_NEAR(t[9].observed_frequency, 2.0 / 3, 1e-12);
    EXPECT_EQ(t[5].count, 0u);
    EXPECT_NEAR(hit_rate(p, y, 0.5), 2.0 / 3, 1e-12);
    EXPECT_THROW(brier_score(std::vector<double>{1.2}, std::vector<double>{1}), std::invalid_argument);
    EXPECT_THROW(brier_score(std::vector<double>{0.2}, std::vector<double>{0.5}), std::invalid_argument);
    EXPECT_THROW(brier_score(std::vector<double>{}, std::vector<double>{}), std::domain_error);

    const std::vector<std::int64_t> pred{1, 2, 3, 4, 5, 6}, actual{2, 6, 9};
    EXPECT_DOUBLE_EQ(precision_at_k(pred, actual, 5), 1.0 / 5);
    EXPECT_DOUBLE_EQ(recall_at_k(pred, actual, 5), 1.0 / 3);
    EXPECT_DOUBLE_EQ(precision_at_k(pred, actual, 6), 2.0 / 6);
    const auto m = mean_precision_recall_at_k({pred, {9}}, {actual, {}}, 5);
    EXPECT_DOUBLE_EQ(m.precision, (0.2 + 0.0) / 2);
    EXPECT_DOUBLE_EQ(m.recall, 1.0 / 3);  // the empty actual list has no recall
    EXPECT_DOUBLE_EQ(mean_absolute_error(std::vector<double>{1, 5}, std::vector<double>{2, 2}), 2.0);
}

TEST(OrdersMetrics, RecalibrationRecoversKnownDistortion) {
    // Truth: logit q = -0.7 + 1.2 logit p. Fitting on outcomes drawn from q
    // must recover (a, b) and make the reliability table honest.
    SplitMix64 rng(5);
    std::vector<double> p, y;
    for (int i = 0; i < 20000; ++i) {
        const double pi = 0.02 + 0.96 * rng.uniform();
        const double q = 1.0 / (1.0 + std::exp(-(-0.7 + 1.2 * std::log(pi / (1 - pi)))));
        p.push_back(pi);
        y.push_back(rng.uniform() < q ? 1.0 : 0.0);
    }
    const Recalibration r = fit_recalibration(p, y);
    EXPECT_NEAR(r.a, -0.7, 0.08);
    EXPECT_NEAR(r.b, 1.2, 0.08);
    std::vector<double> fixed;
    for (double v : p) fixed.push_back(recalibrate(r, v));
    for (const auto& b : reliability_table(fixed, y)) {
        if (b.count >= 500) {
            EXPECT_NEAR(b.observed_frequency, b.mean_predicted, 0.03);
        }
    }
    EXPECT_LT(brier_score(fixed, y), brier_score(p, y));
    EXPECT_DOUBLE_EQ(recalibrate(Recalibration{}, 0.3), 0.3);
    EXPECT_THROW(recalibrate(r, 1.5), std::invalid_argument);
}

}  // namespace

// The no-storm rule (alerts.hpp): one alert per entity per day, per-direction
// cool-down with escalation, history from earlier runs.
#include "core/anomaly/anomaly.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <vector>

namespace an = salesflow::anomaly;

namespace {

std::vector<std::int64_t> days_of(const std::vector<an::Alert>& v) {
    std::vector<std::int64_t> d;
    for (const auto& a : v) d.push_back(a.day);
    return d;
}

}  // namespace

TEST(AnomalyAlerts, OnePerEntityPerDayKeepsTheStrongest) {
    const std::vector<an::Alert> c = {{1, 10, 4.5}, {1, 10, -6.0}, {1, 10, 5.0}, {2, 10, 4.1}};
    const auto kept = an::suppress_storms(c, {});
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].entity, 1);
    EXPECT_EQ(kept[0].score, -6.0);
    EXPECT_EQ(kept[1].entity, 2);
    // Equal |score|: the first in input order.
    const auto tie = an::suppress_storms(std::vector<an::Alert>{{1, 3, -5.0}, {1, 3, 5.0}}, {});
    ASSERT_EQ(tie.size(), 1u);
    EXPECT_EQ(tie[0].score, -5.0);
}

TEST(AnomalyAlerts, SustainedIncidentAlertsOnce) {
    // A week-long promotion: a spike every day of similar size -> one alert.
    std::vector<an::Alert> c;
    for (std::int64_t d = 100; d < 107; ++d) c.push_back({7, d, 5.0 + 0.1 * (d - 100)});
    const auto kept = an::suppress_storms(c, {});
    EXPECT_EQ(days_of(kept), (std::vector<std::int64_t>{100}));
}

TEST(AnomalyAlerts, CooldownEndsAndEscalationBreaksThrough) {
    an::StormOptions o;  // 7 days, 1.5x
    const std::vector<an::Alert> c = {
        {1, 0, 4.0},    // kept
        {1, 3, 5.9},    // < 1.5 * 4: suppressed
        {1, 5, 6.0},    // = 1.5 * 4: clearly higher, kept (new reference 6)
        {1, 9, 8.0},    // within 7 days of day 5, < 9: suppressed
        {1, 12, 8.0},   // day 12 - 5 = 7 <= 7: still cooling down, suppressed
        {1, 13, 4.0},   // 8 days after day 5: cool-down over, kept
    };
    EXPECT_EQ(days_of(an::suppress_storms(c, {}, o)), (std::vector<std::int64_t>{0, 5, 13}));
    // Cool-down 0: only the one-per-day rule.
    o.cooldown_days = 0;
    EXPECT_EQ(an::suppress_storms(c, {}, o).size(), 6u);
    // Infinite escalation: nothing breaks through a cool-down.
    o.cooldown_days = 7;
    o.escalation = std::numeric_limits<double>::infinity();
    EXPECT_EQ(days_of(an::suppress_storms(c, {}, o)), (std::vector<std::int64_t>{0, 9}));
}

TEST(AnomalyAlerts, DirectionsCoolDownSeparately) {
    // A drop right after a spike (e.g. a stock-out after a rush) is news.
    const std::vector<an::Alert> c = {{1, 0, 6.0}, {1, 1, -5.0}, {1, 2, 6.5}, {1, 3, -5.5}};
    EXPECT_EQ(days_of(an::suppress_storms(c, {})), (std::vector<std::int64_t>{0, 1}));
}

TEST(AnomalyAlerts, HistoryFromEarlierRunsCounts) {
    // Yesterday's run alerted day 20 (spike 5) and day 21 (drop); today's run
    // re-scores days 20..23.
    const std::vector<an::Alert> history = {{1, 20, 5.0}, {1, 21, -4.5}};
    const std::vector<an::Alert> c = {
        {1, 20, 5.2},   // already alerted that day
        {1, 21, 9.0},   // already alerted that day (even in the other direction)
        {1, 22, 6.0},   // spike 2 days after the 5.0 spike, < 7.5: suppressed
        {1, 23, -7.0},  // drop 2 days after the -4.5 drop, >= 6.75: escalation, kept
        {2, 22, 4.0},   // another entity: unaffected
    };
    const auto kept = an::suppress_storms(c, history);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].entity, 1);
    EXPECT_EQ(kept[0].day, 23);
    EXPECT_EQ(kept[1].entity, 2);
    // History after the candidate's day does not cool it down (re-scoring the past).
    EXPECT_EQ(an::suppress_storms(std::vector<an::Alert>{{1, 10, 4.0}}, history).size(), 1u);
}

TEST(AnomalyAlerts, DetectorPlusRuleOnAStorm) {
    // A shop whose revenue doubles for 10 days: the detector flags most of
    // those days, the rule turns them into one alert.
    std::vector<double> x(200);
    for (std::size_t t = 0; t < x.size(); ++t) x[t] = 1000.0 + 50.0 * ((t * 7919) % 11) / 10.0;
    for (std::size_t t = 150; t < 160; ++t) x[t] *= 2.0;
    const auto found = an::detect_mad(x);
    ASSERT_GE(found.size(), 5u);
    std::vector<an::Alert> c;
    for (const auto& a : found) c.push_back({42, static_cast<std::int64_t>(a.index), a.score});
    const auto kept = an::suppress_storms(c, {});
    EXPECT_LE(kept.size(), 2u);
    EXPECT_EQ(kept.front().day, 150);
}

TEST(AnomalyAlerts, RejectsInvalidInput) {
    const std::vector<an::Alert> bad = {{1, 1, std::numeric_limits<double>::quiet_NaN()}};
    EXPECT_THROW(an::suppress_storms(bad, {}), std::invalid_argument);
    an::StormOptions o;
    o.cooldown_days = -1;
    EXPECT_THROW(an::suppress_storms({}, {}, o), std::invalid_argument);
    o = {};
    o.escalation = 0.5;
    EXPECT_THROW(an::suppress_storms({}, {}, o), std::invalid_argument);
    EXPECT_TRUE(an::suppress_storms({}, {}).empty());
}

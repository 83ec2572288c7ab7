// RFM scoring and the labels built on it: quintile scores for recency,
// frequency and monetary value within one population (Hughes, "Strategic
// Database Marketing", the classic 5×5×5 RFM cells), the usual named
// segments on the R × FM grid, Pareto value tiers by share of revenue, and a
// churn-risk label from BG/NBD P(alive).
//
// Scores are mid-rank percentiles cut into fifths:
//   score(v) = 1 + floor(5 · (below(v) + equal(v)/2) / n)
// where below(v) counts the values worse than v and equal(v) those equal to v
// (v included). The percentile lies strictly inside (0, 1), so scores are 1..5;
// equal values always share a score whatever the input order; n distinct
// values that are a multiple of 5 fill the quintiles exactly (n = 10 gives
// 1,1,2,2,3,3,4,4,5,5). Tiny populations stay away from the extremes: one
// customer scores 3, two distinct customers 2 and 4, four 1,2,4,5; all-equal
// values score 3 — nobody stands out in a population where nobody differs.
// Recency is the time since the last purchase (any unit): less is better and
// scores higher. Frequency and monetary: more is better. Monetary may be
// negative (net of returns); only its order matters here.
//
// Errors: std::invalid_argument for spans of different length, NaN/Inf,
// negative recency or frequency, scores outside 1..5, bad thresholds.
// Empty inputs give empty outputs.
#pragma once

#include "core/common/span.hpp"

#include <array>
#include <vector>

namespace salesflow::segments {

struct RfmScore {
    int recency, frequency, monetary;  // 1..5 each, 5 best
};

// Scores of `values`, higher value → higher score (rule above).
std::vector<int> quintile_scores(span<double> values);

// R, F, M scores per customer; recency = time since the last purchase.
std::vector<RfmScore> rfm_scores(span<double> recency, span<double> frequency, span<double> monetary);

enum class RfmSegment {
    champions,
    loyal_customers,
    potential_loyalists,
    new_customers,
    promising,
    need_attention,
    about_to_sleep,
    at_risk,
    cant_lose_them,
    hibernating,
    lost,
};
inline constexpr int kRfmSegmentCount = 11;

// "Champions", "Loyal Customers", ..., "Lost" (the names stored in the database).
const char* rfm_segment_name(RfmSegment segment);

// FM score = (F + M + 1) / 2 in integer arithmetic: the mean of F and M,
// halves rounded up, 1..5.
int rfm_fm_score(int frequency, int monetary);

// The segment of an (R, F, M) cell: a lookup in a 5×5 table indexed by R and
// the FM score, so every one of the 125 cells has exactly one segment:
//
//   R \ FM   1               2                    3                4                5
//   5        New Customers   Potential Loyalists  Loyal Customers  Champions        Champions
//   4        Promising       Potential Loyalists  Loyal Customers  Champions        Champions
//   3        About to Sleep  About to Sleep       Need Attention   Loyal Customers  Loyal Customers
//   2        Hibernating     Hibernating          At Risk          At Risk          Can't Lose Them
//   1        Lost            Lost                 At Risk          At Risk          Can't Lose Them
RfmSegment rfm_segment(int recency, int frequency, int monetary);
RfmSegment rfm_segment(const RfmScore& score);

// Value tiers by Pareto share of revenue. Customers are taken in descending
// monetary order; a customer is `high` while the revenue share of everyone
// before them is < high_share, `medium` while it is < medium_share, `low`
// after. Equal values share the tier of the first of them (order-independent).
// Customers with monetary <= 0 are always `low` and negative values count as 0
// in the total; if the total is 0 everyone is `low`.
// Needs 0 < high_share <= medium_share <= 1.
enum class ValueTier { high, medium, low };
const char* value_tier_name(ValueTier tier);  // "high", "medium", "low"
std::vector<ValueTier> value_tiers(span<double> monetary, double high_share = 0.5, double medium_share = 0.8);

// Churn risk from P(alive): `high` when p_alive < high_below, `low` when
// p_alive >= low_from, `medium` between. Needs 0 <= high_below <= low_from <= 1
// and p_alive in [0, 1].
enum class ChurnRisk { low, medium, high };
const char* churn_risk_name(ChurnRisk risk);  // "low", "medium", "high"
ChurnRisk churn_risk(double p_alive, double high_below = 0.3, double low_from = 0.7);

}  // namespace salesflow::segments

// Backtest metrics for predicted orders: Brier (1950) score and the
// reliability diagram's table (Murphy & Winkler 1977; DeGroot & Fienberg 1983)
// for the order probabilities, precision@k / recall@k for the predicted items
// (Manning, Raghavan & Schütze, "Introduction to Information Retrieval",
// §8.4), and mean absolute error for the predicted amounts.
//
// Outcomes are 0/1 doubles. Throws std::invalid_argument on spans of
// different length, probabilities outside [0, 1] or NaN, outcomes other than
// 0 or 1, k < 1, bins < 1; std::domain_error on empty input where a mean is
// asked for.
#pragma once

#include "core/common/span.hpp"

#include <cstdint>
#include <vector>

namespace salesflow::orders {

// mean (p_i - y_i)^2; 0 is perfect, 0.25 is "always 50%".
double brier_score(span<double> predicted, span<double> outcome);

struct ReliabilityBin {
    double lo, hi;            // bin [lo, hi); the last bin includes 1
    std::size_t count;        // predictions in the bin
    double mean_predicted;    // 0 when count == 0
    double observed_frequency;  // share of outcomes 1; 0 when count == 0
};
// Equal-width bins over [0, 1] (10 = confidence deciles).
std::vector<ReliabilityBin> reliability_table(span<double> predicted, span<double> outcome, int bins = 10);

// Share of outcomes 1 among predictions with p >= threshold (0 when none).
double hit_rate(span<double> predicted, span<double> outcome, double threshold = 0.5);

// |top-k of predicted ∩ actual| / k, and / |actual| (0 when actual is empty).
// Only the first k predicted ids count; ids within a list are assumed distinct.
double precision_at_k(span<std::int64_t> predicted, span<std::int64_t> actual, int k);
double recall_at_k(span<std::int64_t> predicted, span<std::int64_t> actual, int k);

struct PrecisionRecall {
    double precision, recall;
    std::size_t lists;  // pairs averaged (recall over lists with a non-empty actual)
};
// Means over customers.
PrecisionRecall mean_precision_recall_at_k(const std::vector<std::vector<std::int64_t>>& predicted,
                                           const std::vector<std::vector<std::int64_t>>& actual, int k);

double mean_absolute_error(span<double> predicted, span<double> actual);

}  // namespace salesflow::orders

namespace salesflow::orders {

// Logistic recalibration (Platt 1999; Cox 1958 "calibration in the large and
// slope"): logit p' = a + b logit p, fitted by maximum likelihood (Newton) on
// an earlier backtest of the same tenant, with a weak ridge pulling (a, b)
// toward the identity (0, 1) so a small or one-sided backtest cannot produce
// extreme values. Used when the renewal model's probabilities are off for a
// tenant (e.g. churn that P(alive) does not see); identity = no change.
struct Recalibration {
    double a = 0.0, b = 1.0;
};
Recalibration fit_recalibration(span<double> predicted, span<double> outcome, double ridge = 1.0);
double recalibrate(const Recalibration& r, double p);

}  // namespace salesflow::orders

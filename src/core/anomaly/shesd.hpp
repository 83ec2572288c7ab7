// Seasonal Hybrid ESD (S-H-ESD): Hochenbaum, Vallis & Kejariwal, "Automatic
// Anomaly Detection in the Cloud Via Statistical Learning" (arXiv:1704.07706,
// 2017), as implemented in Twitter's AnomalyDetection R package
// (AnomalyDetectionTs / detect_anoms).
//
//  1. Seasonal component S of the series (the package: R's
//     stl(s.window = "periodic", robust = TRUE)).
//  2. Residual r = x - S - median(x): the median stands in for the trend
//     ("hybrid"); in long-term mode it is the median of each piecewise window.
//  3. Generalized ESD (Rosner 1983, Technometrics 25(2)) with median for mean
//     and MAD (1.4826-scaled, R's mad()) for sd: for i = 1..k, k = floor(n
//     max_anoms), remove the observation with the largest
//     R_i = |r - med| / MAD among those left and compare R_i with
//         lambda_i = t_{p, n-i-1} (n - i) / sqrt((n - i - 1 + t^2)(n - i + 1)),
//         p = 1 - alpha / (2 (n - i + 1))   (one tail: alpha / (n - i + 1)),
//     t from Student's t (Boost.Math). The anomalies are the first m removed,
//     m the largest i with R_i > lambda_i. One direction: the signed deviation
//     instead of its absolute value.
//
// Difference from the package: step 1 uses seasonal_medians (median of each
// phase of the series detrended by a centred rolling median of about 1.5
// periods, two passes) instead of STL's iterated, robustness-weighted loess
// means. Both give one fixed pattern per period; on the package's raw_data the
// two agree on the anomaly set to within a few points (see
// docs/anomalies.md and test_anomaly_twitter.cpp for the measured agreement).
#pragma once

#include "core/anomaly/types.hpp"
#include "core/common/span.hpp"

#include <cstddef>
#include <vector>

namespace salesflow::anomaly {

struct EsdOptions {
    // Observations per seasonal cycle (the package: 1440 for minutely data,
    // 24 hourly, 7 daily). Windows with fewer than 2 cycles are tested
    // without a seasonal component (the package refuses them).
    std::size_t period = 7;
    // Upper bound on the share of anomalies, 0 < max_anoms <= 0.49. 0.02, as
    // the SQL function's default and the package's README example (the
    // package's own default is 0.10): at most 7 days of a daily year.
    double max_anoms = 0.02;
    // Significance level of each ESD step, 0 < alpha < 1.
    double alpha = 0.05;
    Direction direction = Direction::both;
    // Long-term mode: > 0 runs the test on consecutive windows of this many
    // observations (the last, short one replaced by the last full window,
    // duplicates merged), each with its own median, so a trend over months
    // is not mistaken for anomalies. See longterm_window. 0 = one window.
    std::size_t longterm_window = 0;
    // > 0: report only anomalies among the last `only_last` observations (the
    // package's only_last = "day" on minutely data is 1440; the test itself
    // still runs on the whole series, as in the package).
    std::size_t only_last = 0;
};

// The package's piecewise window: piecewise_median_period_weeks weeks of
// observations; for daily data (period 7) it adds one day, as the package
// does ("STL needs 2 * period + 1 observations"): 7 * weeks + 1.
// For other granularities: period * 7 * weeks (period = observations per day).
std::size_t longterm_window(std::size_t period, std::size_t weeks = 2);

// Anomalies in index order. expected = median (of the window) + seasonal.
// Throws std::invalid_argument on non-finite values or options out of range.
std::vector<Anomaly> seasonal_hybrid_esd(span<double> x, const EsdOptions& options);

}  // namespace salesflow::anomaly

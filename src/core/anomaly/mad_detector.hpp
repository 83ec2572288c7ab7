// Robust z-score anomaly detector for daily sales series: decompose robustly
// (decompose.hpp), then score each residual with the modified z-score of
// Iglewicz & Hoaglin ("How to Detect and Handle Outliers", ASQC 1993):
//
//     z_t = 0.6745 (r_t - med(r)) / MAD(r),   flag |z_t| > threshold (3.5),
//
// written here as z_t = (r_t - med(r)) / sigma with sigma = 1.4826 MAD (the
// same number). The residual median and MAD are taken over the whole history,
// so scoring only the newest days (incremental runs) uses every day to decide
// what is normal.
//
// MAD = 0 happens on real sales: a zero-heavy product (more than half the days
// without a sale) or a constant series. Dividing by it would flag every sale,
// so sigma has a floor (see MadOptions::min_scale_fraction and
// intermittent_floor) and, if sigma is still 0 (an all-zero series), every
// score is 0. No score is ever NaN or infinite.
#pragma once

#include "core/anomaly/decompose.hpp"
#include "core/anomaly/types.hpp"
#include "core/common/span.hpp"

#include <cstddef>
#include <vector>

namespace salesflow::anomaly {

struct MadOptions {
    DecompositionOptions decomposition;
    // Sensitivity: |z| must exceed this. Iglewicz & Hoaglin recommend 3.5 for
    // one batch; a nightly job tests 365 days per entity-year, and on the
    // generated sales of test_anomaly_sales.cpp 3.5 gives ~1.2 false alarms
    // per entity-year in incremental use, 4.0 about 0.45 (recall of +/-5 sd
    // incidents 0.99 vs 0.97). Lower = more sensitive.
    double threshold = 4.0;
    Direction direction = Direction::both;
    // |value - expected| must also reach this (units of the series: e.g. do
    // not alert on a 2-unit change however unusual). 0 = no minimum.
    double min_abs_change = 0.0;
    // Absolute floor on sigma (units of the series). 0 = none.
    double min_scale = 0.0;
    // Relative floor on sigma: this fraction of the mean |value| of the
    // series. Makes a constant series with one change scoreable (finite z)
    // without muting a busy series (5% of the level is far below the day-to-day
    // noise of real sales).
    double min_scale_fraction = 0.05;
    // Double MAD (separate scales above and below the median residual): sales
    // are right-skewed (a negative binomial's upper tail is longer than its
    // lower one), so one symmetric MAD over-alerts on spikes and under-alerts
    // on drops. false = one MAD for both sides (the textbook score).
    bool double_mad = true;
    // Heteroscedasticity: sales noise grows with the level (Poisson: sd ~
    // level^0.5; gamma-mixed / revenue: sd ~ level). With power_scale the
    // residuals are divided by (expected / median expected)^gamma before the
    // MAD, gamma in [0, 1] fitted per series (see fit_scale_power), so a busy
    // Saturday of a growing shop is judged against Saturday-sized noise: the
    // power variance function Var = phi mu^(2 gamma) of Tweedie models
    // (Jorgensen 1987, JRSS B 49(2)). false = one scale for every day.
    bool power_scale = true;
    // Series with fewer observations than this report no anomaly: eight weeks
    // (eight of each weekday) before the medians and MADs are stable enough
    // to alert on; with four weeks the false-alarm rate of the first month
    // was several times the steady one. Scores are still computed.
    std::size_t min_history = 56;
};

struct MadScores {
    Decomposition components;
    std::vector<double> expected;  // trend + seasonal
    std::vector<double> score;     // signed robust z, 0 where sigma is 0
    double center = 0.0;           // median residual
    double gamma = 0.0;            // fitted scale power (0 without power_scale)
    double reference_level = 0.0;  // median expected value: where the sigmas below apply
    std::vector<double> scale;     // per-point scale factor (expected / reference)^gamma
    double sigma_up = 0.0;         // scale of residuals above center: max(1.4826 MAD_up, floors)
    double sigma_down = 0.0;       // below center (both = the symmetric scale without double_mad)
    // z_t = (residual_t - center) / (scale_t * sigma_up or sigma_down).
};

// The MAD detector's options for scoring under a false-alarm budget
// (flag_by_budget in local_detector.hpp): additive decomposition and one
// scale for every day. On real retail series (bench/anomaly_accuracy.sh) the
// automatic additive / multiplicative choice and the fitted scale power flip
// when a few anomalies are added (the scores of other days moved by up to
// 4.9), and without them product recall and precision were higher.
MadOptions stable_mad_options(std::size_t period);

// The power gamma of sd ~ expected^gamma: observations are split into 5
// groups by expected value, the robust sd (1.4826 MAD) of the residuals is
// taken in each, and gamma is the least-squares slope of log sd on log of the
// group's median expected value, clipped to [0, 1]. 0 (constant scale) when
// fewer than 50 observations, a non-positive expected value, a group MAD of 0
// or less than a 1.5-fold range of expected levels.
double fit_scale_power(span<double> expected, span<double> residual);

// The intermittent-demand floor: share of zero days times the mean |value| of
// the non-zero days. 0 for a series without zeros; for a product that sells a
// typical quantity q on 5% of days it is 0.95 q, so a typical sale scores
// about 1 and only a sale several times the usual size can alert.
double intermittent_floor(span<double> x);

// Decomposition, expected values and robust z-scores of every observation.
// sigma = max(1.4826 MAD(standardised residual), min_scale,
// min_scale_fraction * mean|x|, intermittent_floor(x)), per side with
// double_mad. Throws std::invalid_argument on non-finite values
// or invalid options (threshold or floors negative / non-finite).
MadScores mad_scores(span<double> x, const MadOptions& options = {});

// Anomalies among the observations with index in [from, n), in index order:
// |z| > threshold in the requested direction and |value - expected| >=
// min_abs_change. The decomposition and the scale use the whole series.
// from >= n gives none; so does n < min_history.
std::vector<Anomaly> detect_mad(span<double> x, const MadOptions& options = {}, std::size_t from = 0);

}  // namespace salesflow::anomaly

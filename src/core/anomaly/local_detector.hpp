// The false-alarm budget rule (flag_by_budget: what the batch runs, on the
// stable MAD score of mad_detector.hpp) and the local detector (local_scores:
// each day judged against its own neighbourhood with the day left out;
// measured on real data and kept as method 'local', not the default:
// docs/anomalies.md has the figures).
//
// Issue #18, on real retail data: one global threshold over-alarmed on noisy
// products and a drop to zero on an ordinary Tuesday could score under it.
// The budget rule gives each series the threshold its own ordinary days
// exceed at the budgeted rate, and reports a collapse on a busy day always.
//
// The local detector:
//  * Scale. Busy series on the square root (Anscombe: Poisson noise has sd
//    1/2 at any level; a drop to 10% and a 3x spike are steps of similar
//    size), zero-heavy series raw, over their selling days.
//  * Expected value: level_t + weekday_t, where level_t is the median of g
//    over the days (zero-heavy: selling days) within +-level_cycles cycles and
//    weekday_t the median of (g - level) over the same phase within
//    +-pattern_cycles cycles (two passes, as STL's inner loop; Cleveland et
//    al. 1990 with medians for loess). Windows keep their width and shift
//    inside the series at the ends, so the newest day gets a trailing window.
//  * Leave-one-out: day t is never in its own level, weekday or scale window
//    (the "deleted" residual of regression diagnostics; Belsley, Kuh & Welsch
//    1980), so an anomaly cannot hide itself by inflating its own scale.
//  * Zero-heavy products: level, weekday effect and scale are taken over the
//    selling days only, so a sale is compared with the product's usual sale,
//    and a zero day scores 0 unless the day is normally busy (below). The
//    windows are local, so a product that turns intermittent is judged by its
//    recent behaviour within a few weeks.
//  * Scale per day: double MAD (Rosenmai) of the residuals of the selling days
//    within +-scale_cycles cycles, never below Poisson noise nor
//    min_sigma_fraction of the typical g.
//  * A collapse on a normally busy day (the same weekday sold at least
//    busy_min in each of the previous busy_cycles weeks, and the day fell to
//    collapse_fraction of their median or less; a zero included) is always an
//    anomaly: a broken checkout or a lost feed.
//  * False-alarm budget per series instead of one global threshold: for each
//    side the threshold is extrapolated from the body of that side's own
//    |scores| (median and 80% quantile, which 20 anomalies in a year barely
//    move) with an exponential tail, to the rate alarms_per_quarter / 91.31
//    days, then clamped to [min_threshold, max_threshold].
#pragma once

#include "core/anomaly/types.hpp"
#include "core/common/span.hpp"

#include <cstddef>
#include <vector>

namespace salesflow::anomaly {

struct LocalOptions {
    std::size_t period = 7;           // observations per cycle (7: daily with a weekday pattern); 1 = none
    std::size_t level_cycles = 4;     // level window: +-4 weeks (57 days)
    std::size_t pattern_cycles = 8;   // weekday window: +-8 weeks (17 same weekdays)
    std::size_t scale_cycles = 13;    // scale window: +-13 weeks (a quarter each side)
    double power = 0.5;               // busy series are scored on x^power (0.5: square root)
    double intermittent_share = 0.3;  // more zero days than this: zero-heavy, scored on x over selling days
    double min_sigma = 0.0;           // floor of the scale, units of g
    double min_sigma_fraction = 0.05; // and this fraction of the typical g of a selling day
    double alarms_per_quarter = 1.0;  // false-alarm budget per series, both sides together
    double min_threshold = 4.0;       // the budget's threshold is clamped to these (SQL: min_score)
    double max_threshold = 6.0;
    Direction direction = Direction::both;
    double min_abs_change = 0.0;      // |value - expected| must reach this (series units)
    std::size_t min_history = 56;
    std::size_t busy_cycles = 8;      // a zero is always an anomaly when the same weekday of the
    double busy_min = 3.0;            //   previous 8 weeks sold at least 3 (series units) each
    double collapse_fraction = 0.1;   // and the day fell to 10% of their median or less
};

struct LocalScores {
    std::vector<double> expected;     // usual value of the day (a selling day's, for zero-heavy series)
    std::vector<double> score;        // signed robust z (> 0 spike); 0 for an ordinary zero day
    std::vector<bool> busy_zero;      // a zero on a normally busy day: always an anomaly
    bool intermittent = false;        // scored as a zero-heavy series
};

// Scores of the days in [from, n) (others score 0; expected is filled for
// every day). Throws std::invalid_argument on non-finite values or invalid
// options.
LocalScores local_scores(span<double> x, const LocalOptions& options = {}, std::size_t from = 0);

// Anomalies among days [from, n): |score| above the side's budget threshold,
// or a zero on a busy day; in the requested direction and with
// |value - expected| >= min_abs_change. None when n < min_history.
std::vector<Anomaly> detect_local(span<double> x, const LocalOptions& options = {}, std::size_t from = 0);

// The budget rule on any detector's scores (this one's or mad_scores'): each
// side's threshold from budget_threshold over the selling days' scores, and
// a collapse (<= collapse_fraction of the usual level, zero included) on a
// normally busy day always reported.
std::vector<Anomaly> flag_by_budget(span<double> x, span<double> score, span<double> expected, const LocalOptions& options,
                                    std::size_t from = 0);

// The usual level of day t if it is normally busy, else 0: busy when the same
// phase of the previous `cycles` cycles (the following ones near the start)
// each sold >= min_value (at least 4 such days seen); the level is their median.
double busy_level(span<double> x, std::size_t t, std::size_t period, std::size_t cycles, double min_value);

// The per-side threshold of a false-alarm budget: from the median and 80%
// quantile of |z| on that side (an exponential tail through both), the score
// exceeded at `rate` per scored value of that side; clamped to [lo, hi].
// Fewer than 10 values give hi.
double budget_threshold(std::vector<double> abs_scores, double rate, double lo, double hi);

}  // namespace salesflow::anomaly

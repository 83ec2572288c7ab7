// The local leave-one-out detector with a false-alarm budget per series (see
// local_detector.hpp for the method and the reasons).
#include "core/anomaly/local_detector.hpp"

#include "core/anomaly/robust.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace salesflow::anomaly {
namespace {

// Days in a quarter (365.25 / 4): the budget is a rate per quarter.
constexpr double kDaysPerQuarter = 91.3125;
// Fewer selling days than this in a window: the window says too little, use
// the whole series' selling days instead.
constexpr std::size_t kMinLevelPoints = 7;
constexpr std::size_t kMinPatternPoints = 3;
constexpr std::size_t kMinScalePoints = 10;


// [first, last] of a window of `before` + `after` steps around t (in steps of
// `step` observations), shifted inside [0, n) so that it keeps its size.
struct Window {
    std::size_t first, last;
};
Window window_around(std::size_t t, std::size_t n, std::size_t step, std::size_t half) {
    const std::size_t can_before = t / step, can_after = (n - 1 - t) / step;
    const std::size_t total = std::min(2 * half, can_before + can_after);
    const std::size_t before = std::min(can_before, std::max(half, total - std::min(total, can_after)));
    const std::size_t after = total - before;
    return {t - before * step, t + after * step};
}

double median_of(std::vector<double>& v) { return median(v); }

// Median of v[s] - shift[s] over the selling days of [w.first, w.last] in
// steps of `step`, day t left out; `fallback` when too few.
double window_median(const std::vector<double>& v, const std::vector<double>& shift, const std::vector<bool>& selling,
                     Window w, std::size_t step, std::size_t t, std::size_t min_points, double fallback,
                     std::vector<double>& buf) {
    buf.clear();
    for (std::size_t s = w.first; s <= w.last; s += step)
        if (s != t && selling[s]) buf.push_back(v[s] - shift[s]);
    return buf.size() >= min_points ? median_of(buf) : fallback;
}

}  // namespace

double budget_threshold(std::vector<double> abs_scores, double rate, double lo, double hi) {
    if (abs_scores.size() < 10 || !(rate > 0.0)) return hi;
    const auto at = [&](double q) {
        const std::size_t k = std::min(abs_scores.size() - 1, static_cast<std::size_t>(q * (abs_scores.size() - 1)));
        std::nth_element(abs_scores.begin(), abs_scores.begin() + static_cast<std::ptrdiff_t>(k), abs_scores.end());
        return abs_scores[k];
    };
    const double q50 = at(0.5), q80 = at(0.8);
    if (rate >= 0.2) return std::clamp(q80, lo, hi);
    // P(|z| > q80 + u) = 0.2 exp(-u / beta), beta from the drop 0.5 -> 0.2.
    const double beta = std::max(0.0, q80 - q50) / std::log(2.5);
    const double z = q80 + beta * std::log(0.2 / rate);
    return std::isfinite(z) ? std::clamp(z, lo, hi) : hi;
}

LocalScores local_scores(span<double> x, const LocalOptions& o, std::size_t from) {
    require_finite(x, "series values");
    require_non_negative(o.intermittent_share, "intermittent_share");
    require_non_negative(o.min_sigma, "min_sigma");
    require_non_negative(o.min_sigma_fraction, "min_sigma_fraction");
    require_non_negative(o.alarms_per_quarter, "alarms_per_quarter");
    require_non_negative(o.min_threshold, "min_threshold");
    require_non_negative(o.max_threshold, "max_threshold");
    require_non_negative(o.min_abs_change, "min_abs_change");
    if (o.max_threshold < o.min_threshold) throw std::invalid_argument("max_threshold must be >= min_threshold");
    if (o.period < 1) throw std::invalid_argument("period must be >= 1");

    const std::size_t n = x.size();
    LocalScores s;
    s.expected.assign(n, 0.0);
    s.score.assign(n, 0.0);
    s.busy_zero.assign(n, false);
    std::vector<bool> selling(n);
    std::vector<double> positive;
    for (std::size_t t = 0; t < n; ++t) {
        selling[t] = x[t] > 0.0;
        if (selling[t]) positive.push_back(x[t]);
    }
    if (positive.empty()) return s;  // nothing ever sold: no evidence, every score 0

    // Busy series on the square-root scale (Anscombe: Poisson noise has sd
    // 1/2 there at any level, and a drop to 10% and a 3x spike are steps of
    // similar size), their zero days included; zero-heavy series on the raw
    // scale over their selling days only (a sale is compared with the usual
    // sale, and the raw scale keeps a bulk order far out).
    const double zero_share = 1.0 - static_cast<double>(positive.size()) / static_cast<double>(n);
    const bool intermittent = zero_share > o.intermittent_share;
    const double power = intermittent ? 1.0 : o.power;
    s.intermittent = intermittent;
    const auto transform = [&](double v) { return std::pow(std::max(v, 0.0), power); };
    const auto back = [&](double e) { return std::pow(std::max(e, 0.0), 1.0 / power); };
    std::vector<bool> use(n);
    std::vector<double> g(n), g_use;
    for (std::size_t t = 0; t < n; ++t) {
        g[t] = transform(x[t]);
        use[t] = selling[t] || !intermittent;
        if (use[t]) g_use.push_back(g[t]);
    }
    const double overall = median(g_use);
    // Never below Poisson noise (sd 1/2 on the square-root scale, sqrt(level)
    // on the raw scale: harmless for revenue in currency units), nor below a
    // small fraction of the level (a constant series stays scoreable).
    const double poisson = intermittent ? std::sqrt(median(positive)) : 0.5;
    const double floor = std::max({o.min_sigma, o.min_sigma_fraction * std::fabs(overall), poisson});

    // Level and weekday effect, two passes.
    const std::size_t P = o.period;
    const bool seasonal = P >= 2 && n >= 2 * P;
    std::vector<double> level(n, overall), pattern(n, 0.0), buf;
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t t = 0; t < n; ++t)
            level[t] = window_median(g, pattern, use, window_around(t, n, 1, o.level_cycles * std::max<std::size_t>(P, 1)),
                                     1, t, kMinLevelPoints, overall, buf);
        if (!seasonal) break;
        for (std::size_t t = 0; t < n; ++t)
            pattern[t] = window_median(g, level, use, window_around(t, n, P, o.pattern_cycles), P, t,
                                       kMinPatternPoints, 0.0, buf);
    }
    std::vector<double> residual(n);
    for (std::size_t t = 0; t < n; ++t) {
        const double e = level[t] + pattern[t];
        s.expected[t] = back(e);
        residual[t] = g[t] - e;
    }

    // A normally busy day: the same phase of the previous busy_cycles cycles
    // (the following ones near the start of the series) sold at least
    // busy_min each. On such a day a zero is clearly outside the recent range:
    // a product selling 4 a day (Poisson) passes the test and then sells
    // nothing by chance about 0.2 times a quarter; a store's Tuesday is busy
    // even when the store is closed on Saturdays.
    // Scale per block of one cycle, from the selling days' residuals within
    // +-scale_cycles cycles, the block itself left out (one MAD per cycle,
    // not per day: seven times cheaper, and still leave-out).
    const std::size_t block = std::max<std::size_t>(P, 7);
    std::vector<double> up, down;
    for (std::size_t b0 = 0; b0 < n; b0 += block) {
        const std::size_t b1 = std::min(n, b0 + block);
        const Window w = window_around(b0, n, block, o.scale_cycles);
        const std::size_t w_last = std::min(n - 1, w.last + block - 1);
        buf.clear();
        for (std::size_t u = w.first; u <= w_last; ++u)
            if ((u < b0 || u >= b1) && selling[u]) buf.push_back(residual[u]);
        if (buf.size() < kMinScalePoints)
            for (std::size_t u = 0; u < n; ++u)
                if (selling[u]) buf.push_back(residual[u]);
        const double center = median(buf);
        up.clear();
        down.clear();
        for (double r : buf) {
            if (r >= center) up.push_back(r);
            if (r <= center) down.push_back(r);
        }
        const double sigma_up = std::max(kMadToSd * mad(up, center), floor);
        const double sigma_down = std::max(kMadToSd * mad(down, center), floor);
        for (std::size_t t = b0; t < b1; ++t) {
            double z = 0.0;
            if (use[t]) {
                const double dev = residual[t] - center;
                z = dev / (dev >= 0.0 ? sigma_up : sigma_down);
            }
            if (!selling[t] && busy_level(x, t, P, o.busy_cycles, o.busy_min) > 0.0) {
                s.busy_zero[t] = true;
                z = std::min(z, (residual[t] - center) / sigma_down);
            }
            if (!std::isfinite(z)) z = 0.0;
            if (t >= from) s.score[t] = z;
        }
    }

    return s;
}

double busy_level(span<double> x, std::size_t t, std::size_t period, std::size_t cycles, double min_value) {
    const std::size_t n = x.size(), step = period >= 2 && n >= 2 * period ? period : 1;
    std::vector<double> seen;
    for (std::size_t k = 1; k <= cycles && k * step <= t; ++k) seen.push_back(x[t - k * step]);
    for (std::size_t k = 1; seen.size() < cycles && t + k * step < n; ++k) seen.push_back(x[t + k * step]);
    if (seen.size() < std::min<std::size_t>(cycles, 4)) return 0.0;
    if (*std::min_element(seen.begin(), seen.end()) < min_value) return 0.0;
    return median(seen);
}

std::vector<Anomaly> flag_by_budget(span<double> x, span<double> score, span<double> expected, const LocalOptions& o,
                                    std::size_t from) {
    const std::size_t n = x.size();
    if (score.size() != n || expected.size() != n) throw std::invalid_argument("x, score and expected must have the same length");
    std::vector<Anomaly> out;
    if (n < o.min_history) return out;
    // The budget, alarms_per_quarter over both sides, per scored value of a
    // side; the sides' distributions come from the selling days.
    std::vector<double> abs_up, abs_down;
    for (std::size_t t = 0; t < n; ++t)
        if (x[t] > 0.0) (score[t] >= 0.0 ? abs_up : abs_down).push_back(std::fabs(score[t]));
    const double per_day = o.alarms_per_quarter / kDaysPerQuarter / 2.0;
    const auto side_rate = [&](std::size_t side_n) {
        return side_n ? per_day * static_cast<double>(n) / static_cast<double>(side_n) : 0.0;
    };
    const double up = budget_threshold(abs_up, side_rate(abs_up.size()), o.min_threshold, o.max_threshold);
    const double down = budget_threshold(abs_down, side_rate(abs_down.size()), o.min_threshold, o.max_threshold);
    for (std::size_t t = from; t < n; ++t) {
        const double z = score[t];
        // a collapse on a normally busy day: always reported
        const double usual = z < 0.0 ? busy_level(x, t, o.period, o.busy_cycles, o.busy_min) : 0.0;
        const bool collapse = usual > 0.0 && x[t] <= o.collapse_fraction * usual;
        if (!(z > up || -z > down || collapse) || !reports(o.direction, z)) continue;
        if (std::fabs(x[t] - expected[t]) < o.min_abs_change) continue;
        out.push_back({t, x[t], expected[t], z});
    }
    return out;
}

std::vector<Anomaly> detect_local(span<double> x, const LocalOptions& o, std::size_t from) {
    const LocalScores s = local_scores(x, o, from);
    return flag_by_budget(x, s.score, s.expected, o, from);
}

}  // namespace salesflow::anomaly

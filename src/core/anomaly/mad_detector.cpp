// Modified z-score detector on robust-decomposition residuals (Iglewicz &
// Hoaglin 1993; see mad_detector.hpp for the floors on the scale).
#include "core/anomaly/mad_detector.hpp"

#include "core/anomaly/robust.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace salesflow::anomaly {
namespace {

double median_abs_deviation(const std::vector<double>& half, double center) { return mad(half, center); }

}  // namespace

MadOptions stable_mad_options(std::size_t period) {
    MadOptions o;
    o.decomposition.period = period;
    o.decomposition.mode = SeasonalMode::additive;
    o.power_scale = false;
    return o;
}

double fit_scale_power(span<double> expected, span<double> residual) {
    const std::size_t n = expected.size();
    constexpr std::size_t kGroups = 5;
    if (n < 10 * kGroups || residual.size() != n) return 0.0;
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return expected[a] < expected[b]; });
    if (!(expected[order.front()] > 0.0) || expected[order.back()] < 1.5 * expected[order.front()]) return 0.0;

    const double center = median(residual);
    double lx[kGroups], ly[kGroups];
    std::vector<double> lv, rv;
    for (std::size_t g = 0; g < kGroups; ++g) {
        const std::size_t lo = g * n / kGroups, hi = (g + 1) * n / kGroups;
        lv.clear();
        rv.clear();
        for (std::size_t j = lo; j < hi; ++j) {
            lv.push_back(expected[order[j]]);
            rv.push_back(residual[order[j]]);
        }
        const double spread = mad(rv, center);
        if (!(spread > 0.0)) return 0.0;
        lx[g] = std::log(median(lv));
        ly[g] = std::log(spread);
    }
    double mx = 0.0, my = 0.0;
    for (std::size_t g = 0; g < kGroups; ++g) {
        mx += lx[g] / kGroups;
        my += ly[g] / kGroups;
    }
    double sxy = 0.0, sxx = 0.0;
    for (std::size_t g = 0; g < kGroups; ++g) {
        sxy += (lx[g] - mx) * (ly[g] - my);
        sxx += (lx[g] - mx) * (lx[g] - mx);
    }
    if (!(sxx > 0.0)) return 0.0;
    const double slope = sxy / sxx;
    return std::isfinite(slope) ? std::clamp(slope, 0.0, 1.0) : 0.0;
}

double intermittent_floor(span<double> x) {
    std::size_t nonzero = 0;
    double sum_abs = 0.0;
    for (double v : x)
        if (v != 0.0) {
            ++nonzero;
            sum_abs += std::fabs(v);
        }
    if (nonzero == 0 || nonzero == x.size()) return 0.0;
    const double zero_share = static_cast<double>(x.size() - nonzero) / static_cast<double>(x.size());
    return zero_share * (sum_abs / static_cast<double>(nonzero));
}

MadScores mad_scores(span<double> x, const MadOptions& options) {
    require_finite(x, "series values");
    require_non_negative(options.threshold, "threshold");
    require_non_negative(options.min_abs_change, "min_abs_change");
    require_non_negative(options.min_scale, "min_scale");
    require_non_negative(options.min_scale_fraction, "min_scale_fraction");

    MadScores s;
    s.components = decompose_robust(x, options.decomposition);
    const std::size_t n = x.size();
    s.expected.resize(n);
    s.score.assign(n, 0.0);
    for (std::size_t t = 0; t < n; ++t) s.expected[t] = s.components.trend[t] + s.components.seasonal[t];
    if (n == 0) return s;

    s.center = median(s.components.residual);
    double mean_abs = 0.0;
    for (double v : x) mean_abs += std::fabs(v) / static_cast<double>(n);  // divided early: no overflow
    const double floor = std::max({options.min_scale, options.min_scale_fraction * mean_abs, intermittent_floor(x)});
    auto scale = [&](double mad_value) {
        const double v = std::max(kMadToSd * mad_value, floor);
        return std::isfinite(v) ? v : 0.0;
    };
    s.gamma = options.power_scale ? fit_scale_power(s.expected, s.components.residual) : 0.0;
    s.scale.assign(n, 1.0);
    std::vector<double> r = s.components.residual;
    if (s.gamma > 0.0) {
        s.reference_level = median(s.expected);
        for (std::size_t t = 0; t < n; ++t) {
            s.scale[t] = std::pow(s.expected[t] / s.reference_level, s.gamma);
            r[t] = s.center + (r[t] - s.center) / s.scale[t];  // standardised around the centre
        }
    } else {
        s.reference_level = n ? median(s.expected) : 0.0;
    }
    if (options.double_mad) {
        // Rosenmai's "double MAD": the MAD of each half, the centre included
        // in both (so a half that is all centre has MAD 0, then the floor).
        std::vector<double> up, down;
        for (double v : r) {
            if (v >= s.center) up.push_back(v);
            if (v <= s.center) down.push_back(v);
        }
        s.sigma_up = scale(median_abs_deviation(up, s.center));
        s.sigma_down = scale(median_abs_deviation(down, s.center));
    } else {
        s.sigma_up = s.sigma_down = scale(mad(r, s.center));
    }
    for (std::size_t t = 0; t < n; ++t) {
        const double dev = r[t] - s.center;  // already divided by scale[t]
        const double sigma = dev >= 0.0 ? s.sigma_up : s.sigma_down;
        // sigma = 0 only for an all-zero series (or with the floors switched
        // off): no spread, no evidence, score 0.
        const double z = sigma > 0.0 ? dev / sigma : 0.0;
        s.score[t] = std::isfinite(z) ? z : 0.0;
    }
    return s;
}

std::vector<Anomaly> detect_mad(span<double> x, const MadOptions& options, std::size_t from) {
    const MadScores s = mad_scores(x, options);
    std::vector<Anomaly> out;
    const std::size_t n = x.size();
    if (n < options.min_history) return out;
    for (std::size_t t = from; t < n; ++t) {
        const double z = s.score[t];
        if (!(std::fabs(z) > options.threshold) || !reports(options.direction, z)) continue;
        if (std::fabs(x[t] - s.expected[t]) < options.min_abs_change) continue;
        out.push_back({t, x[t], s.expected[t], z});
    }
    return out;
}

}  // namespace salesflow::anomaly

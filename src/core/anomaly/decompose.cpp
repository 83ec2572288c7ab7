// Robust seasonal-trend decomposition (rolling-median trend, per-phase median
// seasonal, STL-style inner loop; Cleveland et al. 1990 with medians for loess;
// see decompose.hpp).
#include "core/anomaly/decompose.hpp"

#include "core/anomaly/robust.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::anomaly {

std::vector<double> seasonal_medians(span<double> detrended, std::size_t period, std::size_t seasonal_cycles) {
    require_finite(detrended, "detrended series");
    const std::size_t n = detrended.size();
    std::vector<double> raw(n, 0.0);
    if (period < 2 || n < 2 * period) return raw;

    std::vector<double> sub;
    for (std::size_t phase = 0; phase < period; ++phase) {
        sub.clear();
        for (std::size_t t = phase; t < n; t += period) sub.push_back(detrended[t]);
        if (seasonal_cycles == 0 || seasonal_cycles >= sub.size()) {
            const double m = median(sub);
            for (std::size_t t = phase; t < n; t += period) raw[t] = m;
        } else {
            const std::vector<double> m = rolling_median(sub, seasonal_cycles);
            for (std::size_t t = phase, j = 0; t < n; t += period, ++j) raw[t] = m[j];
        }
    }

    // Centre: subtract a moving average of one full period (shifted inside the
    // series at the edges), so the level lives in the trend, not the seasonal.
    // For a fixed pattern this subtracts the mean of the phase medians.
    std::vector<double> prefix(n + 1, 0.0);
    for (std::size_t t = 0; t < n; ++t) prefix[t + 1] = prefix[t] + raw[t];
    const std::size_t h = (period - 1) / 2;
    std::vector<double> seasonal(n);
    for (std::size_t t = 0; t < n; ++t) {
        const std::size_t s = t < h ? 0 : std::min(t - h, n - period);
        seasonal[t] = raw[t] - (prefix[s + period] - prefix[s]) / static_cast<double>(period);
    }
    return seasonal;
}

Decomposition decompose_robust(span<double> x, const DecompositionOptions& options) {
    require_finite(x, "series values");
    if (options.passes < 1) throw std::invalid_argument("decomposition passes must be >= 1");
    const std::size_t n = x.size();
    Decomposition d;
    d.seasonal.assign(n, 0.0);
    std::vector<double> work(n);
    for (int pass = 0; pass < options.passes; ++pass) {
        for (std::size_t t = 0; t < n; ++t) work[t] = x[t] - d.seasonal[t];
        d.trend = rolling_median(work, options.trend_window);
        d.multiplicative = options.mode == SeasonalMode::multiplicative ||
                           (options.mode == SeasonalMode::automatic && n > 0 &&
                            *std::min_element(d.trend.begin(), d.trend.end()) > 0.0);
        if (d.multiplicative) {
            if (n > 0 && !(*std::min_element(d.trend.begin(), d.trend.end()) > 0.0))
                throw std::invalid_argument("a multiplicative decomposition needs a trend > 0 everywhere");
            for (std::size_t t = 0; t < n; ++t) work[t] = x[t] / d.trend[t] - 1.0;
            if (!std::all_of(work.begin(), work.end(), [](double v) { return std::isfinite(v); })) {
                if (options.mode == SeasonalMode::multiplicative)
                    throw std::range_error("trend too close to 0 for a multiplicative decomposition");
                d.multiplicative = false;  // automatic: a denormal trend, fall back to additive
            }
        }
        if (d.multiplicative) {
            d.seasonal = seasonal_medians(work, options.period, options.seasonal_cycles);
            for (std::size_t t = 0; t < n; ++t) d.seasonal[t] *= d.trend[t];
        } else {
            for (std::size_t t = 0; t < n; ++t) work[t] = x[t] - d.trend[t];
            d.seasonal = seasonal_medians(work, options.period, options.seasonal_cycles);
        }
    }
    d.residual.resize(n);
    for (std::size_t t = 0; t < n; ++t) d.residual[t] = x[t] - d.trend[t] - d.seasonal[t];
    return d;
}

}  // namespace salesflow::anomaly

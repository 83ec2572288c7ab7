// Shared helpers of the forecast module (see common.hpp). The decomposition
// follows the classical method of FPP section 3.4: a centred 2×m moving average
// (m-MA for odd m) as trend, detrended values averaged per season position, and
// the figure normalised to sum 0 (additive) or mean 1 (multiplicative).
#include "core/forecast/common.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::forecast {

void check_series(span<double> y, int period) {
    if (y.empty()) throw std::invalid_argument("series is empty");
    if (period < 1) throw std::invalid_argument("period must be at least 1");
    for (double v : y)
        if (!std::isfinite(v)) throw std::invalid_argument("series contains a non-finite value");
}

void check_horizon(int horizon) {
    if (horizon < 1) throw std::invalid_argument("horizon must be at least 1");
    if (horizon > 100000) throw std::invalid_argument("horizon is too large (at most 100000)");
}

Forecast normal_forecast(const std::vector<double>& point, const std::vector<double>& sd) {
    Forecast f;
    f.point = point;
    f.intervals.resize(point.size());
    for (std::size_t i = 0; i < point.size(); ++i) {
        const double s = sd[i];
        f.intervals[i] = {point[i] - z80 * s, point[i] + z80 * s, point[i] - z95 * s, point[i] + z95 * s};
    }
    return f;
}

namespace {
// A value that is not finite becomes the nearest finite stand-in: bounds that
// overflowed become the largest double of the right sign, NaN becomes the point.
double finite_or(double v, double fallback) {
    if (std::isfinite(v)) return v;
    if (std::isnan(v)) return std::isfinite(fallback) ? fallback : 0.0;
    return v > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
}
}  // namespace

void finish(Forecast& f, bool non_negative) {
    for (std::size_t i = 0; i < f.point.size(); ++i) {
        double& p = f.point[i];
        p = finite_or(p, 0.0);
        Interval& iv = f.intervals[i];
        iv.lo80 = finite_or(iv.lo80, p);
        iv.hi80 = finite_or(iv.hi80, p);
        iv.lo95 = finite_or(iv.lo95, p);
        iv.hi95 = finite_or(iv.hi95, p);
        if (non_negative) {
            p = std::max(0.0, p);
            iv.lo80 = std::max(0.0, iv.lo80);
            iv.hi80 = std::max(0.0, iv.hi80);
            iv.lo95 = std::max(0.0, iv.lo95);
            iv.hi95 = std::max(0.0, iv.hi95);
        }
    }
}

std::vector<double> seasonal_figure(span<double> y, int period, Decomposition type) {
    const int n = static_cast<int>(y.size());
    const int m = period;
    if (m < 2 || n < 2 * m) throw std::invalid_argument("decomposition needs two full seasons");
    // Centred moving average: weights 1/m, halved at both ends when m is even.
    const int half = m / 2;
    std::vector<double> detrended(n, std::nan(""));
    for (int t = half; t + half < n; ++t) {
        double s = 0.0;
        if (m % 2 == 0) {
            s = 0.5 * (y[t - half] + y[t + half]);
            for (int k = -half + 1; k < half; ++k) s += y[t + k];
        } else {
            for (int k = -half; k <= half; ++k) s += y[t + k];
        }
        const double trend = s / m;
        detrended[t] = type == Decomposition::additive ? y[t] - trend : y[t] / trend;
    }
    std::vector<double> figure(m, 0.0);
    for (int i = 0; i < m; ++i) {
        double s = 0.0;
        int c = 0;
        for (int t = i; t < n; t += m)
            if (!std::isnan(detrended[t])) {
                s += detrended[t];
                ++c;
            }
        figure[i] = c > 0 ? s / c : (type == Decomposition::additive ? 0.0 : 1.0);
    }
    double avg = 0.0;
    for (double v : figure) avg += v;
    avg /= m;
    for (double& v : figure) v = type == Decomposition::additive ? v - avg : v / avg;
    return figure;
}

std::vector<double> autocorrelations(span<double> y, int maxlag) {
    const int n = static_cast<int>(y.size());
    const double mu = mean_of(y);
    double c0 = 0.0;
    for (double v : y) c0 += (v - mu) * (v - mu);
    std::vector<double> r(maxlag, 0.0);
    if (c0 <= 0.0) return r;
    for (int k = 1; k <= maxlag; ++k) {
        double c = 0.0;
        for (int t = k; t < n; ++t) c += (y[t] - mu) * (y[t - k] - mu);
        r[k - 1] = c / c0;
    }
    return r;
}

std::pair<double, double> linear_trend(span<double> y) {
    const double n = static_cast<double>(y.size());
    if (y.size() < 2) return {y.empty() ? 0.0 : y[0], 0.0};
    const double xbar = (n - 1) / 2.0;
    const double ybar = mean_of(y);
    double sxy = 0.0, sxx = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double dx = static_cast<double>(i) - xbar;
        sxy += dx * (y[i] - ybar);
        sxx += dx * dx;
    }
    const double slope = sxy / sxx;
    return {ybar - slope * xbar, slope};
}

double mean_of(span<double> y) {
    double s = 0.0;
    for (double v : y) s += v;
    return y.empty() ? 0.0 : s / static_cast<double>(y.size());
}

}  // namespace salesflow::forecast

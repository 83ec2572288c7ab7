// Naive, seasonal naive and mean forecasts with their textbook intervals
// (Hyndman & Athanasopoulos, FPP 3rd ed., section 5.5). These are the floor any
// cleverer method must beat in the backtest, and the MASE scale itself.
#include "core/forecast/baselines.hpp"

#include "core/forecast/common.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>

namespace salesflow::forecast {

namespace {
// σ of the lag-k random walk: root mean squared lag-k difference (0 when there
// is no difference to measure, so the interval collapses onto the point).
double lag_sigma(span<double> y, int lag) {
    double s = 0.0;
    int c = 0;
    for (std::size_t t = lag; t < y.size(); ++t) {
        const double d = y[t] - y[t - lag];
        s += d * d;
        ++c;
    }
    return c > 0 ? std::sqrt(s / c) : 0.0;
}
}  // namespace

Forecast naive_forecast(span<double> y, int horizon) {
    const double sigma = lag_sigma(y, 1);
    std::vector<double> point(horizon, y[y.size() - 1]), sd(horizon);
    for (int h = 1; h <= horizon; ++h) sd[h - 1] = sigma * std::sqrt(static_cast<double>(h));
    return normal_forecast(point, sd);
}

Forecast snaive_forecast(span<double> y, int horizon, int period) {
    const int n = static_cast<int>(y.size());
    if (period < 2 || n < period) return naive_forecast(y, horizon);
    const double sigma = lag_sigma(y, period);
    std::vector<double> point(horizon), sd(horizon);
    for (int h = 1; h <= horizon; ++h) {
        const int k = (h - 1) / period + 1;  // whole seasons stepped over
        point[h - 1] = y[n - period + (h - 1) % period];
        sd[h - 1] = sigma * std::sqrt(static_cast<double>(k));
    }
    return normal_forecast(point, sd);
}

Forecast mean_forecast(span<double> y, int horizon) {
    const int n = static_cast<int>(y.size());
    const double mu = mean_of(y);
    double ss = 0.0;
    for (double v : y) ss += (v - mu) * (v - mu);
    Forecast f;
    f.point.assign(horizon, mu);
    f.intervals.assign(horizon, Interval{mu, mu, mu, mu});
    if (n < 2) return f;
    const double se = std::sqrt(ss / (n - 1)) * std::sqrt(1.0 + 1.0 / n);
    const boost::math::students_t t(n - 1);
    const double t80 = boost::math::quantile(t, 0.90), t95 = boost::math::quantile(t, 0.975);
    for (auto& iv : f.intervals) iv = {mu - t80 * se, mu + t80 * se, mu - t95 * se, mu + t95 * se};
    return f;
}

}  // namespace salesflow::forecast

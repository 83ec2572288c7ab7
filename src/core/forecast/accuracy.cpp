// MASE (Hyndman & Koehler 2006, "Another look at measures of forecast
// accuracy") with the seasonal-naive in-sample scale, and sMAPE as in the M3
// competition (Makridakis & Hibon 2000). See accuracy.hpp.
#include "core/forecast/accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::forecast {

double mase_scale(span<double> train, int period) {
    const std::size_t n = train.size();
    std::size_t lag = period >= 1 ? static_cast<std::size_t>(period) : 1;
    if (lag >= n) lag = 1;
    double s = 0.0;
    std::size_t c = 0;
    for (std::size_t t = lag; t < n; ++t) {
        s += std::fabs(train[t] - train[t - lag]);
        ++c;
    }
    return c > 0 ? s / c : 0.0;
}

double mase(span<double> actual, span<double> forecast, double scale) {
    const std::size_t n = std::min(actual.size(), forecast.size());
    if (n == 0) throw std::invalid_argument("mase needs at least one forecast");
    if (!(scale > 0.0)) throw std::invalid_argument("mase scale must be positive");
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += std::fabs(actual[i] - forecast[i]);
    return s / n / scale;
}

double smape(span<double> actual, span<double> forecast) {
    const std::size_t n = std::min(actual.size(), forecast.size());
    if (n == 0) throw std::invalid_argument("smape needs at least one forecast");
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = std::fabs(actual[i]) + std::fabs(forecast[i]);
        if (d > 0.0) s += 200.0 * std::fabs(actual[i] - forecast[i]) / d;
    }
    return s / n;
}

}  // namespace salesflow::forecast

// Runway days and stockout day against a daily forecast (days of cover of
// Silver, Pyke & Thomas 4th ed., with a non-level forecast). See runway.hpp.
#include "core/inventory/runway.hpp"

#include "core/inventory/math_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::inventory {

RunwayResult runway(double stock, span<double> daily_forecast) {
    detail::require_finite(stock, "stock");
    if (daily_forecast.empty()) throw std::invalid_argument("daily forecast must not be empty");
    for (double f : daily_forecast) detail::require_non_negative(f, "daily forecast");
    if (daily_forecast.size() > static_cast<std::size_t>(1) << 30)
        throw std::invalid_argument("daily forecast is too long");

    if (stock < 0.0) return {0.0, 0, false};
    double consumed = 0.0;  // C(i)
    for (std::size_t i = 0; i < daily_forecast.size(); ++i) {
        const double f = daily_forecast[i];
        if (consumed + f > stock) {
            // Interpolate within the day: C(i + x) = C(i) + x f_i reaches the stock at x.
            const double day = static_cast<double>(i);
            // Kept below i + 1 so that floor(runway_days) is the stockout day despite rounding.
            const double days = std::min(day + (stock - consumed) / f, std::nextafter(day + 1.0, 0.0));
            return {days, static_cast<int>(i), false};
        }
        consumed += f;
    }
    return {static_cast<double>(daily_forecast.size()), std::nullopt, true};
}

}  // namespace salesflow::inventory

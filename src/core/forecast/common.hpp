// Small shared pieces of the forecast module: input checks, normal-theory
// intervals, clamping at zero, and the classical decomposition's seasonal
// indices (Hyndman & Athanasopoulos, FPP 3rd ed., section 3.4; the same
// centred moving average and per-position averaging as R's decompose()).
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/forecast.hpp"

#include <string>
#include <vector>

namespace salesflow::forecast {

// Standard normal quantiles for the two interval levels every method reports.
inline constexpr double z80 = 1.2815515655446004;  // qnorm(0.90)
inline constexpr double z95 = 1.959963984540054;   // qnorm(0.975)

// Throws std::invalid_argument unless y is non-empty and finite, period >= 1.
void check_series(span<double> y, int period);
void check_horizon(int horizon);

// point ± z·sd for each step.
Forecast normal_forecast(const std::vector<double>& point, const std::vector<double>& sd);

// Clamps points and bounds at zero (demand cannot be negative) and replaces any
// non-finite value that slipped through by a finite one, so no NaN/Inf leaves.
void finish(Forecast& f, bool non_negative);

enum class Decomposition { additive, multiplicative };

// Seasonal figure of R's decompose() over y (length >= 2·period): index i is
// the season of position i (0-based, relative to y's first value), additive
// figures sum to zero, multiplicative ones average one.
std::vector<double> seasonal_figure(span<double> y, int period, Decomposition type);

// Sample autocorrelations r_1..r_maxlag (denominator n, as R's acf()).
std::vector<double> autocorrelations(span<double> y, int maxlag);

// Least-squares line through (x_i, y_i) for x = 0..n-1: {intercept, slope}.
std::pair<double, double> linear_trend(span<double> y);

double mean_of(span<double> y);

}  // namespace salesflow::forecast

// The baselines every series gets: naive (random walk), seasonal naive and the
// mean, with the standard normal-theory intervals of Hyndman & Athanasopoulos,
// FPP 3rd ed., section 5.5 (table of h-step standard deviations), as R's
// naive(), snaive() and meanf() compute them.
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/forecast.hpp"

namespace salesflow::forecast {

// Last value; sd_h = σ·√h with σ² the mean squared one-step difference.
Forecast naive_forecast(span<double> y, int horizon);

// Value one season back; sd_h = σ·√(⌊(h−1)/m⌋ + 1) with σ² the mean squared
// seasonal difference. Falls back to naive when y is shorter than a season.
Forecast snaive_forecast(span<double> y, int horizon, int period);

// Sample mean; sd = s·√(1 + 1/n) with Student-t quantiles on n−1 degrees of
// freedom, as meanf() does.
Forecast mean_forecast(span<double> y, int horizon);

}  // namespace salesflow::forecast

// Demand forecasting per series: the public face of the forecast module.
//
// One entry point per question a caller asks: fit() says which model a series
// gets and how well it back-tests; forecast() gives point forecasts with 80% and
// 95% prediction intervals. Methods: exponential smoothing state-space models
// (Hyndman, Koehler, Ord & Snyder 2008, "Forecasting with Exponential
// Smoothing"; Hyndman & Athanasopoulos, FPP), Croston (1972), SBA (Syntetos &
// Boylan 2005), TSB (Teunter, Syntetos & Babai 2011), Theta (Assimakopoulos &
// Nikolopoulos 2000, as SES with drift after Hyndman & Billah 2003), the
// ETS/Theta combination, and the naive, seasonal naive and mean baselines.
// Method names follow R's forecast package, the reference these are tested
// against: "auto", "ets", ETS codes ("ANN", "AAdN", "MAM", ...), "theta",
// "combo", "croston", "sba", "tsb", "naive", "snaive", "mean", "ses".
//
// Bad input throws std::invalid_argument with a lower-case message. Nothing
// returns NaN or Inf.
#pragma once

#include "core/common/span.hpp"

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace salesflow::forecast {

struct Interval {
    double lo80, hi80, lo95, hi95;
};

struct Forecast {
    std::vector<double> point;
    std::vector<Interval> intervals;
};

// What a method without a likelihood (Croston, baselines, Theta, combo)
// reports as loglik / aic / aicc / bic: a large finite sentinel, never NaN or
// Inf, so SQL and JSON consumers see ordinary numbers that sort last.
inline constexpr double no_likelihood = 1e300;

struct FitResult {
    std::string method;
    std::vector<std::pair<std::string, double>> params;
    double loglik = -no_likelihood;  // -no_likelihood when the method has none
    double aic = no_likelihood;
    double aicc = no_likelihood;
    double bic = no_likelihood;
    // Rolling-origin backtest MASE (see select.cpp); -1 if the series is too
    // short to hold out anything.
    double backtest_mase = -1.0;
};

struct FitAndForecast {
    FitResult fit;
    Forecast forecast;
};

// Fits `method` to y (seasonal period `period` >= 1) and reports the model.
// The backtest horizon is the period for seasonal data, else 6 steps.
FitResult fit(span<double> y, int period, const std::string& method);

// Fits and forecasts `horizon` steps ahead. With non_negative (the default,
// for demand) points and interval bounds are clamped at zero.
Forecast forecast(span<double> y, int horizon, int period, const std::string& method,
                  bool non_negative = true);

// Both at once (what the batch job wants: one fit, its description and its
// forecast). The backtest uses `horizon`.
FitAndForecast fit_and_forecast(span<double> y, int horizon, int period, const std::string& method,
                                bool non_negative = true);

}  // namespace salesflow::forecast

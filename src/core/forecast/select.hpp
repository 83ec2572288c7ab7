// Method dispatch, rolling-origin backtest and automatic selection across
// method families (Hyndman & Athanasopoulos, FPP 3rd ed., sections 5.10
// "time series cross-validation" and 13.4 "forecast combinations").
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/ets.hpp"
#include "core/forecast/forecast.hpp"
#include "core/forecast/intermittent.hpp"
#include "core/forecast/theta.hpp"

#include <string>
#include <vector>

namespace salesflow::forecast {

enum class Family { ets, theta, combo, intermittent, naive, snaive, mean };

// A fitted method that can forecast from the data it was fitted on, or from
// any extension of it with its parameters held fixed (what the backtest does).
struct FittedMethod {
    Family family = Family::naive;
    std::string name;  // the method as the caller sees it: "MAdM", "theta", "sba", ...
    int period = 1;
    EtsModel ets;
    ThetaModel theta;
    IntermittentModel intermittent{IntermittentMethod::croston, 0.1, 0.0};
};

// Fits one named method ("ets" = AICc choice within ETS, an ETS code, "ses",
// "theta", "combo", "croston", "sba", "tsb", "naive", "snaive", "mean").
// Throws std::invalid_argument for unknown names or data the method refuses.
FittedMethod fit_method(span<double> y, int period, const std::string& method);

std::vector<double> point_forecast(const FittedMethod& f, span<double> y, int horizon);
Forecast interval_forecast(const FittedMethod& f, span<double> y, int horizon);
FitResult describe(const FittedMethod& f);

// Rolling-origin backtest. The method is fitted once on y[0, n − k) and, with
// its parameters fixed, forecasts 1..horizon steps from every origin
// o = n − k, …, n − 1 (steps past the end are dropped), k = min(2·horizon,
// ⌊n/4⌋). The pooled MAE over all (origin, step) pairs is divided by the
// in-sample seasonal naive MAE of the training part. Returns -1 when the
// series is too short (k < 1 or fewer than max(2·period, 8) training values)
// or the method cannot be fitted on the training part.
double backtest_mase(span<double> y, int period, const std::string& method, int horizon);

// The candidates 'auto' compares for this series.
std::vector<std::string> auto_candidates(span<double> y, int period);

}  // namespace salesflow::forecast

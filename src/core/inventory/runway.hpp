// Runway (days of cover) and the first stockout day of a stock against a daily
// demand forecast rather than a flat average burn rate.
//
// The "time supply" / days-of-cover measure of Silver, Pyke & Thomas,
// "Inventory and Production Management in Supply Chains", 4th ed. (stock
// divided by the demand rate), generalised to a non-level forecast: the stock
// is consumed by the cumulative forecast C(t), piecewise linear with
// C(i) = f_0 + ... + f_{i-1} (demand spread evenly within each day).
#pragma once

#include "core/common/span.hpp"

#include <optional>

namespace salesflow::inventory {

struct RunwayResult {
    // sup{t in [0, H] : C(t) <= stock}: fractional days until the forecast
    // exceeds the stock. Days without forecast demand extend it. 0 for a
    // negative stock (already backordered). Equals the horizon H when the stock
    // outlasts the forecast (then covers_horizon is true: a lower bound).
    double runway_days;
    // First 0-based day i with C(i + 1) > stock (floor(runway_days) whenever
    // it exists); none if the stock outlasts the horizon. 0 for negative stock.
    std::optional<int> stockout_day;
    // Added: true when no stockout happens within the forecast horizon.
    bool covers_horizon;
};

// daily_forecast: demand per day from today (index 0) on; must be non-empty,
// finite and >= 0; stock finite (std::invalid_argument). A stock of exactly 0
// runs out on the first day with positive forecast demand.
RunwayResult runway(double stock, span<double> daily_forecast);

}  // namespace salesflow::inventory

// Forecast accuracy measures used by the backtest and the M3 harness: MASE
// (Hyndman & Koehler 2006) scaled by the in-sample seasonal naive MAE (naive
// when the period is 1) — the scale of the M3 reference files — and sMAPE on
// the 0–200 scale of the M3 competition (Makridakis & Hibon 2000).
#pragma once

#include "core/common/span.hpp"

namespace salesflow::forecast {

// In-sample MAE of the seasonal naive forecast (lag = period, or 1 when the
// period is 1 or longer than the series). 0 for a series without variation.
double mase_scale(span<double> train, int period);

// Mean |actual − forecast| / scale over the common length.
double mase(span<double> actual, span<double> forecast, double scale);

// Mean of 200·|a − f| / (|a| + |f|), terms with a = f = 0 counting zero.
double smape(span<double> actual, span<double> forecast);

}  // namespace salesflow::forecast

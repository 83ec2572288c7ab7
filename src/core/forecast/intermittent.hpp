// Intermittent demand: Croston (1972), the Syntetos–Boylan approximation (SBA,
// Syntetos & Boylan 2005) and TSB (Teunter, Syntetos & Babai 2011), plus the
// ADI / CV² classification of Syntetos, Boylan & Croston (2005) that decides
// whether a series is intermittent enough for these methods to be candidates.
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/forecast.hpp"

#include <string>
#include <vector>

namespace salesflow::forecast {

enum class DemandClass { smooth, erratic, intermittent, lumpy, none };

struct DemandProfile {
    double adi;        // average inter-demand interval (periods per non-zero demand)
    double cv2;        // squared coefficient of variation of the non-zero sizes
    int nonzero;       // number of periods with demand
    DemandClass klass; // cut-offs ADI 1.32, CV² 0.49; `none` if no demand at all
};

DemandProfile classify_demand(span<double> y);
const char* demand_class_name(DemandClass c);

// True when the Croston family should compete: demand is missing in many
// periods (ADI >= 1.32) or the series holds zeros and negatives are absent.
bool is_intermittent(span<double> y);

enum class IntermittentMethod { croston, sba, tsb };

struct IntermittentModel {
    IntermittentMethod method;
    double alpha;  // smoothing of sizes (Croston/SBA: also of intervals)
    double beta;   // TSB: smoothing of the demand probability; unused otherwise
};

// Croston/SBA use alpha = 0.1 (R's croston() default) unless given; TSB's
// alpha and beta minimise the in-sample one-step MSE over a grid.
IntermittentModel fit_intermittent(span<double> y, IntermittentMethod method, double alpha = 0.1);

// The (flat) point forecast of `model` after seeing y.
double intermittent_level(const IntermittentModel& model, span<double> y);

// intermittent_level for every prefix y[0, o), o = first_origin, …, y.size() − 1,
// in one pass over y (the backtest): out[i] belongs to origin first_origin + i.
std::vector<double> intermittent_origin_levels(const IntermittentModel& model, span<double> y, int first_origin);

// Point forecasts plus distribution-based intervals (see intermittent.cpp).
Forecast intermittent_forecast(const IntermittentModel& model, span<double> y, int horizon);

const char* intermittent_name(IntermittentMethod m);

}  // namespace salesflow::forecast

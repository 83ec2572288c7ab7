// The Theta method (Assimakopoulos & Nikolopoulos 2000), the M3 competition's
// winner, in the form Hyndman & Billah (2003) showed it to be: simple
// exponential smoothing with drift equal to half the slope of the series'
// linear trend, on seasonally adjusted data (classical multiplicative
// decomposition) when a 90% autocorrelation test at lag m finds seasonality —
// as R's forecast::thetaf() does.
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/forecast.hpp"

#include <vector>

namespace salesflow::forecast {

struct ThetaModel {
    int period = 1;
    bool seasonal = false;
    std::vector<double> figure;  // seasonal indices by position (relative to y's start)
    double alpha = 0.0;          // SES smoothing parameter
    double l0 = 0.0;             // SES initial level
    double drift = 0.0;          // half the slope of the linear trend
    double sigma2 = 0.0;         // SES residual variance
};

// thetaf's seasonality test: |r_m| / sqrt((1 + 2 Σ_{k<m} r_k²)/n) > qnorm(0.95).
bool theta_seasonal(span<double> y, int period);

ThetaModel fit_theta(span<double> y, int period);

// Theta-adjusted series: y divided by the model's seasonal indices.
std::vector<double> theta_adjusted(const ThetaModel& model, span<double> y);

// The SES initial level minimising the in-sample squared errors for a given
// alpha: the errors are linear in l0, e_t = d_t − (1−α)^(t−1)·l0, so
// l0 = Σ c_t d_t / Σ c_t² (least squares).
double ses_best_level(span<double> x, double alpha);

// Point forecasts of a fitted model run over y (y may be a prefix of the
// training data: the backtest keeps the parameters fixed).
std::vector<double> theta_point_forecast(const ThetaModel& model, span<double> y, int horizon);

// theta_point_forecast from every origin o = first_origin, …, y.size() − 1
// (for y's first o values), up to `horizon` steps but not past y's end, in one
// pass over y: out[i] belongs to origin first_origin + i.
std::vector<std::vector<double>> theta_origin_forecasts(const ThetaModel& model, span<double> y, int first_origin,
                                                        int horizon);

// With thetaf's intervals: sd_h = σ·sqrt(1 + (h−1)α²).
Forecast theta_forecast(const ThetaModel& model, span<double> y, int horizon);

}  // namespace salesflow::forecast

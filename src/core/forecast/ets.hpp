// Exponential smoothing state-space models, ETS(error, trend, season), as in
// Hyndman, Koehler, Ord & Snyder (2008), "Forecasting with Exponential
// Smoothing", chapters 2–7, and Hyndman & Athanasopoulos, FPP chapter 8.
// Fitted by maximum likelihood and selected by AICc the way R's ets() does.
#pragma once

#include "core/common/span.hpp"
#include "core/forecast/forecast.hpp"

#include <string>
#include <vector>

namespace salesflow::forecast {

enum class ErrorType { additive, multiplicative };
enum class TrendType { none, additive, damped };
enum class SeasonType { none, additive, multiplicative };

struct EtsSpec {
    ErrorType error = ErrorType::additive;
    TrendType trend = TrendType::none;
    SeasonType season = SeasonType::none;
};

// "ANN", "AAdN", "MAM", ...: R's ets() model letters without commas.
std::string ets_code(const EtsSpec& spec);
// Parses such a code; false if `code` is not one. Throws std::invalid_argument
// for codes R's ets() refuses or we do not support (multiplicative trend,
// additive error with multiplicative season).
bool parse_ets_code(const std::string& code, EtsSpec* spec);

struct EtsModel {
    EtsSpec spec;
    int period = 1;  // m; 1 for non-seasonal models
    double alpha = 0.0, beta = 0.0, gamma = 0.0, phi = 1.0;
    double l0 = 0.0, b0 = 0.0;
    // Initial seasonal states in R's order: s0[0] belongs to time 0 (the most
    // recent before the first observation), s0[m-1] to time 1-m.
    std::vector<double> s0;
    // Filled by ets_evaluate() / the fits.
    int n = 0;         // observations fitted
    int n_params = 0;  // estimated parameters: smoothing + free initial states
    double sigma2 = 0.0;  // residual variance, SSE/(n − n_params) as R reports it
    double lik = 0.0;     // R's criterion: n·log(SSE) (+ 2·Σ log|ŷ| for multiplicative error)
    double loglik = 0.0, aic = 0.0, aicc = 0.0, bic = 0.0;
};

struct EtsFitOptions {
    // Cap per Nelder–Mead run (runs are over the 1–4 smoothing parameters; the
    // fit stops earlier, at 300, by itself).
    int max_evaluations = 2000;
    // Also search from a second, brisk start (guards against the timid start's
    // basin; see fit_ets in ets.cpp).
    bool restart = true;
    // Nelder–Mead's relative stopping tolerance on R's criterion (≈ n·log σ²).
    double reltol = 1e-6;
    // Alternating rounds after the start (each: smoothing search, then states).
    int rounds = 3;
    // Gauss–Newton steps on the initial states per refinement after the
    // start (one solves additive-error models with linear states exactly).
    int state_iterations = 2;
};

// Fits one model by maximum likelihood (smoothing parameters and initial
// states). Throws std::invalid_argument if the series is too short or, for
// multiplicative models, not strictly positive.
EtsModel fit_ets(span<double> y, int period, const EtsSpec& spec, const EtsFitOptions& options = {});

// The same model (start.spec) refitted to y from the parameters and initial
// states of `start`, e.g. a fit to a prefix of y: much cheaper than a fit from
// scratch when start is close. Falls back to a fresh fit if start is not
// feasible on y.
EtsModel fit_ets(span<double> y, int period, const EtsModel& start, const EtsFitOptions& options = {});

// A starting model of another structure for fit_ets(y, period, start): the
// parameters and states `from` shares with `spec` are kept, the others get R's
// starting values (β = 10% of α, γ = 5% of 1 − α, φ = 0.978, b0 = 0); seasons
// are converted between additive and multiplicative through the level, and a
// season `from` does not have starts neutral. Used to search nested models
// from a fitted neighbour instead of from scratch.
EtsModel ets_start_from(const EtsModel& from, const EtsSpec& spec, int period);

// Fits every candidate of ets_candidates (those that cannot be fitted are left
// out). With `warm` (earlier fits on another window of the same series), each
// candidate found there is refitted from its earlier estimate.
std::vector<EtsModel> fit_ets_all(span<double> y, int period, const EtsFitOptions& options = {},
                                  const std::vector<EtsModel>& warm = {});

// The model with the smallest AICc; throws std::invalid_argument if none.
const EtsModel& best_by_aicc(const std::vector<EtsModel>& models);

// The models ets() would consider for y: additive and multiplicative error
// (the latter only for positive data), trend none/additive/damped, season
// none/additive/multiplicative when 2 <= period <= 24, minus additive error
// with multiplicative season; and only those with fewer parameters than n − 2.
std::vector<EtsSpec> ets_candidates(span<double> y, int period);

// Fits every candidate and keeps the one with the smallest AICc.
EtsModel fit_ets_auto(span<double> y, int period, const EtsFitOptions& options = {});

// Fills n, sigma2, lik, loglik, aic, aicc, bic of a model whose parameters and
// initial states are set (used with R's fitted values in the tests).
void ets_evaluate(EtsModel& model, span<double> y);

// Point forecasts after filtering y with the model.
std::vector<double> ets_point_forecast(const EtsModel& model, span<double> y, int horizon);

// The point forecasts ets_point_forecast would give from every origin
// o = first_origin, …, y.size() − 1 (for y's first o values), each up to
// `horizon` steps but not past y's end: out[i] belongs to origin
// first_origin + i. One pass over y instead of one per origin (the backtest).
std::vector<std::vector<double>> ets_origin_forecasts(const EtsModel& model, span<double> y, int first_origin,
                                                      int horizon);

// Point forecasts with prediction intervals: analytic variances of Hyndman et
// al. (2008) chapter 6 — class 1 (linear, additive error), class 2
// (multiplicative error, additive components) and class 3 (multiplicative error
// and season; its point forecast is the exact conditional mean) — as R's
// forecast.ets() does. Two deliberate differences from R 8.20: for seasonal
// class 1/2 models the seasonal smoothing term enters the variance from step
// m+1 on (HKOS table 6.1: c_j has γ when j ≡ 0 mod m, j < h), where R already
// adds it at step m; and in class 3 the damped trend is damped in the level and
// measurement equations too (R's moments for MAdM leave the level undamped).
Forecast ets_forecast(const EtsModel& model, span<double> y, int horizon);

// Parameters as (name, value) pairs: alpha, beta, gamma, phi, l, b, s0.., sigma2.
std::vector<std::pair<std::string, double>> ets_params(const EtsModel& model);

// True if all roots of c[0] + c[1] z + ... + c[d] z^d lie inside the circle of
// the given radius (Schur–Cohn test); used for the admissible parameter space.
bool roots_inside(std::vector<double> c, double radius);

}  // namespace salesflow::forecast

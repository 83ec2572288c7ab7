// The BG/NBD model of repeat buying: Fader, Hardie & Lee (2005), "Counting Your
// Customers the Easy Way: An Alternative to the Pareto/NBD Model", Marketing
// Science 24(2), 275–284. While alive a customer buys at Poisson rate λ,
// λ ~ Gamma(r, α) across customers; after each repeat purchase they drop out
// with probability p, p ~ Beta(a, b). Per customer the data are x (number of
// repeat purchases), t_x (time of the last one, measured from the first
// purchase; 0 when x = 0) and T (time from the first purchase to the end of
// calibration), all in one time unit chosen by the caller (weeks, days...).
//
// Implemented: the log-likelihood (eq. 6, summed with log-sum-exp), its
// analytic gradient, the MLE fit, P(alive) (Fader, Hardie & Lee, "Computing
// P(alive) Using the BG/NBD Model", December 2008 note: Bayes' theorem on the
// two terms of its eq. 1, the likelihood), E[X(t)] (eq. 7),
// P(X(t) = x) (eq. 8) and E[Y(t) | x, t_x, T] (eq. 10).
//
// Input contract (std::invalid_argument, lower-case message naming the row):
//   spans of different length; any NaN/Inf; x not a whole number >= 0;
//   t_x < 0; T < 0; x > 0 with t_x > T. For x = 0 the value of t_x is ignored.
//   Parameters must be finite and > 0; times t >= 0; counts n >= 0.
// Degenerate populations: fit_bgnbd on no customers throws std::domain_error
// ("bg/nbd needs at least one customer"). All one-time buyers (every x = 0), a
// single customer and similar boundary cases are fitted: FitOptions::ridge
// keeps the estimates finite (r/α shrinks towards 0, a and b stay at their
// starting value 1), and `converged` tells whether the optimiser's test passed.
// No function returns NaN or Inf: results are finite or an exception is thrown.
#pragma once

#include "core/common/span.hpp"
#include "core/segments/optimize.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace salesflow::segments {

struct BgNbdParams {
    double r, alpha, a, b;
};

struct BgNbdFit {
    BgNbdParams params;
    double loglik;   // eq. 6 summed over customers, without the ridge
    int iterations;  // optimiser iterations (all methods)
    bool converged;
};

// MLE of (r, α, a, b) from x = frequency, t_x = recency, T per customer.
BgNbdFit fit_bgnbd(span<double> frequency, span<double> recency, span<double> T,
                   const FitOptions& options = {});

// Eq. 6 summed over customers (0 for no customers).
double bgnbd_loglik(const BgNbdParams& params, span<double> x, span<double> t_x, span<double> T);

// Gradient of bgnbd_loglik with respect to (r, α, a, b).
std::array<double, 4> bgnbd_loglik_gradient(const BgNbdParams& params, span<double> x,
                                            span<double> t_x, span<double> T);

// P(alive at T | x, t_x, T); 1 when x = 0 (no dropout before a repeat purchase).
double bgnbd_p_alive(const BgNbdParams& params, double x, double t_x, double T);

// E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (eq. 10).
double bgnbd_expected_conditional(const BgNbdParams& params, double t, double x, double t_x, double T);

// E[X(t)]: expected repeat purchases of a new customer in (0, t] (eq. 7).
double bgnbd_expected_unconditional(const BgNbdParams& params, double t);

// P(X(t) = n) for a new customer (eq. 8).
double bgnbd_p_count(const BgNbdParams& params, double t, int n);

// Deterministic draw of `customers` customers from the model's story (section 2
// of the paper): first purchase at 0, T uniform in [T_min, T_max]. Same seed,
// same data on every platform (own xoshiro256** generator and samplers). For
// scale tests, benchmarks and demos.
struct BgNbdSample {
    std::vector<double> x, t_x, T;
};
BgNbdSample bgnbd_simulate(const BgNbdParams& params, std::size_t customers, double T_min,
                           double T_max, std::uint64_t seed);

namespace detail {
// E[(1 − e^(−λpt)) / p] over λ ~ Gamma(shape, rate), p ~ Beta(a, b): expected
// purchases in the next t of a customer alive now whose purchases stop after
// each one with probability p. Shared by BG/NBD and MBG/NBD.
double expected_while_alive(double shape, double rate, double a, double b, double t);
}  // namespace detail

}  // namespace salesflow::segments

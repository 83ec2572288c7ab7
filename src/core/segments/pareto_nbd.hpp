// The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987,
// "Counting Your Customers: Who Are They and What Will They Do Next?",
// Management Science 33(1)). While alive a customer buys at Poisson rate λ,
// λ ~ Gamma(r, α); their lifetime is exponential with rate μ, μ ~ Gamma(s, β),
// and can end at any moment (unlike BG/NBD, where dropout happens only right
// after a purchase). Data per customer as in BG/NBD: x repeat purchases, t_x
// the time of the last one and T the age, in one time unit.
//
// Likelihood: Fader, Hardie & Lee (2005), "A Note on Implementing the
// Pareto/NBD Model in MATLAB", eq. (2)–(4):
//   L = Γ(r+x) α^r β^s / Γ(r) · { 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 },
//   α >= β: A0 = F(s+1, α, t_x) − F(s+1, α, T),
//   α <  β: A0 = F(r+x, β, t_x) − F(r+x, β, T),
//   F(b, m, t) = 2F1(r+s+x, b; r+s+x+1; |α−β|/(m+t)) / (m+t)^(r+s+x),
// with Boost.Math's hypergeometric_pFq for 2F1 (Boost 1.74 has no separate
// 2F1). P(alive) = 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A0) (the note's
// eq. 5), E[Y(t) | x, t_x, T] its eq. (6) (the limit for s = 1).
//
// P(X(t) = 0 | x, t_x, T), no purchase in (T, T+t]: dead already, or alive
// (λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T) a posteriori, independent) and the
// lifetime ends before the first purchase or the first purchase comes after t:
//   1 − P(alive) · ∫_0^t (r+x)/(α+T+u) · ((α+T)/(α+T+u))^(r+x) · ((β+T)/(β+T+u))^s du,
// the integrand being the density of the first purchase at T+u while alive
// (E[λ e^(−λu)] E[e^(−μu)]); integrated by Gauss–Kronrod.
//
// Input contract and errors as in bgnbd.hpp (std::invalid_argument naming the
// row; std::domain_error for no customers; results finite or an exception).
#pragma once

#include "core/common/span.hpp"
#include "core/segments/optimize.hpp"

namespace salesflow::segments {

struct ParetoNbdParams {
    double r, alpha, s, beta;
};

struct ParetoNbdFit {
    ParetoNbdParams params;
    double loglik;
    int iterations;
    bool converged;
};

ParetoNbdFit fit_pareto_nbd(span<double> frequency, span<double> recency, span<double> T,
                            const FitOptions& options = {});

double pareto_nbd_loglik(const ParetoNbdParams& params, span<double> x, span<double> t_x, span<double> T);

double pareto_nbd_p_alive(const ParetoNbdParams& params, double x, double t_x, double T);

// E[Y(t) | x, t_x, T]: expected purchases in (T, T + t].
double pareto_nbd_expected_conditional(const ParetoNbdParams& params, double t, double x, double t_x, double T);

// P(no purchase in (T, T + t] | x, t_x, T).
double pareto_nbd_p_no_purchase(const ParetoNbdParams& params, double t, double x, double t_x, double T);

}  // namespace salesflow::segments

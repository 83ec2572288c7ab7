// The MBG/NBD model (Batislam, Denizel & Filiztekin 2007, "Empirical
// validation and comparison of models for customer base analysis",
// International Journal of Research in Marketing 24(3), 201–209). As BG/NBD,
// except that a customer may also drop out right after the first purchase,
// so one-time buyers can be inactive (under BG/NBD their P(alive) is 1).
// While alive a customer buys at rate λ ~ Gamma(r, α); at time 0 and after
// each repeat purchase they drop out with probability p ~ Beta(a, b).
//
//   L(x, t_x, T) = Γ(r+x) α^r / Γ(r) · B(a, b+x) / B(a, b)
//                  · [ (b+x)/(a+b+x) (α+T)^−(r+x) + a/(a+b+x) (α+t_x)^−(r+x) ]
// (their eq. for L, with B(a, b+x+1) and B(a+1, b+x) written through
// B(a, b+x)); P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x));
// E[Y(t) | x, t_x, T] = P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
//   2F1(r+x, b+x+1; a+b+x; t/(α+T+t))] — the BG/NBD expectation of a customer
// alive at T with p ~ Beta(a, b+x+1).
//
// P(X(t) = 0 | history), for this model and for BG/NBD: a dead customer never
// buys; an alive one (λ ~ Gamma(r+x, α+T) a posteriori) buys nothing in t
// with probability E[e^(−λt)] = ((α+T)/(α+T+t))^(r+x), since dropout can only
// follow a purchase:
//   P0 = 1 − P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).
//
// Input contract and errors as in bgnbd.hpp.
#pragma once

#include "core/common/span.hpp"
#include "core/segments/bgnbd.hpp"
#include "core/segments/optimize.hpp"

namespace salesflow::segments {

// Same parameters as BG/NBD (r, α, a, b), different story.
using MbgNbdParams = BgNbdParams;
using MbgNbdFit = BgNbdFit;

MbgNbdFit fit_mbgnbd(span<double> frequency, span<double> recency, span<double> T, const FitOptions& options = {});

double mbgnbd_loglik(const MbgNbdParams& params, span<double> x, span<double> t_x, span<double> T);

// P(alive at T | x, t_x, T); below 1 also for x = 0.
double mbgnbd_p_alive(const MbgNbdParams& params, double x, double t_x, double T);

double mbgnbd_expected_conditional(const MbgNbdParams& params, double t, double x, double t_x, double T);

// P(no purchase in (T, T + t] | x, t_x, T).
double mbgnbd_p_no_purchase(const MbgNbdParams& params, double t, double x, double t_x, double T);

// P(no purchase in (T, T + t]) for BG/NBD (same construction, BG/NBD's P(alive)).
double bgnbd_p_no_purchase(const BgNbdParams& params, double t, double x, double t_x, double T);

}  // namespace salesflow::segments

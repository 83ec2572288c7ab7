// Customer lifetime value over a finite horizon from BG/NBD purchase
// expectations and Gamma-Gamma spend, discounted per step — the discrete
// version of the DERT/CLV construction of Fader, Hardie & Lee (2005, JMR
// "RFM and CLV", where CLV = expected margin × discounted expected transactions,
// spend and purchasing being independent under the Gamma-Gamma assumption).
//
//   CLV = Σ_{i=1..n} ( E[Y(t_i) | x, t_x, T] − E[Y(t_{i−1}) | x, t_x, T] )
//                    × E[M | x, m̄] / (1 + d)^i,
//   t_i = min(i · step, horizon), t_0 = 0, n = ceil(horizon / step),
//
// with E[Y] from BG/NBD eq. 10 and E[M] the Gamma-Gamma conditional mean (the
// population mean when x = 0). Time is in the caller's unit (the one T is in):
// for weekly T and monthly cash flows, step = 365.25/12/7 weeks and d the
// monthly rate. The last step may be partial and is discounted as a full one.
// With d = 0 the sum telescopes to E[Y(horizon)] × E[M]. The result is revenue;
// multiply by a margin outside if needed.
//
// Errors: std::invalid_argument for horizon < 0, step <= 0, d < 0, any NaN/Inf,
// or more than 100,000 steps; the BG/NBD and Gamma-Gamma errors pass through
// (e.g. std::domain_error for x = 0 with q <= 1).
#pragma once

#include "core/segments/bgnbd.hpp"
#include "core/segments/customer_model.hpp"
#include "core/segments/gamma_gamma.hpp"

namespace salesflow::segments {

double clv(const BgNbdParams& bgnbd, const GammaGammaParams& gamma_gamma, double x, double t_x, double T,
           double avg_value, double horizon, double step, double discount_rate_per_step);

// The same sum with any customer-base model's E[Y(t) | x, t_x, T] and a given
// expected order value (e.g. the Gamma-Gamma conditional mean).
double clv(const CustomerModelParams& model, double order_value, double x, double t_x, double T, double horizon,
           double step, double discount_rate_per_step);

}  // namespace salesflow::segments

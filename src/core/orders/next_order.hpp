// When will a customer order next, and how sure are we? A renewal model of
// inter-order gaps with empirical-Bayes shrinkage toward the tenant.
//
// Model. The gaps G (days between distinct purchase days) of one customer are
// log-normal: log G ~ N(mu_c, sigma_c^2). Across a tenant's customers
// (mu_c, sigma_c^2) follow the conjugate normal–inverse-chi-squared prior
// NIX(mu0, kappa0; sigma0^2, nu0) — Gelman et al., "Bayesian Data Analysis"
// (3rd ed.) §3.3, and Murphy (2007), "Conjugate Bayesian analysis of the
// Gaussian distribution", §5 (eqs. 129–171). A customer with n gaps updates it
// to NIX(mu_n, kappa_n; sigma_n^2, nu_n) and the next log-gap's posterior
// predictive is a Student t with nu_n degrees of freedom, location mu_n and
// scale^2 = sigma_n^2 (1 + 1/kappa_n) (Murphy eq. 110 / BDA eq. 3.8 ff.): the
// gap is "log-t". Using the predictive instead of plugging in point estimates
// is what keeps probabilities calibrated for customers with two or three
// orders. Customers with one purchase get the prior predictive alone.
//
// Empirical Bayes. pooled_gap_prior() picks (mu0, sigma0^2, kappa0, nu0) by
// type-II maximum likelihood: it maximises the sum over customers of the
// closed-form marginal likelihood of their log-gaps (Murphy eq. 171) by
// coordinate-wise golden-section search. kappa0 ("strength") is the number of
// pseudo-gaps the tenant's mean is worth; nu0 ("dof") the same for the
// variance. Tenants whose customers are alike get large values (strong
// shrinkage), heterogeneous tenants small ones.
//
// Discreteness. Purchases are whole days, so the integer gap is
// K = max(1, round(G)) and P(K > k) = S(k + 1/2) for k >= 1 (continuity
// correction; S = survival of G). With s = as_of - last purchase day and no
// order on days last+1..as_of,
//   P(order on days as_of+a..as_of+b) = p_alive * (S(s+a-1/2) - S(s+b+1/2)) / S(s+1/2)
// which is the p_alive (F(s+b) - F(s+a)) / (1 - F(s)) on whole days.
// S is computed as an upper-tail probability (never as 1 - F), so overdue
// customers keep a finite, accurate ratio; if S(s) underflows the Student-t
// power-law tail S(z) ~ C z^-nu gives the ratio. p_alive (the probability the
// customer has not churned, e.g. BG/NBD P(alive); 1 when unknown) multiplies
// the timing probability: a churned customer never orders.
//
// Day numbers are any integer day count (e.g. days since 2000-01-01). All
// purchase days must be <= as_of_day; the horizon and the window are days
// after as_of_day (as_of_day itself is history).
#pragma once

#include "core/common/span.hpp"

#include <vector>

namespace salesflow::orders {

// Tenant-pooled prior of a customer's log-gap mean and variance.
//   mu, sigma2: prior location of a customer's log-gap mean, and prior scale
//               of a customer's log-gap variance (log-days, log-days^2).
//   strength:   kappa0, pseudo-count of gaps behind mu (> 0).
//   dof:        nu0, pseudo-count behind sigma2 (> 0); <= 0 means "same as
//               strength", so GapPrior{mu, sigma2, n0} is the one-pseudo-count
//               conjugate prior.
struct GapPrior {
    double mu, sigma2;
    double strength;
    double dof = 0.0;
};

// Empirical-Bayes prior from every customer's purchase days (each list is
// sorted and de-duplicated internally; customers with < 2 distinct days carry
// no gap and are skipped). Throws std::domain_error when no customer has two
// distinct purchase days.
GapPrior pooled_gap_prior(const std::vector<std::vector<int>>& purchase_days_per_customer);

// Sum over customers of the log marginal likelihood of their log-gaps under
// `prior` (Murphy eq. 171): the objective pooled_gap_prior maximises. Exposed
// for tests and diagnostics.
double gap_prior_loglik(const GapPrior& prior,
                        const std::vector<std::vector<int>>& purchase_days_per_customer);

struct NextOrder {
    double expected_gap_days;  // exp(mu_n + E[sigma^2]/2): the log-normal mean at the
                               // posterior point estimates (the log-t predictive has no mean)
    int predicted_day;         // conditional median of the next purchase day given none
                               // through as_of_day; >= as_of_day + 1
    int window_start, window_end;  // conditional window_lo_q / window_hi_q quantiles (days, inclusive)
    double p_in_window;        // p_alive * P(order on a day in [window_start, window_end])
    double p_within_horizon;   // p_alive * P(order on a day in [as_of+1, as_of+horizon])
    double elapsed_quantile;   // P(K <= s): how overdue (0 = just ordered, -> 1 = long overdue)
};

// Throws std::invalid_argument: no purchase days; days not strictly
// increasing; a purchase after as_of_day; horizon_days < 1; p_alive outside
// [0, 1] or NaN; not 0 < window_lo_q < window_hi_q < 1; prior not finite or
// sigma2 / strength <= 0.
NextOrder predict_next_order(span<int> purchase_days, int as_of_day, const GapPrior& prior,
                             double p_alive, int horizon_days, double window_lo_q = 0.25,
                             double window_hi_q = 0.75);

}  // namespace salesflow::orders

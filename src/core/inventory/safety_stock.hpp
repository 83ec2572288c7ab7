// Safety stock for a service-level target: demand over the protection interval
// and the normal and discrete (negative binomial / Poisson) reorder points.
//
// Formulas: Silver, Pyke & Thomas, "Inventory and Production Management in
// Supply Chains", 4th ed. (2017), "Individual items with probabilistic
// demand" — lead-time demand with a random lead time,
// sigma = sqrt(E[L] sigma_d^2 + d^2 sigma_L^2); safety factor k for a cycle service level P1,
// k = Phi^-1(P1); for a fill rate P2 the expected shortage per replenishment
// cycle sigma G(k) = (1 - P2) Q with the standard normal loss function
// G(k) = phi(k) - k (1 - Phi(k)); for an (R, S) system the protection interval
// is R + L. Discrete demand: Axsäter, "Inventory Control", 3rd ed. (2015), §5.3
// (compound/negative binomial lead-time demand; smallest reorder point meeting
// the target) with the negative binomial fitted by moments (Poisson when the
// variance does not exceed the mean, where the negative binomial does not
// exist). Every distribution is Boost.Math under detail::MathPolicy.
#pragma once

#include <string>

namespace salesflow::inventory {

enum class ServiceType {
    cycle,      // P1: probability of no stockout in a replenishment cycle
    fill_rate,  // P2: share of demand served from stock on hand
};

// Demand over the protection interval (lead time + review period).
struct DemandOverLeadTime {
    double mean;
    double sd;
};

// d: forecast demand per day; sigma_d: sd of the forecast error per day (from
// the forecast model's residuals, so trend and seasonality are not counted as
// noise); L, sigma_L: lead time mean and sd in days; review_period: R days
// (0 = continuous review).
//   mean = d (L + R),  sd = sqrt((L + R) sigma_d^2 + d^2 sigma_L^2)
// The review period is deterministic, so sigma_L only multiplies d^2 once.
// Every argument must be finite and >= 0 (std::invalid_argument). L + R = 0
// (immediate delivery, continuous review) gives {0, 0}.
DemandOverLeadTime lead_time_demand(double d, double sigma_d, double L, double sigma_L,
                                    double review_period = 0.0);

// k = Phi^-1(service) for 0 < service < 1; negative below 0.5.
double normal_safety_factor_cycle(double service);

// z * sd. Negative for service < 0.5 (the pure formula; compute_policy floors
// safety stock at 0). sd = 0 (no uncertainty) gives 0.
double normal_safety_stock_cycle(double service, const DemandOverLeadTime& ltd);

// G(z) = phi(z) - z (1 - Phi(z)) = E[(Z - z)+], Z standard normal. > 0 for
// every finite z; G(z) -> -z as z -> -inf and -> 0 as z -> +inf.
double standard_normal_loss(double z);

// The k solving G(k) = (1 - fill_rate) Q / sd (Brent/TOMS 748 on the monotone
// G). k is negative when Q is large against sd: the lot alone then meets the
// fill rate. Throws std::invalid_argument unless 0 < fill_rate < 1, Q > 0,
// sd > 0.
double normal_safety_factor_fill_rate(double fill_rate, const DemandOverLeadTime& ltd, double order_quantity);

// k * sd with k from normal_safety_factor_fill_rate. sd = 0 (demand over the
// protection interval known exactly) gives 0: stocking the mean meets any
// target. Q must be > 0 (a fill rate is a share of the lot).
double normal_safety_stock_fill_rate(double fill_rate, const DemandOverLeadTime& ltd, double order_quantity);

// Integer reorder point s >= 0 for lead-time demand D modelled as
//   negative binomial with the given mean and variance when sd^2 > mean,
//   Poisson(mean) when sd^2 <= mean (the model cannot be less variable),
//   0 ("zero") when mean = 0 (nothing to protect; the sd is ignored).
// cycle: smallest s with P(D <= s) >= service.
// fill_rate: smallest s with E[(D - s)+] <= (1 - service) Q (expected units
// short per replenishment cycle; Q > 0 required).
// safety_stock = s - mean, which may be negative (e.g. mean 2.3 -> s = 2).
// A lead-time demand mean or sd above 1e12 units, or a model Boost's series
// cannot evaluate, throws std::range_error (such an item is not intermittent:
// use the normal model).
struct DiscretePolicy {
    double reorder_point;
    double safety_stock;
    std::string distribution;  // "negative_binomial", "poisson" or "zero"
};
DiscretePolicy discrete_reorder_point(ServiceType type, double service, const DemandOverLeadTime& ltd,
                                      double order_quantity);

// The moment-fitted model of discrete_reorder_point evaluated at an integer s >= 0:
// P(D <= s) and E[(D - s)+] (loss via the identity x p_r(x) = mean p_{r+1}(x-1)).
double discrete_demand_cdf(const DemandOverLeadTime& ltd, double s);
double discrete_expected_shortage(const DemandOverLeadTime& ltd, double s);

// Compound binomial demand (intermittent items, occurrence probability known):
// in each period demand occurs with probability p, independently, and an
// occurrence buys a size Z >= 1 of mean size_mean and variance size_variance
// (Croston 1972; Teunter, Syntetos & Babai, "Determining order-up-to levels
// under periodic review for compound binomial (intermittent) demand", EJOR
// 203(3), 2010, 619-624). The demand over a protection interval of H periods
// is D = Z_1 + ... + Z_N with N ~ Binomial(H, p); unlike the negative binomial
// of the same mean and variance it keeps the probability of no demand at
// (1 - p)^H, which decides the cycle service of slow items. Z - 1 is negative
// binomial when size_variance > size_mean - 1, else Poisson(size_mean - 1)
// (as discrete_reorder_point; a size of exactly 1 when size_mean = 1): a sum
// of n sizes is then n + NB(n r, q) (or n + Poisson(n (size_mean - 1))), so
// P(D <= s) and E[(D - s)+] are finite sums over n. A random H of mean
// interval_mean and sd interval_sd is taken as {m - a, m, m + a} with a =
// ceil(sd) and weights w, 1 - 2w, w (w = sd^2 / 2a^2; exact for a uniform
// lead time over three consecutive values), a point between integers split
// between its neighbours in proportion (mean kept); when m < a a two-point
// {0, (m^2 + sd^2) / m} with the same mean and sd.
struct CompoundDemand {
    double probability;    // p per period, in (0, 1]
    double size_mean;      // >= 1
    double size_variance;  // >= 0
};
// Same contract as discrete_reorder_point with the compound model;
// distribution "compound_binomial". Bad arguments throw
// std::invalid_argument; an interval over 100000 periods or a sum the
// functions cannot evaluate throws std::range_error.
DiscretePolicy compound_reorder_point(ServiceType type, double service, const CompoundDemand& demand,
                                      double interval_mean, double interval_sd, double order_quantity);
double compound_demand_cdf(const CompoundDemand& demand, double interval_mean, double interval_sd, double s);
double compound_expected_shortage(const CompoundDemand& demand, double interval_mean, double interval_sd, double s);

}  // namespace salesflow::inventory

// The replenishment policy of one product: safety stock, reorder point,
// order-up-to level, EOQ and the recommended purchase quantity, plus the
// lead-time statistics of its received purchase orders.
//
// A periodic-review (R, s, S) system in the sense of Silver, Pyke & Thomas,
// "Inventory and Production Management in Supply Chains", 4th ed. (2017),
// ch. "Individual items with probabilistic demand": every review (the batch
// run) compares the inventory position with s and orders up to S. s protects
// the interval L + R (R = 0: continuous review) and S - s is the Wilson EOQ,
// the book's (R, s, S) approximation (s set as for (s, Q) over R + L, S = s +
// Q). Without costs there is no EOQ and S = s: the (R, S) order-up-to system,
// which the simulation test shows achieves its target. For a fill-rate target
// the Q of the expected-shortage equation sigma G(k) = (1 - P2) Q is the
// expected order size max(EOQ, R-day demand, 1-day demand): what one order
// replenishes on average (an (R, S) order replaces R days of demand; the
// batch runs at most daily, so never less than a day). The undershoot of s at
// a review is ignored, as in the book. Intermittent items use the discrete
// (negative binomial / Poisson) reorder point of safety_stock.hpp, or the
// compound binomial one when the demand probability is given.
//
// Deliberate departure from the first sketch (S = s + max(EOQ, R-day
// demand)): s already covers the R-day demand of the protection interval, so
// adding it again to S doubled the average stock on smooth demand (11.4 vs 6.6
// days in the weekly-review simulation) for a 99 % cycle service at a 95 %
// target.
#pragma once

#include "core/common/span.hpp"
#include "core/inventory/safety_stock.hpp"

#include <string>

namespace salesflow::inventory {

// Days in the year that turns daily demand into the EOQ's annual demand.
inline constexpr double kDaysPerYear = 365.0;

// Everything the batch knows about one product. Units: demand in units per
// day, times in days, costs in currency; holding_rate is per year as a share
// of unit_cost (0.25 = 25 %/year). "Missing" settings are the binding's job
// (tenant defaults); the core reads 0 as: review_period 0 = continuous review,
// lead_time_sd 0 = fixed lead time, moq 0 = no minimum, pack_size 0 = no
// rounding, ordering_cost / unit_cost / holding_rate 0 = no EOQ (S = s).
// The daily batch is a review period of 1 day: pass review_period_days >= 1
// for it (0 protects the lead time alone, for a truly continuous review). NaN or Inf anywhere, negative values other than on_hand, or a
// service level outside (0, 1) throw std::invalid_argument.
struct PolicyInput {
    double daily_demand_mean;  // forecast demand per day
    double daily_demand_sd;    // sd of the forecast error per day
    bool intermittent;         // discrete lead-time demand model instead of the normal
    double lead_time_days;
    double lead_time_sd_days;
    double review_period_days;
    double on_hand;     // may be negative (stock records that went below zero): taken as is
    double on_order;    // open purchase orders not yet received
    double backorders;  // demand taken but not yet shipped (do not also count it in a negative on_hand)
    double moq;
    double pack_size;
    double ordering_cost;
    double unit_cost;
    double holding_rate;
    ServiceType service_type;
    double service_level;
    // Added: the probability that a day has demand, in [0, 1]; 0 = not
    // known. When > 0 an intermittent item uses the compound binomial model
    // of compound_reorder_point (safety_stock.hpp) with this probability, the
    // size mean daily_demand_mean / p (p lowered to the mean if that is below
    // 1 unit) and the size variance that gives the per-day variance
    // daily_demand_sd^2 = p Var(Z) + p (1 - p) E[Z]^2 (floored at 0).
    double demand_probability;
};

struct Policy {
    double safety_stock;     // >= 0 (a negative formula value is floored: see compute_policy)
    double reorder_point;    // s = mean demand over L + R + safety stock
    double order_up_to;      // S = s + EOQ
    double eoq;              // Wilson EOQ, 0 when costs are missing
    double recommended_qty;  // rounded to MOQ / pack, 0 when the position is above s
    std::string method;      // see compute_policy
    // Added for the binding:
    DemandOverLeadTime lead_time_demand;  // over the protection interval L + R
    double expected_order_qty;            // Q of the fill-rate equation: max(EOQ, R-day demand, 1-day demand)
    double inventory_position;            // on_hand + on_order - backorders
};

// method is "<model>_<service>" — normal_cycle, normal_fill_rate,
// poisson_cycle, poisson_fill_rate, negative_binomial_cycle,
// negative_binomial_fill_rate, compound_binomial_cycle,
// compound_binomial_fill_rate (intermittent with demand_probability > 0) — or
//   "zero_demand": forecast demand 0: safety stock, s, S and the EOQ are 0
//     (whatever the error sd: a zero forecast means no stock is kept); a
//     negative position is still bought back to 0 (rounded to MOQ / pack).
//   "immediate_supply": L + R = 0: nothing to protect, safety stock 0, s = 0,
//     S = EOQ; with no EOQ nothing is bought ahead, only a negative position
//     is bought back (a lead-time sd given with a mean of 0 is inconsistent
//     and ignored).
// Safety stock is max(0, formula): a negative value (service < 0.5, or an
// order size large enough to meet the fill rate alone, or a discrete s below the mean)
// is not kept, s is then the mean (conservative; integer positions give the
// same decisions for the discrete case when s = floor(mean)).
// recommended_qty = round_order_quantity(S - position, moq, pack_size) when
// position <= s, else 0: MOQ larger than the need buys the MOQ.
Policy compute_policy(const PolicyInput& in);

// The compound demand per day compute_policy uses for an intermittent item
// with demand_probability > 0 (see PolicyInput). std::invalid_argument
// unless daily_demand_mean > 0 and demand_probability in (0, 1].
CompoundDemand compound_demand(const PolicyInput& in);

// Mean, sample sd (n - 1) and count of observed lead times (received date -
// order date, in days). One observation gives sd 0 (the binding may prefer the
// tenant default sd then). Empty, negative or non-finite input throws
// std::invalid_argument.
struct LeadTimeStats {
    double mean;
    double sd;
    int n;
};
LeadTimeStats lead_time_stats(span<double> lead_times_days);

}  // namespace salesflow::inventory

// Replay of a demand history through a periodic-review (R, s, S) policy with
// backorders: the achieved cycle service level, fill rate and average stock.
//
// The measures are those of Silver, Pyke & Thomas, "Inventory and Production
// Management in Supply Chains", 4th ed. (2017): cycle service level P1 = share
// of replenishment cycles without a stockout, fill rate P2 = share of demand
// served from stock on hand. With s = S it is the (R, S) order-up-to system,
// whose cycle runs from one order's arrival to the next and whose protection
// interval is R + L; with s < S it is the (R, s, S) system of compute_policy.
//
// Timeline of period t (0-based): (1) orders due at t arrive at its start;
// (2) demand[t] is served from stock on hand, the rest backordered; (3) at the
// end of every R-th period (t = R-1, 2R-1, ...) the position (net stock + on
// order) is reviewed and, if <= s, S - position is ordered with the lead time
// of that review, arriving at the start of period t + L + 1 (so L = 0 is
// available for the next period and L full periods of demand pass first).
// With s = S (the (R, S) system) every review places an order, of
// max(0, S - position): a zero quantity when nothing was sold or S has fallen
// below the position (only possible when the levels change between reviews),
// so that every review opens a cycle, as in the textbook (R, S) system.
// Cycle j of the orders placed is measured when order j + 1 arrives inside
// the horizon: a stockout if net stock at the end of the period before that
// arrival is < 0 (net stock only falls between arrivals, so this is "any
// stockout in the cycle"). Orders must not cross (arrivals strictly
// increase), otherwise the cycle is undefined: lead times whose spread is
// below R guarantee it.
#pragma once

#include "core/common/span.hpp"

#include <functional>

namespace salesflow::inventory {

struct ReviewSimulation {
    int periods = 0;
    int orders = 0;                    // reviews with position <= s, every review when s = S (zero quantities included)
    int cycles = 0;                    // measured replenishment cycles
    int cycles_without_stockout = 0;
    double demand = 0.0;               // units demanded
    double demand_short = 0.0;         // units not served from stock on hand when demanded
    double on_hand_sum = 0.0;          // sum over periods of max(net stock, 0) at period end

    double cycle_service() const;      // cycles_without_stockout / cycles (throws std::domain_error if no cycle)
    double fill_rate() const;          // 1 - demand_short / demand (throws std::domain_error if no demand)
    double average_on_hand() const;    // on_hand_sum / periods
};

// demand: per period, finite >= 0. lead_times[k]: whole periods of the order
// of review k (>= 0; at least one per review, i.e. demand.size() / R).
// Starts with net stock initial_net_stock and nothing on order. Throws
// std::invalid_argument on bad input or crossing orders.
ReviewSimulation simulate_review_policy(span<double> demand, double reorder_point, double order_up_to,
                                        int review_period, span<int> lead_times, double initial_net_stock);

// The levels one review acts on.
struct ReviewLevels {
    double reorder_point;  // s
    double order_up_to;    // S >= s
};

// Decides the levels from the demand observed so far: history = demand[0 ..
// t] at the review that ends period t (the batch re-running on the data up to
// that day). Called once more before the replay with demand[0 .. warm_up - 1]
// for the starting stock. It may keep state between calls: the histories
// grow by whole review periods.
using ReviewRule = std::function<ReviewLevels(span<double> history)>;

// The replay of simulate_review_policy with levels re-decided at every
// review: demand[0 .. warm_up - 1] is history only (nothing is simulated);
// the periods demand[warm_up ..] are replayed with the timeline above
// (reviews at the end of replayed periods R-1, 2R-1, ...; lead_times[k] for
// the k-th review of the replay), starting with net stock = the order-up-to
// level the rule gives on the warm-up history and nothing on order. The
// measures cover the replayed periods only. Throws std::invalid_argument on
// bad input (also warm_up > demand.size(), a rule returning non-finite levels
// or s > S) or crossing orders; exceptions of the rule propagate.
ReviewSimulation simulate_adaptive_policy(span<double> demand, std::size_t warm_up, int review_period,
                                          span<int> lead_times, const ReviewRule& rule);

}  // namespace salesflow::inventory

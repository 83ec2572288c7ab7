// Replay of demand through an (R, s, S) policy with backorders, measuring the
// cycle service level and fill rate of Silver, Pyke & Thomas 4th ed. See
// simulation.hpp for the timeline.
#include "core/inventory/simulation.hpp"

#include "core/common/cancel.hpp"
#include "core/inventory/math_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace salesflow::inventory {

double ReviewSimulation::cycle_service() const {
    if (cycles == 0) throw std::domain_error("no replenishment cycle was completed");
    return static_cast<double>(cycles_without_stockout) / cycles;
}

double ReviewSimulation::fill_rate() const {
    if (!(demand > 0.0)) throw std::domain_error("no demand was simulated");
    return 1.0 - demand_short / demand;
}

double ReviewSimulation::average_on_hand() const {
    if (periods == 0) throw std::domain_error("no period was simulated");
    return on_hand_sum / periods;
}

namespace {

// The replay of demand[first ..] with the levels of levels_at(t) at the
// review ending period t (absolute index).
template <typename Levels>
ReviewSimulation replay(span<double> demand, std::size_t first, int review_period, span<int> lead_times,
                        double initial_net_stock, Levels&& levels_at) {
    detail::require_finite(initial_net_stock, "initial net stock");
    if (review_period < 1) throw std::invalid_argument("review period must be at least 1 period");
    if (demand.size() > 100000000u) throw std::invalid_argument("demand history is too long");
    if (first > demand.size()) throw std::invalid_argument("warm-up is longer than the demand history");
    for (double x : demand) detail::require_non_negative(x, "demand");
    const int T = static_cast<int>(demand.size() - first);
    if (lead_times.size() < static_cast<std::size_t>(T / review_period))
        throw std::invalid_argument("one lead time per review is required");
    for (int l : lead_times)
        if (l < 0) throw std::invalid_argument("lead times must be >= 0");

    ReviewSimulation r;
    r.periods = T;
    std::vector<double> arriving(static_cast<std::size_t>(T) + 1, 0.0);
    std::vector<double> end_net(static_cast<std::size_t>(T), 0.0);
    std::vector<long long> arrivals;  // arrival period of each order placed (may lie beyond the horizon)
    double net = initial_net_stock, on_order = 0.0;
    int review = 0;
    for (int t = 0; t < T; ++t) {
        if ((t & 4095) == 0) check_cancel();
        net += arriving[t];
        on_order -= arriving[t];
        const double d = demand[first + static_cast<std::size_t>(t)];
        r.demand += d;
        r.demand_short += std::max(0.0, d - std::max(net, 0.0));
        net -= d;
        end_net[t] = net;
        r.on_hand_sum += std::max(net, 0.0);
        if (t % review_period != review_period - 1) continue;
        const ReviewLevels lv = levels_at(first + static_cast<std::size_t>(t));
        const double position = net + on_order;
        const int lead = lead_times[review++];
        // (R, S) (s = S): every review orders, a position above S (S fell
        // since the last review) a zero quantity; (R, s, S): only at <= s.
        if (position > lv.reorder_point && lv.reorder_point < lv.order_up_to) continue;
        const long long arrival = static_cast<long long>(t) + lead + 1;
        if (!arrivals.empty() && arrival <= arrivals.back())
            throw std::invalid_argument("lead times let orders cross: keep their spread below the review period");
        arrivals.push_back(arrival);
        ++r.orders;
        const double q = std::max(0.0, lv.order_up_to - position);
        on_order += q;
        if (arrival < T) arriving[arrival] += q;
    }
    for (std::size_t j = 0; j + 1 < arrivals.size(); ++j) {
        const long long next = arrivals[j + 1];
        if (next > T) break;
        ++r.cycles;
        if (end_net[next - 1] >= 0.0) ++r.cycles_without_stockout;
    }
    return r;
}

ReviewLevels checked(const ReviewLevels& lv) {
    detail::require_finite(lv.reorder_point, "reorder point");
    detail::require_finite(lv.order_up_to, "order-up-to level");
    if (lv.reorder_point > lv.order_up_to)
        throw std::invalid_argument("reorder point must not exceed the order-up-to level");
    return lv;
}

}  // namespace

ReviewSimulation simulate_review_policy(span<double> demand, double reorder_point, double order_up_to,
                                        int review_period, span<int> lead_times, double initial_net_stock) {
    const ReviewLevels lv = checked({reorder_point, order_up_to});
    return replay(demand, 0, review_period, lead_times, initial_net_stock, [&](std::size_t) { return lv; });
}

ReviewSimulation simulate_adaptive_policy(span<double> demand, std::size_t warm_up, int review_period,
                                          span<int> lead_times, const ReviewRule& rule) {
    if (!rule) throw std::invalid_argument("a review rule is required");
    if (warm_up > demand.size()) throw std::invalid_argument("warm-up is longer than the demand history");
    if (review_period < 1) throw std::invalid_argument("review period must be at least 1 period");
    const ReviewLevels start = checked(rule(span<double>(demand.data(), warm_up)));
    return replay(demand, warm_up, review_period, lead_times, start.order_up_to,
                  [&](std::size_t t) { return checked(rule(span<double>(demand.data(), t + 1))); });
}

}  // namespace salesflow::inventory

// One product's (R, s, S) replenishment policy (Silver, Pyke & Thomas 4th ed.,
// probabilistic-demand chapter; S - s = Wilson EOQ) and lead-time statistics of
// received purchase orders. See policy.hpp for the decisions.
#include "core/inventory/policy.hpp"

#include "core/inventory/lot_size.hpp"
#include "core/inventory/math_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::inventory {
namespace {

void check(const PolicyInput& in) {
    detail::require_non_negative(in.daily_demand_mean, "daily demand");
    detail::require_non_negative(in.daily_demand_sd, "daily demand sd");
    detail::require_non_negative(in.lead_time_days, "lead time");
    detail::require_non_negative(in.lead_time_sd_days, "lead time sd");
    detail::require_non_negative(in.review_period_days, "review period");
    detail::require_finite(in.on_hand, "on hand");
    detail::require_non_negative(in.on_order, "on order");
    detail::require_non_negative(in.backorders, "backorders");
    detail::require_non_negative(in.moq, "minimum order quantity");
    detail::require_non_negative(in.pack_size, "pack size");
    detail::require_non_negative(in.ordering_cost, "ordering cost");
    detail::require_non_negative(in.unit_cost, "unit cost");
    detail::require_non_negative(in.holding_rate, "holding rate");
    if (in.service_type != ServiceType::cycle && in.service_type != ServiceType::fill_rate)
        throw std::invalid_argument("service type must be cycle or fill_rate");
    detail::require_non_negative(in.demand_probability, "demand probability");
    if (in.demand_probability > 1.0) throw std::invalid_argument("demand probability must be in [0, 1]");
    detail::require_service(in.service_level, in.service_type == ServiceType::cycle ? "cycle service level" : "fill rate");
}

}  // namespace

CompoundDemand compound_demand(const PolicyInput& in) {
    const double d = in.daily_demand_mean;
    if (!(d > 0.0) || !(in.demand_probability > 0.0) || in.demand_probability > 1.0)
        throw std::invalid_argument("compound demand needs a demand mean > 0 and a probability in (0, 1]");
    const double p = std::min(in.demand_probability, d);  // sizes are at least 1 unit
    const double size_mean = d / p;
    const double variance = in.daily_demand_sd * in.daily_demand_sd;
    const double size_variance = std::max(0.0, (variance - p * (1.0 - p) * size_mean * size_mean) / p);
    return {p, detail::finite_result(size_mean, "demand size"), detail::finite_result(size_variance, "demand size variance")};
}

namespace {

const char* service_suffix(ServiceType t) { return t == ServiceType::cycle ? "_cycle" : "_fill_rate"; }

}  // namespace

Policy compute_policy(const PolicyInput& in) {
    check(in);
    Policy out{};
    out.lead_time_demand = lead_time_demand(in.daily_demand_mean, in.daily_demand_sd, in.lead_time_days,
                                            in.lead_time_sd_days, in.review_period_days);
    out.inventory_position =
        detail::finite_result(in.on_hand + in.on_order - in.backorders, "inventory position");

    const double d = in.daily_demand_mean;
    const double holding = in.holding_rate * in.unit_cost;
    out.eoq = holding > 0.0 ? eoq(kDaysPerYear * d, in.ordering_cost, holding) : 0.0;
    out.expected_order_qty =
        detail::finite_result(std::max({out.eoq, d * in.review_period_days, d}), "expected order quantity");

    const DemandOverLeadTime& ltd = out.lead_time_demand;
    double reorder_point = 0.0;
    if (d == 0.0) {
        out.method = "zero_demand";
    } else if (in.lead_time_days + in.review_period_days == 0.0) {
        out.method = "immediate_supply";
    } else if (in.intermittent) {
        const DiscretePolicy dp =
            in.demand_probability > 0.0
                ? compound_reorder_point(in.service_type, in.service_level, compound_demand(in),
                                         in.lead_time_days + in.review_period_days, in.lead_time_sd_days,
                                         out.expected_order_qty)
                : discrete_reorder_point(in.service_type, in.service_level, ltd, out.expected_order_qty);
        reorder_point = std::max(dp.reorder_point, ltd.mean);
        out.method = dp.distribution + service_suffix(in.service_type);
    } else {
        double ss = 0.0;
        if (in.service_type == ServiceType::cycle)
            ss = normal_safety_stock_cycle(in.service_level, ltd);
        else
            ss = normal_safety_stock_fill_rate(in.service_level, ltd, out.expected_order_qty);
        reorder_point = ltd.mean + std::max(0.0, ss);
        out.method = std::string("normal") + service_suffix(in.service_type);
    }
    out.reorder_point = detail::finite_result(reorder_point, "reorder point");
    out.safety_stock = std::max(0.0, out.reorder_point - ltd.mean);
    out.order_up_to = detail::finite_result(out.reorder_point + out.eoq, "order-up-to level");
    out.recommended_qty =
        out.inventory_position <= out.reorder_point
            ? round_order_quantity(out.order_up_to - out.inventory_position, in.moq, in.pack_size)
            : 0.0;
    return out;
}

LeadTimeStats lead_time_stats(span<double> lead_times_days) {
    if (lead_times_days.empty()) throw std::invalid_argument("lead times must not be empty");
    if (lead_times_days.size() > 2147483647u) throw std::invalid_argument("too many lead times");
    // Welford's running mean and sum of squared deviations.
    double mean = 0.0, m2 = 0.0;
    int n = 0;
    for (double x : lead_times_days) {
        detail::require_non_negative(x, "lead time");
        ++n;
        const double delta = x - mean;
        mean += delta / n;
        m2 += delta * (x - mean);
    }
    const double sd = n > 1 ? std::sqrt(std::max(0.0, m2) / (n - 1)) : 0.0;
    return {mean, detail::finite_result(sd, "lead time sd"), n};
}

}  // namespace salesflow::inventory

// Inventory bindings: safety stock, EOQ, order rounding, the whole reorder
// policy of one product and the runway of a stock against a forecast.
//
// Short and boring on purpose (STYLE.md): read the arguments, call the core
// (src/core/inventory), build the row. The core validates every number and
// throws std::invalid_argument (SQLSTATE 22023) for NaN, negative or
// out-of-range input.
#include "core/inventory/inventory.hpp"

#include "pg/pg.hpp"

#include <cmath>

namespace {

namespace inv = salesflow::inventory;

inv::ServiceType service_type_arg(const std::string& s) {
    if (s == "cycle" || s == "csl") return inv::ServiceType::cycle;
    if (s == "fill_rate" || s == "fill") return inv::ServiceType::fill_rate;
    throw std::invalid_argument("service_type must be 'cycle' or 'fill_rate', not '" + s + "'");
}

}  // namespace

// safety_stock(demand_mean, demand_sd, lead_time_days, lead_time_sd_days,
//              service_level, service_type, review_period_days, order_quantity)
// The normal model: z * sqrt((L + R) sd^2 + d^2 sd_L^2), floored at 0 only by
// compute_policy, not here (the pure formula, which is negative below 50 %).
SF_FUNCTION(sf_safety_stock) {
    double d = PG_GETARG_FLOAT8(0);
    double sd = PG_GETARG_FLOAT8(1);
    double lt = PG_GETARG_FLOAT8(2);
    double lt_sd = PG_GETARG_FLOAT8(3);
    double service = PG_GETARG_FLOAT8(4);
    std::string type = salesflow::pg::text_arg(fcinfo, 5);
    double review = PG_GETARG_FLOAT8(6);
    bool has_q = !PG_ARGISNULL(7);
    double q = has_q ? PG_GETARG_FLOAT8(7) : 0.0;
    inv::DemandOverLeadTime ltd = inv::lead_time_demand(d, sd, lt, lt_sd, review);
    if (service_type_arg(type) == inv::ServiceType::cycle) {
        return Float8GetDatum(inv::normal_safety_stock_cycle(service, ltd));
    }
    if (!has_q) throw std::invalid_argument("a fill-rate target needs order_quantity (the lot one order replenishes)");
    return Float8GetDatum(inv::normal_safety_stock_fill_rate(service, ltd, q));
}

// eoq(annual_demand, ordering_cost, holding_cost_per_unit_year)
SF_FUNCTION(sf_eoq) {
    return Float8GetDatum(inv::eoq(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2)));
}

// round_order_quantity(needed, moq, pack_size)
SF_FUNCTION(sf_round_order_quantity) {
    return Float8GetDatum(inv::round_order_quantity(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2)));
}

// reorder_policy(...) -> one row: safety_stock, reorder_point, order_up_to,
// eoq, recommended_qty, method, lead_time_demand_mean, lead_time_demand_sd,
// inventory_position, expected_order_qty (argument 16: demand_probability)
SF_FUNCTION(sf_reorder_policy) {
    inv::PolicyInput in{};
    in.daily_demand_mean = PG_GETARG_FLOAT8(0);
    in.daily_demand_sd = PG_GETARG_FLOAT8(1);
    in.intermittent = PG_GETARG_BOOL(2);
    in.lead_time_days = PG_GETARG_FLOAT8(3);
    in.lead_time_sd_days = PG_GETARG_FLOAT8(4);
    in.review_period_days = PG_GETARG_FLOAT8(5);
    in.on_hand = PG_GETARG_FLOAT8(6);
    in.on_order = PG_GETARG_FLOAT8(7);
    in.backorders = PG_GETARG_FLOAT8(8);
    in.moq = PG_GETARG_FLOAT8(9);
    in.pack_size = PG_GETARG_FLOAT8(10);
    in.ordering_cost = PG_GETARG_FLOAT8(11);
    in.unit_cost = PG_GETARG_FLOAT8(12);
    in.holding_rate = PG_GETARG_FLOAT8(13);
    in.service_level = PG_GETARG_FLOAT8(14);
    in.demand_probability = PG_GETARG_FLOAT8(16);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    in.service_type = service_type_arg(salesflow::pg::text_arg(fcinfo, 15));
    inv::Policy p = inv::compute_policy(in);
    salesflow::pg::pg_call([&] {
        Datum values[10] = {Float8GetDatum(p.safety_stock),
                            Float8GetDatum(p.reorder_point),
                            Float8GetDatum(p.order_up_to),
                            Float8GetDatum(p.eoq),
                            Float8GetDatum(p.recommended_qty),
                            CStringGetTextDatum(p.method.c_str()),
                            Float8GetDatum(p.lead_time_demand.mean),
                            Float8GetDatum(p.lead_time_demand.sd),
                            Float8GetDatum(p.inventory_position),
                            Float8GetDatum(p.expected_order_qty)};
        bool nulls[10] = {};
        out.put(values, nulls);
    });
    return (Datum) 0;
}

// runway(stock, daily_forecast float8[]) -> (runway_days, stockout_day, covers_horizon)
SF_FUNCTION(sf_runway) {
    double stock = PG_GETARG_FLOAT8(0);
    salesflow::span<double> f = salesflow::pg::float8_array_arg(fcinfo, 1, "daily_forecast");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    inv::RunwayResult r = inv::runway(stock, f);
    Datum values[3] = {Float8GetDatum(r.runway_days), Int32GetDatum(r.stockout_day.value_or(0)),
                       BoolGetDatum(r.covers_horizon)};
    bool nulls[3] = {false, !r.stockout_day.has_value(), false};
    out.put(values, nulls);
    return (Datum) 0;
}

// Orders bindings: next-order timing, next-order items, association rules.
//
// Arrays in, core call (src/core/orders), rows out. Days travel as PostgreSQL
// dates (days since 2000-01-01), which is what the core's day numbers are.
#include "core/orders/associations.hpp"
#include "core/orders/basket.hpp"
#include "core/orders/metrics.hpp"
#include "core/orders/next_order.hpp"

#include "pg/pg.hpp"

extern "C" {
#include "utils/date.h"
}

#include <vector>

namespace {
namespace od = salesflow::orders;
}

// _gap_prior(customer_ids bigint[], days date[]) -> (mu, sigma2, strength, dof)
// days: distinct purchase days, grouped by customer (ids in runs) and sorted.
SF_FUNCTION(sf_gap_prior) {
    salesflow::span<std::int64_t> ids = salesflow::pg::int8_array_arg(fcinfo, 0, "customer_ids");
    salesflow::span<std::int32_t> days = salesflow::pg::date_array_arg(fcinfo, 1, "days");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (ids.size() != days.size()) throw std::invalid_argument("customer_ids and days must have the same length");
    std::vector<std::vector<int>> per_customer;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i == 0 || ids[i] != ids[i - 1]) per_customer.emplace_back();
        per_customer.back().push_back(days[i]);
    }
    od::GapPrior prior = od::pooled_gap_prior(per_customer);
    Datum values[4] = {Float8GetDatum(prior.mu), Float8GetDatum(prior.sigma2), Float8GetDatum(prior.strength),
                       Float8GetDatum(prior.dof)};
    bool nulls[4] = {false, false, false, false};
    salesflow::pg::pg_call([&] { out.put(values, nulls); });
    return (Datum) 0;
}

// _next_order(days date[], as_of date, mu, sigma2, strength, dof, p_alive, horizon int, lo_q, hi_q)
//   -> (expected_gap_days, predicted_date, window_start, window_end, p_in_window, p_within_horizon, elapsed_quantile)
SF_FUNCTION(sf_next_order) {
    salesflow::span<std::int32_t> days = salesflow::pg::date_array_arg(fcinfo, 0, "days");
    int as_of = PG_GETARG_INT32(1);  // DateADT
    od::GapPrior prior{PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5)};
    double p_alive = PG_GETARG_FLOAT8(6);
    int horizon = PG_GETARG_INT32(7);
    double lo_q = PG_GETARG_FLOAT8(8);
    double hi_q = PG_GETARG_FLOAT8(9);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    std::vector<int> sorted(days.begin(), days.end());
    od::NextOrder n = od::predict_next_order(salesflow::span<int>(sorted.data(), sorted.size()), as_of, prior,
                                             p_alive, horizon, lo_q, hi_q);
    Datum values[7] = {Float8GetDatum(n.expected_gap_days), DateADTGetDatum(n.predicted_day),
                       DateADTGetDatum(n.window_start), DateADTGetDatum(n.window_end),
                       Float8GetDatum(n.p_in_window), Float8GetDatum(n.p_within_horizon),
                       Float8GetDatum(n.elapsed_quantile)};
    bool nulls[7] = {false, false, false, false, false, false, false};
    salesflow::pg::pg_call([&] { out.put(values, nulls); });
    return (Datum) 0;
}

// _predict_basket(days date[], product_ids bigint[], quantities float8[], prices float8[], top_n int)
//   -> setof (product_id, probability, quantity, unit_price): one customer's order lines in, next-order items out
SF_FUNCTION(sf_predict_basket) {
    salesflow::span<std::int32_t> days = salesflow::pg::date_array_arg(fcinfo, 0, "days");
    salesflow::span<std::int64_t> products = salesflow::pg::int8_array_arg(fcinfo, 1, "product_ids");
    salesflow::span<double> quantities = salesflow::pg::float8_array_arg(fcinfo, 2, "quantities");
    salesflow::span<double> prices = salesflow::pg::float8_array_arg(fcinfo, 3, "prices");
    int top_n = PG_GETARG_INT32(4);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (products.size() != days.size() || quantities.size() != days.size() || prices.size() != days.size())
        throw std::invalid_argument("days, product_ids, quantities and prices must have the same length");
    std::vector<od::OrderLine> history;
    history.reserve(days.size());
    for (std::size_t i = 0; i < days.size(); ++i) history.push_back({days[i], products[i], quantities[i], prices[i]});
    od::BasketOptions options;
    options.top_n = top_n;
    std::vector<od::PredictedItem> items =
        od::predict_basket(salesflow::span<od::OrderLine>(history.data(), history.size()), options);
    salesflow::pg::pg_call([&] {
        Datum values[4];
        bool nulls[4] = {false, false, false, false};
        for (const od::PredictedItem& it : items) {
            values[0] = Int64GetDatum(it.product_id);
            values[1] = Float8GetDatum(it.probability);
            values[2] = Float8GetDatum(it.quantity);
            values[3] = Float8GetDatum(it.unit_price);
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

// _association_rules(basket_ids bigint[], product_ids bigint[], min_support int, min_pair int,
//   min_confidence float8, min_lift float8, max_pairs bigint)
//   -> setof (antecedent, consequent, support, confidence, lift, pair_count); basket ids in runs
SF_FUNCTION(sf_association_rules) {
    salesflow::span<std::int64_t> baskets = salesflow::pg::int8_array_arg(fcinfo, 0, "basket_ids");
    salesflow::span<std::int64_t> products = salesflow::pg::int8_array_arg(fcinfo, 1, "product_ids");
    od::RuleOptions options;
    int min_support = PG_GETARG_INT32(2);
    int min_pair = PG_GETARG_INT32(3);
    options.min_confidence = PG_GETARG_FLOAT8(4);
    options.min_lift = PG_GETARG_FLOAT8(5);
    std::int64_t max_pairs = PG_GETARG_INT64(6);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (baskets.size() != products.size())
        throw std::invalid_argument("basket_ids and product_ids must have the same length");
    if (min_support < 1 || min_pair < 1 || max_pairs < 1)
        throw std::invalid_argument("min_support, min_pair and max_pairs must be at least 1");
    options.min_support_count = static_cast<std::uint32_t>(min_support);
    options.min_pair_count = static_cast<std::uint32_t>(min_pair);
    options.max_pairs = static_cast<std::size_t>(max_pairs);
    std::vector<std::vector<std::int64_t>> grouped;
    for (std::size_t i = 0; i < baskets.size(); ++i) {
        if (i == 0 || baskets[i] != baskets[i - 1]) grouped.emplace_back();
        grouped.back().push_back(products[i]);
    }
    std::vector<od::Rule> rules = od::association_rules(grouped, options);
    salesflow::pg::pg_call([&] {
        Datum values[6];
        bool nulls[6] = {false, false, false, false, false, false};
        for (const od::Rule& r : rules) {
            values[0] = Int64GetDatum(r.antecedent);
            values[1] = Int64GetDatum(r.consequent);
            values[2] = Float8GetDatum(r.support);
            values[3] = Float8GetDatum(r.confidence);
            values[4] = Float8GetDatum(r.lift);
            values[5] = Int64GetDatum(static_cast<std::int64_t>(r.pair_count));
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

// fit_recalibration(predicted float8[], outcome float8[]) -> (a, b): logit p' = a + b logit p
SF_FUNCTION(sf_fit_recalibration) {
    salesflow::span<double> predicted = salesflow::pg::float8_array_arg(fcinfo, 0, "predicted");
    salesflow::span<double> outcome = salesflow::pg::float8_array_arg(fcinfo, 1, "outcome");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (predicted.size() != outcome.size()) throw std::invalid_argument("predicted and outcome must have the same length");
    od::Recalibration r = od::fit_recalibration(predicted, outcome);
    Datum values[2] = {Float8GetDatum(r.a), Float8GetDatum(r.b)};
    bool nulls[2] = {false, false};
    salesflow::pg::pg_call([&] { out.put(values, nulls); });
    return (Datum) 0;
}

// recalibrate(a, b, p) -> p'
SF_FUNCTION(sf_recalibrate) {
    od::Recalibration r{PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1)};
    return Float8GetDatum(od::recalibrate(r, PG_GETARG_FLOAT8(2)));
}

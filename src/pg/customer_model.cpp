// Bindings of the customer-base models (BG/NBD, MBG/NBD, Pareto/NBD) chosen
// by name: fits, holdout scoring, per-customer scores and AUC.
//
// The model is a text argument ("bgnbd", "mbgnbd", "pareto_nbd") and its
// four parameters a float8[]: a tenant's chosen model is one clv_models row.
#include "core/segments/clv.hpp"
#include "core/segments/customer_model.hpp"
#include "core/segments/history.hpp"

#include "pg/pg.hpp"

#include <cmath>

namespace {

namespace seg = salesflow::segments;
using salesflow::span;

// Reads (model text, params float8[]) at argno, argno + 1 (PostgreSQL regime:
// call before any C++ object exists).
struct ModelArgs {
    const char* name;
    span<double> theta;
};
ModelArgs model_args(FunctionCallInfo fcinfo, int argno) {
    return {text_to_cstring(PG_GETARG_TEXT_PP(argno)), salesflow::pg::float8_array_arg(fcinfo, argno + 1, "params")};
}

seg::CustomerModelParams to_params(const ModelArgs& m) {
    if (m.theta.size() != 4) throw std::invalid_argument("customer model params must have 4 elements");
    return {seg::parse_customer_model(m.name), {m.theta[0], m.theta[1], m.theta[2], m.theta[3]}};
}

}  // namespace

// _customer_model_fit(model, frequency, recency, t) -> (params, loglik, iterations, converged, fit_ms)
SF_FUNCTION(sf_customer_model_fit) {
    const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    span<double> x = salesflow::pg::float8_array_arg(fcinfo, 1, "frequency");
    span<double> t_x = salesflow::pg::float8_array_arg(fcinfo, 2, "recency");
    span<double> T = salesflow::pg::float8_array_arg(fcinfo, 3, "t");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    seg::CustomerModelFit fit = seg::fit_customer_model(seg::parse_customer_model(name), x, t_x, T);
    salesflow::pg::pg_call([&] {
        Datum values[5] = {salesflow::pg::float8_array_datum(fit.params.theta.data(), 4), Float8GetDatum(fit.loglik),
                           Int32GetDatum(fit.iterations), BoolGetDatum(fit.converged), Float8GetDatum(fit.fit_ms)};
        bool nulls[5] = {false, false, false, false, false};
        out.put(values, nulls);
    });
    return (Datum) 0;
}

// _customer_model_holdout(model, frequency, recency, t, no_purchase, horizon)
//   -> (params, loglik, converged, fit_ms, brier_raw, brier, auc, customers, calibration_a, calibration_b)
SF_FUNCTION(sf_customer_model_holdout) {
    const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    span<double> x = salesflow::pg::float8_array_arg(fcinfo, 1, "frequency");
    span<double> t_x = salesflow::pg::float8_array_arg(fcinfo, 2, "recency");
    span<double> T = salesflow::pg::float8_array_arg(fcinfo, 3, "t");
    span<double> y = salesflow::pg::float8_array_arg(fcinfo, 4, "no_purchase");
    double horizon = PG_GETARG_FLOAT8(5);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    seg::check_horizon(horizon);
    seg::CandidateScore s = seg::score_candidate(seg::parse_customer_model(name), x, t_x, T, y, horizon);
    salesflow::pg::pg_call([&] {
        Datum values[10] = {salesflow::pg::float8_array_datum(s.at_cutoff.params.theta.data(), 4),
                            Float8GetDatum(s.at_cutoff.loglik), BoolGetDatum(s.at_cutoff.converged),
                            Float8GetDatum(s.at_cutoff.fit_ms), Float8GetDatum(s.brier_raw), Float8GetDatum(s.brier),
                            Float8GetDatum(s.auc), Int32GetDatum(static_cast<int>(s.customers)),
                            Float8GetDatum(s.calibration.a), Float8GetDatum(s.calibration.b)};
        bool nulls[10] = {false, false, false, false, false, false, std::isnan(s.auc), false, false, false};
        out.put(values, nulls);
    });
    return (Datum) 0;
}

// customer_model_p_alive(model, params, x, t_x, t)
SF_FUNCTION(sf_customer_model_p_alive) {
    ModelArgs m = model_args(fcinfo, 0);
    return Float8GetDatum(
        seg::customer_model_p_alive(to_params(m), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4)));
}

// customer_model_expected(model, params, horizon, x, t_x, t)
SF_FUNCTION(sf_customer_model_expected) {
    ModelArgs m = model_args(fcinfo, 0);
    return Float8GetDatum(seg::customer_model_expected(to_params(m), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3),
                                                       PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5)));
}

// customer_model_p_no_purchase(model, params, horizon, x, t_x, t)
SF_FUNCTION(sf_customer_model_p_no_purchase) {
    ModelArgs m = model_args(fcinfo, 0);
    return Float8GetDatum(seg::customer_model_p_no_purchase(to_params(m), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3),
                                                            PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5)));
}

// customer_model_clv(model, params, order_value, x, t_x, t, horizon, step, discount_rate_per_step)
SF_FUNCTION(sf_customer_model_clv) {
    ModelArgs m = model_args(fcinfo, 0);
    return Float8GetDatum(seg::clv(to_params(m), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4),
                                   PG_GETARG_FLOAT8(5), PG_GETARG_FLOAT8(6), PG_GETARG_FLOAT8(7),
                                   PG_GETARG_FLOAT8(8)));
}

// auc(score, outcome)
SF_FUNCTION(sf_auc) {
    span<double> score = salesflow::pg::float8_array_arg(fcinfo, 0, "score");
    span<double> outcome = salesflow::pg::float8_array_arg(fcinfo, 1, "outcome");
    const double v = seg::auc(score, outcome);
    if (std::isnan(v)) PG_RETURN_NULL();
    return Float8GetDatum(v);
}

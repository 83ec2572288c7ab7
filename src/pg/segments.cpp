// Segments bindings: BG/NBD, Gamma-Gamma, CLV and RFM over float8 arrays.
//
// Arrays in, core call, rows out. The fits return one row; the scoring
// functions are scalar so that SQL can apply them per customer (they are
// IMMUTABLE PARALLEL SAFE); RFM and value tiers need the whole population and
// take arrays, returning one row per element in input order (ord = 1..n).
#include "core/segments/bgnbd.hpp"
#include "core/segments/clv.hpp"
#include "core/segments/gamma_gamma.hpp"
#include "core/segments/rfm.hpp"

#include "pg/pg.hpp"

namespace {

namespace seg = salesflow::segments;
using salesflow::span;

seg::BgNbdParams bgnbd_args(FunctionCallInfo fcinfo, int first) {
    return {PG_GETARG_FLOAT8(first), PG_GETARG_FLOAT8(first + 1), PG_GETARG_FLOAT8(first + 2),
            PG_GETARG_FLOAT8(first + 3)};
}

seg::GammaGammaParams gamma_gamma_args(FunctionCallInfo fcinfo, int first) {
    return {PG_GETARG_FLOAT8(first), PG_GETARG_FLOAT8(first + 1), PG_GETARG_FLOAT8(first + 2)};
}

void check_same_length(std::size_t a, std::size_t b, const char* what) {
    if (a != b) throw std::invalid_argument(std::string(what) + " arrays must have the same length");
}

}  // namespace

// _bgnbd_fit(frequency, recency, t) -> (r, alpha, a, b, loglik, iterations, converged)
SF_FUNCTION(sf_bgnbd_fit) {
    span<double> x = salesflow::pg::float8_array_arg(fcinfo, 0, "frequency");
    span<double> t_x = salesflow::pg::float8_array_arg(fcinfo, 1, "recency");
    span<double> T = salesflow::pg::float8_array_arg(fcinfo, 2, "t");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_same_length(x.size(), t_x.size(), "frequency, recency and t");
    check_same_length(x.size(), T.size(), "frequency, recency and t");
    seg::BgNbdFit fit = seg::fit_bgnbd(x, t_x, T);
    Datum values[7] = {Float8GetDatum(fit.params.r), Float8GetDatum(fit.params.alpha), Float8GetDatum(fit.params.a),
                       Float8GetDatum(fit.params.b), Float8GetDatum(fit.loglik), Int32GetDatum(fit.iterations),
                       BoolGetDatum(fit.converged)};
    bool nulls[7] = {false, false, false, false, false, false, false};
    out.put(values, nulls);
    return (Datum) 0;
}

// _gamma_gamma_fit(frequency, avg_value) -> (p, q, gamma, loglik, iterations, converged, customers_used)
SF_FUNCTION(sf_gamma_gamma_fit) {
    span<double> x = salesflow::pg::float8_array_arg(fcinfo, 0, "frequency");
    span<double> m = salesflow::pg::float8_array_arg(fcinfo, 1, "avg_value");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_same_length(x.size(), m.size(), "frequency and avg_value");
    seg::GammaGammaFit fit = seg::fit_gamma_gamma(x, m);
    Datum values[7] = {Float8GetDatum(fit.params.p), Float8GetDatum(fit.params.q), Float8GetDatum(fit.params.gamma),
                       Float8GetDatum(fit.loglik), Int32GetDatum(fit.iterations), BoolGetDatum(fit.converged),
                       Int32GetDatum(fit.customers_used)};
    bool nulls[7] = {false, false, false, false, false, false, false};
    out.put(values, nulls);
    return (Datum) 0;
}

// bgnbd_p_alive(r, alpha, a, b, x, t_x, t)
SF_FUNCTION(sf_bgnbd_p_alive) {
    return Float8GetDatum(seg::bgnbd_p_alive(bgnbd_args(fcinfo, 0), PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5),
                                             PG_GETARG_FLOAT8(6)));
}

// bgnbd_expected(r, alpha, a, b, horizon, x, t_x, t)
SF_FUNCTION(sf_bgnbd_expected) {
    return Float8GetDatum(seg::bgnbd_expected_conditional(bgnbd_args(fcinfo, 0), PG_GETARG_FLOAT8(4),
                                                          PG_GETARG_FLOAT8(5), PG_GETARG_FLOAT8(6),
                                                          PG_GETARG_FLOAT8(7)));
}

// bgnbd_expected_unconditional(r, alpha, a, b, t)
SF_FUNCTION(sf_bgnbd_expected_unconditional) {
    return Float8GetDatum(seg::bgnbd_expected_unconditional(bgnbd_args(fcinfo, 0), PG_GETARG_FLOAT8(4)));
}

// bgnbd_p_count(r, alpha, a, b, t, n)
SF_FUNCTION(sf_bgnbd_p_count) {
    return Float8GetDatum(seg::bgnbd_p_count(bgnbd_args(fcinfo, 0), PG_GETARG_FLOAT8(4), PG_GETARG_INT32(5)));
}

// gamma_gamma_expected_value(p, q, gamma, x, avg_value)
SF_FUNCTION(sf_gamma_gamma_expected_value) {
    return Float8GetDatum(
        seg::gamma_gamma_expected_value(gamma_gamma_args(fcinfo, 0), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4)));
}

// clv(r, alpha, a, b, p, q, gamma, x, t_x, t, avg_value, horizon, step, discount_rate_per_step)
SF_FUNCTION(sf_clv) {
    return Float8GetDatum(seg::clv(bgnbd_args(fcinfo, 0), gamma_gamma_args(fcinfo, 4), PG_GETARG_FLOAT8(7),
                                   PG_GETARG_FLOAT8(8), PG_GETARG_FLOAT8(9), PG_GETARG_FLOAT8(10),
                                   PG_GETARG_FLOAT8(11), PG_GETARG_FLOAT8(12), PG_GETARG_FLOAT8(13)));
}

// rfm_scores(recency, frequency, monetary) -> setof (ord, r, f, m, segment)
SF_FUNCTION(sf_rfm_scores) {
    span<double> recency = salesflow::pg::float8_array_arg(fcinfo, 0, "recency");
    span<double> frequency = salesflow::pg::float8_array_arg(fcinfo, 1, "frequency");
    span<double> monetary = salesflow::pg::float8_array_arg(fcinfo, 2, "monetary");
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_same_length(recency.size(), frequency.size(), "recency, frequency and monetary");
    check_same_length(recency.size(), monetary.size(), "recency, frequency and monetary");
    std::vector<seg::RfmScore> scores = seg::rfm_scores(recency, frequency, monetary);
    salesflow::pg::pg_call([&] {
        Datum values[5];
        bool nulls[5] = {false, false, false, false, false};
        for (std::size_t i = 0; i < scores.size(); ++i) {
            values[0] = Int32GetDatum(static_cast<int>(i + 1));
            values[1] = Int32GetDatum(scores[i].recency);
            values[2] = Int32GetDatum(scores[i].frequency);
            values[3] = Int32GetDatum(scores[i].monetary);
            values[4] = CStringGetTextDatum(seg::rfm_segment_name(seg::rfm_segment(scores[i])));
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

// value_tiers(monetary, high_share, medium_share) -> setof (ord, tier)
SF_FUNCTION(sf_value_tiers) {
    span<double> monetary = salesflow::pg::float8_array_arg(fcinfo, 0, "monetary");
    double high_share = PG_GETARG_FLOAT8(1);
    double medium_share = PG_GETARG_FLOAT8(2);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (!(high_share > 0 && high_share <= medium_share && medium_share <= 1))
        throw std::invalid_argument("value tier shares must satisfy 0 < high_share <= medium_share <= 1");
    std::vector<seg::ValueTier> tiers = seg::value_tiers(monetary, high_share, medium_share);
    salesflow::pg::pg_call([&] {
        Datum values[2];
        bool nulls[2] = {false, false};
        for (std::size_t i = 0; i < tiers.size(); ++i) {
            values[0] = Int32GetDatum(static_cast<int>(i + 1));
            values[1] = CStringGetTextDatum(seg::value_tier_name(tiers[i]));
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

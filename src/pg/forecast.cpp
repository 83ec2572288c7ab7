// Forecast bindings: a float8[] series in, forecasts or the fitted model out.
//
// Short and boring on purpose (STYLE.md): map the array, call the core
// (src/core/forecast), build rows. Quantities without a meaning for a method
// (AICc of a method with no likelihood, the backtest MASE of a series too
// short to hold anything out) come back as NULL, never as a sentinel.
#include "core/forecast/accuracy.hpp"
#include "core/forecast/forecast.hpp"

#include "pg/pg.hpp"

extern "C" {
#include "utils/date.h"
}

namespace {

namespace fc = salesflow::forecast;

void check_series_args(int horizon, int period) {
    if (horizon < 1 || horizon > 10000) throw std::invalid_argument("horizon must be between 1 and 10000");
    if (period < 1 || period > 1000) throw std::invalid_argument("period must be between 1 and 1000");
}

std::string params_json(const fc::FitResult& fit) {
    std::string j = "{";
    for (std::size_t i = 0; i < fit.params.size(); ++i) {
        if (i) j += ", ";
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", fit.params[i].second);
        j += "\"" + fit.params[i].first + "\": " + buf;
    }
    return j + "}";
}

}  // namespace

// forecast(y, horizon, period, method) -> setof (step, point, lo80, hi80, lo95, hi95)
SF_FUNCTION(sf_forecast) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int horizon = PG_GETARG_INT32(1);
    int period = PG_GETARG_INT32(2);
    const char* method = text_to_cstring(PG_GETARG_TEXT_PP(3));
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_series_args(horizon, period);
    fc::Forecast f = fc::forecast(y, horizon, period, method);
    salesflow::pg::pg_call([&] {
        Datum values[6];
        bool nulls[6] = {false, false, false, false, false, false};
        for (std::size_t h = 0; h < f.point.size(); ++h) {
            values[0] = Int32GetDatum(static_cast<int>(h + 1));
            values[1] = Float8GetDatum(f.point[h]);
            values[2] = Float8GetDatum(f.intervals[h].lo80);
            values[3] = Float8GetDatum(f.intervals[h].hi80);
            values[4] = Float8GetDatum(f.intervals[h].lo95);
            values[5] = Float8GetDatum(f.intervals[h].hi95);
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

// forecast_fit(y, period, method) -> (method, params jsonb, aicc, backtest_mase)
SF_FUNCTION(sf_forecast_fit) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int period = PG_GETARG_INT32(1);
    const char* method = text_to_cstring(PG_GETARG_TEXT_PP(2));
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_series_args(1, period);
    fc::FitResult fit = fc::fit(y, period, method);
    std::string params = params_json(fit);
    salesflow::pg::pg_call([&] {
        Datum values[4];
        bool nulls[4] = {false, false, false, false};
        values[0] = CStringGetTextDatum(fit.method.c_str());
        values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params.c_str()));
        values[2] = Float8GetDatum(fit.aicc);
        nulls[2] = fit.aicc >= fc::no_likelihood;
        values[3] = Float8GetDatum(fit.backtest_mase);
        nulls[3] = fit.backtest_mase < 0;
        out.put(values, nulls);
    });
    return (Datum) 0;
}

// _forecast_series(y, horizon, period, method) -> one row: the model, the
// MASE scale of y (NULL when y is no longer than the period) and the forecast
// arrays, from a single fit (what the batch job stores).
SF_FUNCTION(sf_forecast_series) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int horizon = PG_GETARG_INT32(1);
    int period = PG_GETARG_INT32(2);
    const char* method = text_to_cstring(PG_GETARG_TEXT_PP(3));
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_series_args(horizon, period);
    fc::FitAndForecast r = fc::fit_and_forecast(y, horizon, period, method);
    const bool has_scale = y.size() > static_cast<std::size_t>(period);
    const double scale = has_scale ? fc::mase_scale(y, period) : 0.0;
    std::string params = params_json(r.fit);
    std::vector<double> cols[5];
    for (auto& c : cols) c.reserve(r.forecast.point.size());
    for (std::size_t h = 0; h < r.forecast.point.size(); ++h) {
        cols[0].push_back(r.forecast.point[h]);
        cols[1].push_back(r.forecast.intervals[h].lo80);
        cols[2].push_back(r.forecast.intervals[h].hi80);
        cols[3].push_back(r.forecast.intervals[h].lo95);
        cols[4].push_back(r.forecast.intervals[h].hi95);
    }
    salesflow::pg::pg_call([&] {
        Datum values[10];
        bool nulls[10] = {false, false, false, false, false, false, false, false, false, false};
        values[0] = CStringGetTextDatum(r.fit.method.c_str());
        values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params.c_str()));
        values[2] = Float8GetDatum(r.fit.aicc);
        nulls[2] = r.fit.aicc >= fc::no_likelihood;
        values[3] = Float8GetDatum(r.fit.backtest_mase);
        nulls[3] = r.fit.backtest_mase < 0;
        values[4] = Float8GetDatum(scale);
        nulls[4] = !has_scale;
        for (int c = 0; c < 5; ++c) values[5 + c] = salesflow::pg::float8_array_datum(cols[c].data(), cols[c].size());
        out.put(values, nulls);
    });
    return (Datum) 0;
}

// _daily_series(day, units, first_day, days): aggregate that lays a
// product's sales_daily rows out as the gap-filled daily series of `days`
// values from first_day (zeros where a day has no row; days outside the
// window are ignored). The batch used array_agg of offsets and units plus a
// PL/pgSQL fill: two arrays per product, then a second pass; this writes
// each row straight into its slot. State and result are PostgreSQL memory
// only (no C++ objects), so the PostgreSQL regime throughout.
namespace {
struct daily_series_state {
    int32 first_day;  // DateADT
    int32 days;
    double values[FLEXIBLE_ARRAY_MEMBER];
};
}  // namespace

SF_FUNCTION(sf_daily_series_accum) {
    MemoryContext aggcontext;
    if (!AggCheckCallContext(fcinfo, &aggcontext))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("_daily_series called in a non-aggregate context")));
    auto* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<daily_series_state*>(PG_GETARG_POINTER(0));
    if (state == nullptr) {
        if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("first_day and days must not be NULL")));
        int32 days = PG_GETARG_INT32(4);
        if (days < 1 || days > 100000)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("days must be between 1 and 100000")));
        DateADT first_day = PG_GETARG_DATEADT(3);
        if (DATE_NOT_FINITE(first_day))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("first_day must be a finite date")));
        state = static_cast<daily_series_state*>(
            MemoryContextAllocZero(aggcontext, offsetof(daily_series_state, values) + sizeof(double) * days));
        state->first_day = first_day;
        state->days = days;
    }
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {
        DateADT day = PG_GETARG_DATEADT(1);
        if (!DATE_NOT_FINITE(day)) {
            int64 k = static_cast<int64>(day) - state->first_day;
            if (k >= 0 && k < state->days) state->values[k] += PG_GETARG_FLOAT8(2);
        }
    }
    PG_RETURN_POINTER(state);
}

// Parallel aggregation: each worker sums its share of the rows into its own
// states; the leader adds them up (same window: first_day and days are the
// batch's constants, checked anyway).
SF_FUNCTION(sf_daily_series_combine) {
    MemoryContext aggcontext;
    if (!AggCheckCallContext(fcinfo, &aggcontext))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("_daily_series called in a non-aggregate context")));
    if (PG_ARGISNULL(1)) {
        if (PG_ARGISNULL(0)) PG_RETURN_NULL();
        PG_RETURN_POINTER(PG_GETARG_POINTER(0));
    }
    const auto* other = reinterpret_cast<const daily_series_state*>(PG_GETARG_POINTER(1));
    const std::size_t size = offsetof(daily_series_state, values) + sizeof(double) * other->days;
    if (PG_ARGISNULL(0)) {
        auto* copy = static_cast<daily_series_state*>(MemoryContextAlloc(aggcontext, size));
        memcpy(copy, other, size);
        PG_RETURN_POINTER(copy);
    }
    auto* state = reinterpret_cast<daily_series_state*>(PG_GETARG_POINTER(0));
    if (state->first_day != other->first_day || state->days != other->days)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("_daily_series needs the same first_day and days for every row of a group")));
    for (int32 k = 0; k < state->days; ++k) state->values[k] += other->values[k];
    PG_RETURN_POINTER(state);
}

SF_FUNCTION(sf_daily_series_serialize) {
    const auto* state = reinterpret_cast<const daily_series_state*>(PG_GETARG_POINTER(0));
    const std::size_t size = offsetof(daily_series_state, values) + sizeof(double) * state->days;
    bytea* out = static_cast<bytea*>(palloc(VARHDRSZ + size));
    SET_VARSIZE(out, VARHDRSZ + size);
    memcpy(VARDATA(out), state, size);
    PG_RETURN_BYTEA_P(out);
}

SF_FUNCTION(sf_daily_series_deserialize) {
    bytea* in = PG_GETARG_BYTEA_PP(0);
    const std::size_t size = VARSIZE_ANY_EXHDR(in);
    daily_series_state header;
    if (size < offsetof(daily_series_state, values))
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("invalid _daily_series state")));
    memcpy(&header, VARDATA_ANY(in), offsetof(daily_series_state, values));
    if (header.days < 1 || size != offsetof(daily_series_state, values) + sizeof(double) * header.days)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("invalid _daily_series state")));
    auto* state = static_cast<daily_series_state*>(palloc(size));
    memcpy(state, VARDATA_ANY(in), size);
    PG_RETURN_POINTER(state);
}

SF_FUNCTION(sf_daily_series_final) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    const auto* state = reinterpret_cast<const daily_series_state*>(PG_GETARG_POINTER(0));
    return salesflow::pg::float8_array_datum(state->values, static_cast<std::size_t>(state->days));
}

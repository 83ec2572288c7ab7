// Forecast bindings: a float8[] series in, forecasts or the fitted model out.
//
// Short and boring on purpose (STYLE.md): map the array, call the core
// (src/core/forecast), build rows. Quantities without a meaning for a method
// (AICc of a method with no likelihood, the backtest MASE of a series too
// short to hold anything out) come back as NULL, never as a sentinel.
#include "core/forecast/forecast.hpp"

#include "pg/pg.hpp"

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

// _forecast_series(y, horizon, period, method) -> one row: the model and the
// forecast arrays, from a single fit (what the batch job stores).
SF_FUNCTION(sf_forecast_series) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int horizon = PG_GETARG_INT32(1);
    int period = PG_GETARG_INT32(2);
    const char* method = text_to_cstring(PG_GETARG_TEXT_PP(3));
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    check_series_args(horizon, period);
    fc::FitAndForecast r = fc::fit_and_forecast(y, horizon, period, method);
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
        Datum values[9];
        bool nulls[9] = {false, false, false, false, false, false, false, false, false};
        values[0] = CStringGetTextDatum(r.fit.method.c_str());
        values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params.c_str()));
        values[2] = Float8GetDatum(r.fit.aicc);
        nulls[2] = r.fit.aicc >= fc::no_likelihood;
        values[3] = Float8GetDatum(r.fit.backtest_mase);
        nulls[3] = r.fit.backtest_mase < 0;
        for (int c = 0; c < 5; ++c) values[4 + c] = salesflow::pg::float8_array_datum(cols[c].data(), cols[c].size());
        out.put(values, nulls);
    });
    return (Datum) 0;
}

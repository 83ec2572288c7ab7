// Anomaly bindings: the local detector (the default since #18), the 0.1.0
// whole-history robust z-score detector, Twitter's Seasonal Hybrid
// ESD test, and the no-storm rule over candidate alerts.
//
// Short and boring on purpose (STYLE.md): map the arrays, call the core
// (src/core/anomaly), write rows. Indexes are returned 1-based, as SQL arrays
// count.
#include "core/anomaly/anomaly.hpp"

#include "pg/pg.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace {

namespace an = salesflow::anomaly;

an::Direction direction_arg(const std::string& s) {
    if (s == "both") return an::Direction::both;
    if (s == "spike" || s == "up") return an::Direction::spike;
    if (s == "drop" || s == "down") return an::Direction::drop;
    throw std::invalid_argument("direction must be 'both', 'spike' or 'drop', not '" + s + "'");
}

std::size_t period_arg(int period) {
    if (period < 1 || period > 100000) throw std::invalid_argument("period must be between 1 and 100000");
    return static_cast<std::size_t>(period);
}

void put_anomalies(const salesflow::pg::srf_writer& out, const std::vector<an::Anomaly>& found) {
    salesflow::pg::pg_call([&] {
        for (const an::Anomaly& a : found) {
            Datum values[4] = {Int32GetDatum(static_cast<int>(a.index + 1)), Float8GetDatum(a.value),
                               Float8GetDatum(a.expected), Float8GetDatum(a.score)};
            bool nulls[4] = {false, false, false, false};
            out.put(values, nulls);
        }
    });
}

}  // namespace

// detect_anomalies(y, period, threshold, direction, min_abs_change, from_index)
//   -> setof (idx, observed, expected, score)
SF_FUNCTION(sf_detect_anomalies) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int period = PG_GETARG_INT32(1);
    double threshold = PG_GETARG_FLOAT8(2);
    double min_abs_change = PG_GETARG_FLOAT8(4);
    int from_index = PG_GETARG_INT32(5);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    an::MadOptions options;
    options.decomposition.period = period_arg(period);
    options.threshold = threshold;
    options.direction = direction_arg(salesflow::pg::text_arg(fcinfo, 3));
    options.min_abs_change = min_abs_change;
    if (from_index < 1) throw std::invalid_argument("from_index must be >= 1");
    std::vector<an::Anomaly> found = an::detect_mad(y, options, static_cast<std::size_t>(from_index - 1));
    put_anomalies(out, found);
    return (Datum) 0;
}

// detect_anomalies_budget(y, period, alarms_per_quarter, min_score, direction,
//   min_abs_change, from_index, method) -> setof (idx, observed, expected, score)
SF_FUNCTION(sf_detect_anomalies_budget) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int period = PG_GETARG_INT32(1);
    double alarms_per_quarter = PG_GETARG_FLOAT8(2);
    double min_score = PG_GETARG_FLOAT8(3);
    double min_abs_change = PG_GETARG_FLOAT8(5);
    int from_index = PG_GETARG_INT32(6);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    an::LocalOptions options;
    options.period = period_arg(period);
    if (!(alarms_per_quarter > 0.0) || !std::isfinite(alarms_per_quarter))
        throw std::invalid_argument("alarms_per_quarter must be a finite number > 0");
    if (!(min_score > 0.0) || !std::isfinite(min_score)) throw std::invalid_argument("min_score must be a finite number > 0");
    options.alarms_per_quarter = alarms_per_quarter;
    options.min_threshold = min_score;
    options.max_threshold = std::max(options.max_threshold, min_score);
    options.direction = direction_arg(salesflow::pg::text_arg(fcinfo, 4));
    options.min_abs_change = min_abs_change;
    const std::string method = salesflow::pg::text_arg(fcinfo, 7);
    if (from_index < 1) throw std::invalid_argument("from_index must be >= 1");
    const auto from = static_cast<std::size_t>(from_index - 1);
    std::vector<an::Anomaly> found;
    if (method == "mad") {
        const an::MadScores s = an::mad_scores(y, an::stable_mad_options(options.period));
        found = an::flag_by_budget(y, s.score, s.expected, options, from);
    } else if (method == "local") {
        found = an::detect_local(y, options, from);
    } else {
        throw std::invalid_argument("method must be 'mad' or 'local', not '" + method + "'");
    }
    put_anomalies(out, found);
    return (Datum) 0;
}

// seasonal_hybrid_esd(y, period, max_anoms, alpha, direction, longterm, only_last)
//   -> setof (idx, observed, expected, score)
SF_FUNCTION(sf_seasonal_hybrid_esd) {
    salesflow::span<double> y = salesflow::pg::float8_array_arg(fcinfo, 0, "y");
    int period = PG_GETARG_INT32(1);
    double max_anoms = PG_GETARG_FLOAT8(2);
    double alpha = PG_GETARG_FLOAT8(3);
    bool longterm = PG_GETARG_BOOL(5);
    int only_last = PG_GETARG_INT32(6);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    an::EsdOptions options;
    options.period = period_arg(period);
    options.max_anoms = max_anoms;
    options.alpha = alpha;
    options.direction = direction_arg(salesflow::pg::text_arg(fcinfo, 4));
    if (only_last < 0) throw std::invalid_argument("only_last must be >= 0");
    options.only_last = static_cast<std::size_t>(only_last);
    if (longterm) options.longterm_window = an::longterm_window(options.period);
    std::vector<an::Anomaly> found = an::seasonal_hybrid_esd(y, options);
    put_anomalies(out, found);
    return (Datum) 0;
}

// _suppress_storms(entity int8[], day int8[], score float8[], history_entity
//   int8[], history_day int8[], history_score float8[], cooldown_days int,
//   escalation float8) -> setof (entity, day, score): the candidates kept.
SF_FUNCTION(sf_suppress_storms) {
    salesflow::span<std::int64_t> entity = salesflow::pg::int8_array_arg(fcinfo, 0, "entity");
    salesflow::span<std::int64_t> day = salesflow::pg::int8_array_arg(fcinfo, 1, "day");
    salesflow::span<double> score = salesflow::pg::float8_array_arg(fcinfo, 2, "score");
    salesflow::span<std::int64_t> h_entity = salesflow::pg::int8_array_arg(fcinfo, 3, "history_entity");
    salesflow::span<std::int64_t> h_day = salesflow::pg::int8_array_arg(fcinfo, 4, "history_day");
    salesflow::span<double> h_score = salesflow::pg::float8_array_arg(fcinfo, 5, "history_score");
    int cooldown = PG_GETARG_INT32(6);
    double escalation = PG_GETARG_FLOAT8(7);
    salesflow::pg::srf_writer out = salesflow::pg::begin_srf(fcinfo);
    if (entity.size() != day.size() || entity.size() != score.size())
        throw std::invalid_argument("entity, day and score must have the same length");
    if (h_entity.size() != h_day.size() || h_entity.size() != h_score.size())
        throw std::invalid_argument("history_entity, history_day and history_score must have the same length");
    std::vector<an::Alert> candidates(entity.size()), history(h_entity.size());
    for (std::size_t i = 0; i < entity.size(); ++i) candidates[i] = {entity[i], day[i], score[i]};
    for (std::size_t i = 0; i < h_entity.size(); ++i) history[i] = {h_entity[i], h_day[i], h_score[i]};
    an::StormOptions options;
    options.cooldown_days = cooldown;
    options.escalation = escalation;
    std::vector<an::Alert> kept = an::suppress_storms(candidates, history, options);
    salesflow::pg::pg_call([&] {
        for (const an::Alert& a : kept) {
            Datum values[3] = {Int64GetDatum(a.entity), Int64GetDatum(a.day), Float8GetDatum(a.score)};
            bool nulls[3] = {false, false, false};
            out.put(values, nulls);
        }
    });
    return (Datum) 0;
}

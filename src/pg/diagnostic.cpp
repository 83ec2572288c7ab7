// Diagnostic functions that prove the C++/PostgreSQL boundary holds.
//
// They are installed in every build but only salesflow_admin may run them
// (see src/sql/00_core.sql). pg_regress calls them to show that every kind of
// C++ exception becomes the documented SQLSTATE, that the backend survives,
// that array arguments are checked, and that statement_timeout interrupts a
// long C++ loop.
#include "pg/pg.hpp"

#include <chrono>
#include <new>
#include <numeric>
#include <vector>

#include "core/common/cancel.hpp"

namespace {

struct noisy_resource {  // has a destructor: the guard must unwind it first
    std::vector<double> buffer = std::vector<double>(1024, 1.0);
};

}  // namespace

SF_FUNCTION(sf_debug_throw) {
    std::string kind = salesflow::pg::text_arg(fcinfo, 0);
    noisy_resource alive;
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "invalid_argument") throw std::invalid_argument("debug: invalid argument");
    if (kind == "domain_error") throw std::domain_error("debug: domain error");
    if (kind == "range_error") throw std::range_error("debug: range error");
    if (kind == "overflow_error") throw std::overflow_error("debug: overflow error");
    if (kind == "runtime_error") throw std::runtime_error("debug: runtime error");
    if (kind == "int") throw 42;
    if (kind == "postgres") {
        // A PostgreSQL error raised while a C++ object is alive: pg_call
        // carries it through the C++ frames, then it is re-thrown intact.
        salesflow::pg::pg_call([] { ereport(ERROR, (errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("debug: postgres error"))); });
    }
    if (kind == "none") return Int32GetDatum(static_cast<int>(alive.buffer.size()));
    throw std::invalid_argument("unknown exception kind \"" + kind +
                                "\" (bad_alloc, invalid_argument, domain_error, range_error, "
                                "overflow_error, runtime_error, int, postgres, none)");
}

SF_FUNCTION(sf_debug_spin) {
    double seconds = PG_GETARG_FLOAT8(0);
    std::vector<double> work(4096, 1.0);  // a live C++ object while we spin
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::int64_t rounds = 0;
    while (std::chrono::steady_clock::now() < until) {
        for (double& w : work) w = w * 1.0000001 + 1e-9;
        ++rounds;
        salesflow::check_cancel();
    }
    return Int64GetDatum(rounds);
}

SF_FUNCTION(sf_debug_float8_echo) {
    salesflow::span<double> values = salesflow::pg::float8_array_arg(fcinfo, 0, "arr");
    return salesflow::pg::float8_array_datum(values.data(), values.size());
}

SF_FUNCTION(sf_debug_int8_sum) {
    salesflow::span<std::int64_t> values = salesflow::pg::int8_array_arg(fcinfo, 0, "arr");
    std::int64_t total = 0;
    for (std::int64_t v : values)
        if (__builtin_add_overflow(total, v, &total)) throw std::overflow_error("bigint sum out of range");
    return Int64GetDatum(total);
}

SF_FUNCTION(sf_debug_numeric_sum) {
    salesflow::span<double> values = salesflow::pg::numeric_array_arg(fcinfo, 0, "arr");
    return Float8GetDatum(std::accumulate(values.begin(), values.end(), 0.0));
}

SF_FUNCTION(sf_debug_anyarray_as_float8) {
    salesflow::span<double> values = salesflow::pg::float8_array_arg(fcinfo, 0, "arr");
    return Float8GetDatum(std::accumulate(values.begin(), values.end(), 0.0));
}

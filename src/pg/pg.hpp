// The one door between the pure C++ core and PostgreSQL.
//
// Two regimes meet here (see STYLE.md). In the PostgreSQL regime errors are
// ereport/longjmp and memory is palloc'd; in the C++ regime errors are
// exceptions and memory is RAII. Rules enforced by the tools in this header:
//
//  * SF_FUNCTION(name) defines an SQL entry point: extern "C",
//    PG_FUNCTION_INFO_V1, and a guard that catches every C++ exception and
//    maps it to a SQLSTATE. The PostgreSQL error is raised only after the
//    C++ scope (and every object in it) is gone.
//  * While a C++ object with a destructor is alive, PostgreSQL functions that
//    may ereport are called only through pg_call(), which turns a PostgreSQL
//    error into a C++ exception (pg_error); the guard re-throws the original
//    error once the C++ objects are destroyed.
//  * Long loops in the core call salesflow::check_cancel(); the probe
//    installed in _PG_init reads QueryCancelPending/ProcDiePending, so a
//    statement_timeout stops a computation cleanly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/common/span.hpp"

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "catalog/pg_type.h"
}

// PostgreSQL's c.h defines macros that clash with the C++ standard library.
#ifdef gettext
#undef gettext
#endif
#ifdef dgettext
#undef dgettext
#endif
#ifdef ngettext
#undef ngettext
#endif
#ifdef dngettext
#undef dngettext
#endif

namespace salesflow::pg {

// A PostgreSQL error caught by pg_call, carried through C++ frames.
class pg_error : public std::exception {
public:
    explicit pg_error(ErrorData* data) noexcept : data_(data) {}
    const char* what() const noexcept override { return data_->message ? data_->message : "postgres error"; }
    ErrorData* data() const noexcept { return data_; }

private:
    ErrorData* data_;
};

// An error with an explicit SQLSTATE thrown from binding code (C++ regime).
class sql_error : public std::runtime_error {
public:
    sql_error(int sqlstate, const std::string& message, const std::string& detail = {})
        : std::runtime_error(message), sqlstate_(sqlstate), detail_(detail) {}
    int sqlstate() const noexcept { return sqlstate_; }
    const std::string& detail() const noexcept { return detail_; }

private:
    int sqlstate_;
    std::string detail_;
};

// Trivially destructible record of a caught exception: it survives the end
// of the catch block so the ereport happens outside every C++ scope.
struct pending_error {
    enum class kind { none, sqlstate, postgres, cancelled } what = kind::none;
    int sqlstate = 0;
    ErrorData* pg = nullptr;
    char message[1024] = {0};
    char detail[1024] = {0};
};

// The cancel probe installed for the core: a cancel or terminate is pending.
bool interrupt_probe();

// Classifies the exception currently being handled (call only in a catch).
void capture_current_exception(pending_error& err) noexcept;

// Raises the recorded error in the PostgreSQL regime. Never returns.
[[noreturn]] void raise(const pending_error& err);

// Entry-point guard: runs impl(fcinfo) and converts any C++ exception.
Datum call_guarded(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo);

// Runs fn (which may call PostgreSQL) and converts a PostgreSQL error into
// pg_error. fn itself must not hold C++ objects with destructors.
template <typename F>
void pg_call(F&& fn) {
    MemoryContext caller_context = CurrentMemoryContext;
    // volatile: set after the longjmp and read after PG_END_TRY (-Wclobbered)
    ErrorData* volatile caught = nullptr;
    PG_TRY();
    {
        fn();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        caught = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (caught != nullptr) throw pg_error(caught);
}

// ---- arrays: PostgreSQL regime (call before creating C++ objects) --------

// Read-only views of a one-dimensional array argument without copying.
// ereport: NULL argument, NULL elements, more than one dimension, wrong type.
salesflow::span<double> float8_array_arg(FunctionCallInfo fcinfo, int argno, const char* name);
salesflow::span<std::int64_t> int8_array_arg(FunctionCallInfo fcinfo, int argno, const char* name);
salesflow::span<std::int32_t> date_array_arg(FunctionCallInfo fcinfo, int argno, const char* name);  // days since 2000-01-01
// numeric[] is variable-length: converted into a palloc'd double array.
salesflow::span<double> numeric_array_arg(FunctionCallInfo fcinfo, int argno, const char* name);

// Builds a float8[] (palloc'd in the current memory context).
Datum float8_array_datum(const double* values, std::size_t n);

// ---- composite and set-returning results ----------------------------------

// Blessed tuple descriptor of the function's declared composite result.
TupleDesc result_tupdesc(FunctionCallInfo fcinfo);

// Materialize-mode SRF: InitMaterializedSRF + put rows.
struct srf_writer {
    ReturnSetInfo* rsinfo;
    void put(Datum* values, bool* nulls) const { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); }
    TupleDesc desc() const { return rsinfo->setDesc; }
};
srf_writer begin_srf(FunctionCallInfo fcinfo);

// text helpers
inline Datum text_datum(const std::string& s) { return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); }
std::string text_arg(FunctionCallInfo fcinfo, int argno);

// A palloc'd bytea holding bytes; throws range_error past what a bytea holds.
// Call it through pg_call while C++ objects are alive (palloc may ereport).
inline bytea* bytea_from(const std::string& bytes) {
    if (bytes.size() > MaxAllocSize - VARHDRSZ) throw std::range_error("result exceeds 1 GB");
    bytea* result = nullptr;
    pg_call([&] {
        result = static_cast<bytea*>(palloc(bytes.size() + VARHDRSZ));
        SET_VARSIZE(result, bytes.size() + VARHDRSZ);
        memcpy(VARDATA(result), bytes.data(), bytes.size());
    });
    return result;
}

}  // namespace salesflow::pg

// Defines an SQL-callable function `name`: write the body after the macro,
// with `fcinfo` in scope, returning a Datum.
#define SF_FUNCTION(name)                                                   \
    static Datum name##_impl(FunctionCallInfo fcinfo);                      \
    extern "C" {                                                            \
    PG_FUNCTION_INFO_V1(name);                                              \
    }                                                                       \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                               \
        return salesflow::pg::call_guarded(name##_impl, fcinfo);            \
    }                                                                       \
    static Datum name##_impl(FunctionCallInfo fcinfo)

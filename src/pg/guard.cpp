// The exception guard, the cancel probe and the module's load-time setup.
//
// call_guarded() is what every SF_FUNCTION runs through. The mapping from C++
// exceptions to SQLSTATEs is fixed (STYLE.md, issue #2):
//   std::bad_alloc                          -> out_of_memory (53200)
//   std::invalid_argument, std::domain_error -> invalid_parameter_value (22023)
//   std::range_error, std::overflow_error    -> data_exception (22000)
//   salesflow::cancelled                     -> the server's own interrupt error
//   pg_error (a PostgreSQL error met inside C++) -> re-thrown unchanged
//   sql_error                                -> its own SQLSTATE
//   anything else                            -> internal_error (XX000)
#include "pg/pg.hpp"

#include <cstring>
#include <new>

#include "core/common/cancel.hpp"

extern "C" {
#include "utils/guc.h"
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace salesflow::pg {
namespace {

void copy_text(char* dst, std::size_t cap, const char* src) noexcept {
    strlcpy(dst, src ? src : "", cap);
}

void set_error(pending_error& err, int sqlstate, const char* message) noexcept {
    err.what = pending_error::kind::sqlstate;
    err.sqlstate = sqlstate;
    copy_text(err.message, sizeof err.message, message);
}

}  // namespace

bool interrupt_probe() { return QueryCancelPending || ProcDiePending; }

void capture_current_exception(pending_error& err) noexcept {
    try {
        throw;
    } catch (const pg_error& e) {
        err.what = pending_error::kind::postgres;
        err.pg = e.data();
    } catch (const salesflow::cancelled&) {
        err.what = pending_error::kind::cancelled;
    } catch (const sql_error& e) {
        set_error(err, e.sqlstate(), e.what());
        copy_text(err.detail, sizeof err.detail, e.detail().c_str());
    } catch (const std::bad_alloc&) {
        set_error(err, ERRCODE_OUT_OF_MEMORY, "out of memory in salesflow computation");
    } catch (const std::invalid_argument& e) {
        set_error(err, ERRCODE_INVALID_PARAMETER_VALUE, e.what());
    } catch (const std::domain_error& e) {
        set_error(err, ERRCODE_INVALID_PARAMETER_VALUE, e.what());
    } catch (const std::range_error& e) {
        set_error(err, ERRCODE_DATA_EXCEPTION, e.what());
    } catch (const std::overflow_error& e) {
        set_error(err, ERRCODE_DATA_EXCEPTION, e.what());
    } catch (const std::exception& e) {
        set_error(err, ERRCODE_INTERNAL_ERROR, e.what());
    } catch (...) {
        set_error(err, ERRCODE_INTERNAL_ERROR, "unknown C++ exception in salesflow");
    }
}

void raise(const pending_error& err) {
    switch (err.what) {
        case pending_error::kind::postgres:
            ReThrowError(err.pg);
            pg_unreachable();
        case pending_error::kind::cancelled:
            // Let the server report why (statement timeout, user request,
            // termination); if the flag was consumed meanwhile, say so.
            CHECK_FOR_INTERRUPTS();
            ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
            pg_unreachable();
        case pending_error::kind::sqlstate:
            if (err.detail[0] != '\0')
                ereport(ERROR, (errcode(err.sqlstate), errmsg("%s", err.message), errdetail("%s", err.detail)));
            ereport(ERROR, (errcode(err.sqlstate), errmsg("%s", err.message)));
            pg_unreachable();
        case pending_error::kind::none:
            break;
    }
    elog(ERROR, "salesflow: raise() called without an error");
    pg_unreachable();
}

Datum call_guarded(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) {
    pending_error err;
    Datum result = (Datum) 0;
    try {
        result = impl(fcinfo);
    } catch (...) {
        capture_current_exception(err);
    }
    // Every C++ object of impl's scope and the exception itself are gone here.
    if (err.what != pending_error::kind::none) raise(err);
    return result;
}

}  // namespace salesflow::pg

namespace {
char* tenant_setting = nullptr;
}

extern "C" void _PG_init(void) {
    salesflow::set_cancel_probe(&salesflow::pg::interrupt_probe);
    DefineCustomStringVariable(
        "salesflow.tenant",
        "Tenant (name or id) whose rows this session sees and writes.",
        "Row-level security limits salesflow_reader and salesflow_writer to this tenant; "
        "with no tenant set they see nothing.",
        &tenant_setting, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("salesflow");
}

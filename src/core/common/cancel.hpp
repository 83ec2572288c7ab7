// Cooperative cancellation for long computations in the pure C++ core.
//
// The core knows nothing of PostgreSQL, yet a statement_timeout or a
// pg_cancel_backend() must be able to stop a long fit. The binding layer
// installs a probe (it reads PostgreSQL's InterruptPending flag); long loops in
// the core call check_cancel() every so often, which throws `cancelled` when
// the probe says so. The guard in src/pg turns that into the server's own
// query_canceled error after every C++ object has been destroyed.
#pragma once

#include <stdexcept>

namespace salesflow {

// Thrown by check_cancel() when the host asked us to stop.
struct cancelled : std::runtime_error {
    cancelled() : std::runtime_error("computation cancelled") {}
};

using cancel_probe = bool (*)();

// Installs the probe (nullptr: never cancelled). Not thread-safe by design:
// PostgreSQL backends are single-threaded and install it once at load time.
void set_cancel_probe(cancel_probe probe) noexcept;

// Throws `cancelled` if the probe reports a pending interrupt.
void check_cancel();

}  // namespace salesflow

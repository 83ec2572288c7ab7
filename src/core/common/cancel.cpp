// See cancel.hpp: one global probe, polled from long loops.
#include "core/common/cancel.hpp"

namespace salesflow {
namespace {
cancel_probe g_probe = nullptr;
}

void set_cancel_probe(cancel_probe probe) noexcept { g_probe = probe; }

void check_cancel() {
    if (g_probe != nullptr && g_probe()) throw cancelled();
}

}  // namespace salesflow

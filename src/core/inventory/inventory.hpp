// The inventory module's public API in one include: safety stock for a
// service-level target (Silver, Pyke & Thomas, "Inventory and Production
// Management in Supply Chains", 4th ed.; Axsäter, "Inventory Control", 3rd
// ed., for discrete demand), Wilson EOQ and MOQ / pack rounding, runway
// against a daily forecast, the per-product (R, s, S) policy with its lead-time
// statistics, the rolling demand estimate a re-run batch acts on (SES level,
// out-of-sample errors, forecast-error sd over the protection interval), and
// the policy replays (fixed or re-decided levels) used to verify achieved
// service levels.
#pragma once

#include "core/inventory/demand_estimate.hpp"
#include "core/inventory/lot_size.hpp"
#include "core/inventory/policy.hpp"
#include "core/inventory/runway.hpp"
#include "core/inventory/safety_stock.hpp"
#include "core/inventory/simulation.hpp"

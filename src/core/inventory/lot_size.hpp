// Lot sizing: the Wilson economic order quantity and the rounding of a needed
// quantity to the supplier's minimum order quantity and pack size.
//
// EOQ = sqrt(2 D S / H) (Harris 1913, popularised by Wilson 1934; Silver, Pyke
// & Thomas, "Inventory and Production Management in Supply Chains", 4th ed.,
// ch. "Order quantities when demand is approximately level"), D annual demand,
// S fixed cost per order, H holding cost per unit and year. The rounding rule
// is the usual purchasing practice (order at least the MOQ, in whole packs).
#pragma once

namespace salesflow::inventory {

// sqrt(2 D S / H). D = 0 or S = 0 gives 0 (nothing to amortise: order lot for
// lot). D, S must be finite >= 0 and H finite > 0 (std::invalid_argument:
// without a holding cost the EOQ is unbounded; compute_policy then skips it).
double eoq(double annual_demand, double ordering_cost, double holding_cost_per_unit_year);

// 0 when needed <= 0 (nothing to buy: the MOQ does not force an order).
// Otherwise max(needed, moq) rounded up to a whole number of packs; pack_size
// 0 means no rounding (quantities bought by weight or already in packs), moq 0
// no minimum. When the MOQ is not a multiple of the pack size the result is
// the first multiple of the pack above the MOQ. Rounding is tolerant of
// floating-point noise (0.1 * 3 with pack 0.1 is 3 packs, not 4). moq and
// pack_size must be finite >= 0, needed finite (std::invalid_argument).
double round_order_quantity(double needed, double moq, double pack_size);

}  // namespace salesflow::inventory

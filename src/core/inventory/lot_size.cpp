// Wilson EOQ sqrt(2DS/H) (Silver, Pyke & Thomas 4th ed., level-demand order
// quantities) and MOQ / pack-size rounding. See lot_size.hpp.
#include "core/inventory/lot_size.hpp"

#include "core/inventory/math_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::inventory {

double eoq(double annual_demand, double ordering_cost, double holding_cost_per_unit_year) {
    detail::require_non_negative(annual_demand, "annual demand");
    detail::require_non_negative(ordering_cost, "ordering cost");
    if (!std::isfinite(holding_cost_per_unit_year) || holding_cost_per_unit_year <= 0.0)
        throw std::invalid_argument("holding cost per unit and year must be a finite number > 0");
    // 2 D (S / H) rather than 2 D S / H: the product can overflow when the quotient would not.
    return detail::finite_result(std::sqrt(2.0 * annual_demand * (ordering_cost / holding_cost_per_unit_year)),
                                 "economic order quantity");
}

double round_order_quantity(double needed, double moq, double pack_size) {
    detail::require_finite(needed, "needed quantity");
    detail::require_non_negative(moq, "minimum order quantity");
    detail::require_non_negative(pack_size, "pack size");
    if (needed <= 0.0) return 0.0;
    const double q = std::max(needed, moq);
    if (pack_size == 0.0) return q;
    const double packs = q / pack_size;
    // Relative slack of 1e-9 packs absorbs representation error of decimal inputs.
    const double whole = std::max(1.0, std::ceil(packs - 1e-9 * std::max(1.0, packs)));
    return detail::finite_result(whole * pack_size, "order quantity");
}

}  // namespace salesflow::inventory

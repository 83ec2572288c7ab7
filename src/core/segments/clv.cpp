// Discounted CLV over a horizon: BG/NBD purchases per step × Gamma-Gamma spend.
// See clv.hpp for the formula and the contract.
#include "core/segments/clv.hpp"

#include "core/common/cancel.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::segments {

namespace {
constexpr double kMaxSteps = 100000.0;
}

double clv(const BgNbdParams& bgnbd, const GammaGammaParams& gamma_gamma, double x, double t_x, double T,
           double avg_value, double horizon, double step, double discount_rate_per_step) {
    if (!std::isfinite(horizon) || horizon < 0.0) throw std::invalid_argument("clv horizon must be a finite number >= 0");
    if (!std::isfinite(step) || step <= 0.0) throw std::invalid_argument("clv step must be a finite number > 0");
    if (!std::isfinite(discount_rate_per_step) || discount_rate_per_step < 0.0)
        throw std::invalid_argument("clv discount rate must be a finite number >= 0");
    const double steps = std::ceil(horizon / step);
    if (steps > kMaxSteps) throw std::invalid_argument("clv horizon spans more than 100000 steps; use a longer step");

    // Validate x, t_x, T, m̄ and both parameter sets before any work, even
    // when the horizon is empty.
    (void)bgnbd_p_alive(bgnbd, x, t_x, T);
    const double value = gamma_gamma_expected_value(gamma_gamma, x, avg_value);
    double previous = 0.0;
    double total = 0.0;
    double discount = 1.0;
    const int n = static_cast<int>(steps);
    for (int i = 1; i <= n; ++i) {
        if (i % 64 == 0) check_cancel();
        const double t = std::min(i * step, horizon);
        const double cumulative = bgnbd_expected_conditional(bgnbd, t, x, t_x, T);
        discount /= 1.0 + discount_rate_per_step;
        // Expected purchases are non-decreasing in t; clamp rounding noise so a
        // step never subtracts value.
        total += std::max(0.0, cumulative - previous) * discount;
        previous = std::max(previous, cumulative);
    }
    const double result = total * value;
    if (!std::isfinite(result)) throw std::range_error("clv overflowed");
    return result;
}

}  // namespace salesflow::segments

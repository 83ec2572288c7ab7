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

namespace {

void check_clv_args(double horizon, double step, double discount_rate_per_step) {
    if (!std::isfinite(horizon) || horizon < 0.0) throw std::invalid_argument("clv horizon must be a finite number >= 0");
    if (!std::isfinite(step) || step <= 0.0) throw std::invalid_argument("clv step must be a finite number > 0");
    if (!std::isfinite(discount_rate_per_step) || discount_rate_per_step < 0.0)
        throw std::invalid_argument("clv discount rate must be a finite number >= 0");
    if (std::ceil(horizon / step) > kMaxSteps)
        throw std::invalid_argument("clv horizon spans more than 100000 steps; use a longer step");
}

// Σ_i (E[Y(t_i)] − E[Y(t_{i−1})]) / (1 + d)^i with E[Y(t)] = cumulative(t).
template <typename Cumulative>
double discounted_purchases(const Cumulative& cumulative, double horizon, double step, double discount_rate_per_step) {
    double previous = 0.0;
    double total = 0.0;
    double discount = 1.0;
    const int n = static_cast<int>(std::ceil(horizon / step));
    for (int i = 1; i <= n; ++i) {
        if (i % 64 == 0) check_cancel();
        const double current = cumulative(std::min(i * step, horizon));
        discount /= 1.0 + discount_rate_per_step;
        // Expected purchases are non-decreasing in t; clamp rounding noise so a
        // step never subtracts value.
        total += std::max(0.0, current - previous) * discount;
        previous = std::max(previous, current);
    }
    return total;
}

}  // namespace

double clv(const BgNbdParams& bgnbd, const GammaGammaParams& gamma_gamma, double x, double t_x, double T,
           double avg_value, double horizon, double step, double discount_rate_per_step) {
    check_clv_args(horizon, step, discount_rate_per_step);
    // Validate x, t_x, T, m̄ and both parameter sets before any work, even
    // when the horizon is empty.
    (void)bgnbd_p_alive(bgnbd, x, t_x, T);
    const double value = gamma_gamma_expected_value(gamma_gamma, x, avg_value);
    const double result =
        value * discounted_purchases([&](double t) { return bgnbd_expected_conditional(bgnbd, t, x, t_x, T); },
                                     horizon, step, discount_rate_per_step);
    if (!std::isfinite(result)) throw std::range_error("clv overflowed");
    return result;
}

double clv(const CustomerModelParams& model, double order_value, double x, double t_x, double T, double horizon,
           double step, double discount_rate_per_step) {
    check_clv_args(horizon, step, discount_rate_per_step);
    if (!std::isfinite(order_value)) throw std::invalid_argument("clv order value must be finite");
    (void)customer_model_p_alive(model, x, t_x, T);
    const double result =
        order_value * discounted_purchases([&](double t) { return customer_model_expected(model, t, x, t_x, T); },
                                           horizon, step, discount_rate_per_step);
    if (!std::isfinite(result)) throw std::range_error("clv overflowed");
    return result;
}

}  // namespace salesflow::segments

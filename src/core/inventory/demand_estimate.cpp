// Level forecast with out-of-sample errors and the forecast-error sd over the
// protection interval (Prak, Teunter & Syntetos 2017). See demand_estimate.hpp.
#include "core/inventory/demand_estimate.hpp"

#include "core/inventory/math_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::inventory {

LevelForecast::LevelForecast(double alpha, int min_history) : alpha_(alpha), min_history_(min_history) {
    if (!std::isfinite(alpha) || alpha <= 0.0 || alpha > 1.0)
        throw std::invalid_argument("smoothing constant alpha must be in (0, 1]");
    if (min_history < 1) throw std::invalid_argument("minimum history must be at least 1 period");
}

void LevelForecast::observe(double demand) {
    detail::require_non_negative(demand, "demand");
    if (periods_ == 2147483647) throw std::invalid_argument("too many periods");
    const double error = demand - level_;
    if (periods_ >= min_history_) {
        squared_error_sum_ += error * error;
        scaled_error_sum_ += error * error / (1.0 + ratio_);
        forecast_sum_ += level_;
        ++errors_;
    }
    ++periods_;
    if (demand > 0.0) ++nonzero_;
    const double weight = std::max(alpha_, 1.0 / periods_);
    level_ = detail::finite_result(level_ + weight * error, "demand level");
    occurrence_ += weight * ((demand > 0.0 ? 1.0 : 0.0) - occurrence_);
    ratio_ = (1.0 - weight) * (1.0 - weight) * ratio_ + weight * weight;
    detail::finite_result(squared_error_sum_, "squared forecast error");
}

double LevelForecast::one_step_mse() const {
    if (errors_ == 0) throw std::domain_error("no out-of-sample forecast error yet");
    return squared_error_sum_ / errors_;
}

double LevelForecast::demand_variance() const {
    if (errors_ == 0) throw std::domain_error("no out-of-sample forecast error yet");
    return scaled_error_sum_ / errors_;
}

double LevelForecast::variance_to_mean() const {
    if (!(forecast_sum_ > 0.0)) throw std::domain_error("no out-of-sample forecast of positive demand yet");
    return scaled_error_sum_ / forecast_sum_;
}

double ses_estimate_variance_ratio(double alpha) {
    if (!std::isfinite(alpha) || alpha <= 0.0 || alpha > 1.0)
        throw std::invalid_argument("smoothing constant alpha must be in (0, 1]");
    return alpha / (2.0 - alpha);
}

double forecast_error_demand_sd(double demand_variance, double estimate_variance_ratio, double horizon_mean,
                                double horizon_sd) {
    detail::require_non_negative(demand_variance, "demand variance");
    detail::require_non_negative(estimate_variance_ratio, "estimate variance ratio");
    detail::require_non_negative(horizon_mean, "protection interval");
    detail::require_non_negative(horizon_sd, "protection interval sd");
    if (horizon_mean == 0.0) throw std::invalid_argument("protection interval must be > 0");
    const double c = estimate_variance_ratio;
    const double sigma2 = demand_variance;
    const double second_moment = horizon_mean * horizon_mean + horizon_sd * horizon_sd;
    return detail::finite_result(std::sqrt(sigma2 * (1.0 + c * second_moment / horizon_mean)), "demand sd");
}

}  // namespace salesflow::inventory

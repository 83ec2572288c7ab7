// The one Boost.Math error policy of the inventory module, and the argument
// checks its formulas share.
//
// Every distribution in src/core/inventory (normal, negative binomial,
// Poisson) is a Boost.Math distribution evaluated under this policy: domain,
// pole, overflow, evaluation, rounding and indeterminate-result errors throw
// (std::domain_error, std::overflow_error, boost::math::evaluation_error,
// std::rounding_error...) instead of returning NaN or Inf, so no non-finite
// value can leak into a stock target. Underflow keeps Boost's default (a tail
// probability below the smallest double is 0, which is the right answer for a
// probability). Discrete quantiles round up: quantile(d, p) is the smallest
// integer x with P(X <= x) >= p, the definition of a service-level reorder
// point (Axsäter, "Inventory Control", 3rd ed., §5.3).
#pragma once

#include <boost/math/policies/policy.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

namespace salesflow::inventory::detail {

namespace bmp = boost::math::policies;

using MathPolicy = bmp::policy<bmp::domain_error<bmp::throw_on_error>,
                               bmp::pole_error<bmp::throw_on_error>,
                               bmp::overflow_error<bmp::throw_on_error>,
                               bmp::evaluation_error<bmp::throw_on_error>,
                               bmp::rounding_error<bmp::throw_on_error>,
                               bmp::indeterminate_result_error<bmp::throw_on_error>,
                               bmp::underflow_error<bmp::ignore_error>,
                               bmp::promote_double<false>,
                               bmp::discrete_quantile<bmp::integer_round_up>>;

// Throws std::invalid_argument("<what> must be a finite number >= 0").
inline void require_non_negative(double v, const char* what) {
    if (!std::isfinite(v) || v < 0.0)
        throw std::invalid_argument(std::string(what) + " must be a finite number >= 0");
}

inline void require_finite(double v, const char* what) {
    if (!std::isfinite(v)) throw std::invalid_argument(std::string(what) + " must be a finite number");
}

// Service targets are probabilities strictly inside (0, 1): 1 would need an
// infinite stock, 0 means no target at all.
inline void require_service(double v, const char* what) {
    if (!std::isfinite(v) || v <= 0.0 || v >= 1.0)
        throw std::invalid_argument(std::string(what) + " must be strictly between 0 and 1");
}

// A result that overflowed a double (absurdly large inputs) is reported, not returned.
inline double finite_result(double v, const char* what) {
    if (!std::isfinite(v)) throw std::overflow_error(std::string(what) + " is too large to represent");
    return v;
}

}  // namespace salesflow::inventory::detail

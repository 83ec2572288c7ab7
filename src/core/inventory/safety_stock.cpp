// Safety stock: normal (Silver, Pyke & Thomas 4th ed., probabilistic demand
// chapter) and discrete negative binomial / Poisson (Axsäter, "Inventory
// Control", §5.3) reorder points. See safety_stock.hpp for the contract. All
// distribution functions are Boost.Math under detail::MathPolicy; the fill-rate
// root is Boost's TOMS 748 bracketing solver on the strictly decreasing G(k).
#include "core/inventory/safety_stock.hpp"

#include "core/inventory/math_policy.hpp"

#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <boost/math/tools/roots.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace salesflow::inventory {
namespace {

namespace bm = boost::math;
using detail::MathPolicy;
using Normal = bm::normal_distribution<double, MathPolicy>;
using NegBinomial = bm::negative_binomial_distribution<double, MathPolicy>;
using Poisson = bm::poisson_distribution<double, MathPolicy>;

void check_ltd(const DemandOverLeadTime& ltd) {
    detail::require_non_negative(ltd.mean, "lead-time demand mean");
    detail::require_non_negative(ltd.sd, "lead-time demand sd");
}

constexpr double kMaxDiscrete = 1e12;

// The moment-fitted discrete model of the lead-time demand.
struct DiscreteModel {
    enum Kind { zero, poisson, negative_binomial } kind;
    double mean;
    double r = 0.0, p = 1.0;  // negative binomial: successes, success probability

    explicit DiscreteModel(const DemandOverLeadTime& ltd) : mean(ltd.mean) {
        check_ltd(ltd);
        // Far beyond any intermittent item, and Boost's integer search stalls
        // once counts approach 2^53.
        if (ltd.mean > kMaxDiscrete || ltd.sd > kMaxDiscrete)
            throw std::range_error("lead-time demand is too large for the discrete model (mean or sd above 1e12)");
        const double var = ltd.sd * ltd.sd;
        if (ltd.mean == 0.0) {
            kind = zero;
        } else if (!(var > ltd.mean)) {
            kind = poisson;
        } else {
            kind = negative_binomial;
            p = ltd.mean / var;                           // mean / variance
            r = ltd.mean * ltd.mean / (var - ltd.mean);   // mean^2 / (variance - mean)
            if (!std::isfinite(r) || r <= 0.0 || !(p > 0.0))
                throw std::invalid_argument("lead-time demand variance is too large for a negative binomial model");
        }
    }

    const char* name() const {
        switch (kind) {
            case zero: return "zero";
            case poisson: return "poisson";
            case negative_binomial: return "negative_binomial";
        }
        return "zero";
    }

    double cdf(double s) const {
        if (s < 0.0) return 0.0;
        switch (kind) {
            case zero: return 1.0;
            case poisson: return bm::cdf(Poisson(mean), s);
            case negative_binomial: return bm::cdf(NegBinomial(r, p), s);
        }
        return 1.0;
    }

    // E[(D - s)+] for integer s >= 0. With x p_r(x) = mean p_{r+1}(x - 1)
    // (Poisson: x p(x) = mean p(x - 1)),
    //   E[(D - s)+] = mean P(D' >= s) - s P(D > s),  D' ~ NB(r + 1, p) or D.
    double loss(double s) const {
        if (kind == zero) return 0.0;
        if (s <= 0.0) return mean - s;
        double upper_shifted = 0.0, upper = 0.0;
        if (kind == poisson) {
            const Poisson d(mean);
            upper_shifted = bm::cdf(bm::complement(d, s - 1.0));
            upper = bm::cdf(bm::complement(d, s));
        } else {
            upper_shifted = bm::cdf(bm::complement(NegBinomial(r + 1.0, p), s - 1.0));
            upper = bm::cdf(bm::complement(NegBinomial(r, p), s));
        }
        return std::max(0.0, mean * upper_shifted - s * upper);
    }

    // Smallest integer s >= 0 with cdf(s) >= service.
    double quantile(double service) const {
        if (kind == zero) return 0.0;
        double s = kind == poisson ? bm::quantile(Poisson(mean), service)
                                   : bm::quantile(NegBinomial(r, p), service);
        s = std::max(0.0, std::round(s));
        // Boost rounds up already; these steps only guard its last ulp.
        for (int i = 0; i < 64 && s > 0.0 && cdf(s - 1.0) >= service; ++i) s -= 1.0;
        for (int i = 0; i < 64 && cdf(s) < service; ++i) s += 1.0;
        if (cdf(s) < service || (s > 0.0 && cdf(s - 1.0) >= service))
            throw std::range_error("discrete reorder point did not converge");
        return s;
    }

    // Smallest integer s >= 0 with loss(s) <= target (target > 0); loss is
    // strictly decreasing while positive, so bisection on integers.
    double fill_rate_point(double target) const {
        if (loss(0.0) <= target) return 0.0;
        double lo = 0.0, hi = std::max(1.0, std::ceil(mean));
        while (loss(hi) > target) {
            lo = hi;
            hi *= 2.0;
            if (hi > 1e15) throw std::range_error("fill-rate reorder point is too large to represent");
        }
        while (hi - lo > 1.0) {
            const double mid = std::floor((lo + hi) / 2.0);
            (loss(mid) <= target ? hi : lo) = mid;
        }
        return hi;
    }
};

// Boost's series for the incomplete gamma / beta functions give up (after
// 10^6 terms) for Poisson means near 10^12: reported as a range error, as is
// any other non-convergence, rather than Boost's own exception type.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const bm::evaluation_error&) {
        throw std::range_error("discrete lead-time demand model did not converge: demand too large for it");
    }
}

}  // namespace

DemandOverLeadTime lead_time_demand(double d, double sigma_d, double L, double sigma_L, double review_period) {
    detail::require_non_negative(d, "daily demand");
    detail::require_non_negative(sigma_d, "daily demand sd");
    detail::require_non_negative(L, "lead time");
    detail::require_non_negative(sigma_L, "lead time sd");
    detail::require_non_negative(review_period, "review period");
    const double interval = L + review_period;
    const double mean = d * interval;
    const double sd = std::sqrt(interval * sigma_d * sigma_d + d * d * sigma_L * sigma_L);
    return {detail::finite_result(mean, "lead-time demand mean"), detail::finite_result(sd, "lead-time demand sd")};
}

double normal_safety_factor_cycle(double service) {
    detail::require_service(service, "cycle service level");
    return bm::quantile(Normal(0.0, 1.0), service);
}

double normal_safety_stock_cycle(double service, const DemandOverLeadTime& ltd) {
    check_ltd(ltd);
    const double z = normal_safety_factor_cycle(service);
    return detail::finite_result(z * ltd.sd, "safety stock");
}

double standard_normal_loss(double z) {
    detail::require_finite(z, "z");
    const Normal n(0.0, 1.0);
    // phi(z) - z Q(z) with the upper tail from the complement: no 1 - Phi cancellation.
    const double g = bm::pdf(n, z) - z * bm::cdf(bm::complement(n, z));
    return std::max(0.0, g);
}

double normal_safety_factor_fill_rate(double fill_rate, const DemandOverLeadTime& ltd, double order_quantity) {
    detail::require_service(fill_rate, "fill rate");
    check_ltd(ltd);
    if (!std::isfinite(order_quantity) || order_quantity <= 0.0)
        throw std::invalid_argument("order quantity must be a finite number > 0 for a fill-rate target");
    if (ltd.sd <= 0.0) throw std::invalid_argument("lead-time demand sd must be > 0 to solve for a fill-rate safety factor");
    const double target = (1.0 - fill_rate) * order_quantity / ltd.sd;
    detail::finite_result(target, "fill-rate loss target");
    // Bracket: G(k) >= -k, so G(-target - 1) > target; G decreases to 0, so
    // stepping k up finds G(k) < target (G underflows to 0 near k = 38).
    double lo = -target - 1.0, hi = 0.0;
    while (standard_normal_loss(hi) >= target) {
        lo = hi;
        hi += 1.0;
        if (hi > 64.0) throw std::range_error("fill-rate safety factor did not converge");
    }
    std::uintmax_t iterations = 200;
    const auto f = [target](double k) { return standard_normal_loss(k) - target; };
    const auto root = bm::tools::toms748_solve(f, lo, hi, bm::tools::eps_tolerance<double>(50), iterations, MathPolicy());
    return 0.5 * (root.first + root.second);
}

double normal_safety_stock_fill_rate(double fill_rate, const DemandOverLeadTime& ltd, double order_quantity) {
    detail::require_service(fill_rate, "fill rate");
    check_ltd(ltd);
    if (!std::isfinite(order_quantity) || order_quantity <= 0.0)
        throw std::invalid_argument("order quantity must be a finite number > 0 for a fill-rate target");
    if (ltd.sd == 0.0) return 0.0;
    const double k = normal_safety_factor_fill_rate(fill_rate, ltd, order_quantity);
    return detail::finite_result(k * ltd.sd, "safety stock");
}

DiscretePolicy discrete_reorder_point(ServiceType type, double service, const DemandOverLeadTime& ltd,
                                      double order_quantity) {
    const DiscreteModel model(ltd);
    double s = 0.0;
    if (type == ServiceType::cycle) {
        detail::require_service(service, "cycle service level");
        s = guarded([&] { return model.quantile(service); });
    } else {
        detail::require_service(service, "fill rate");
        if (!std::isfinite(order_quantity) || order_quantity <= 0.0)
            throw std::invalid_argument("order quantity must be a finite number > 0 for a fill-rate target");
        const double target = detail::finite_result((1.0 - service) * order_quantity, "fill-rate shortage target");
        s = guarded([&] { return model.fill_rate_point(target); });
    }
    return {s, s - ltd.mean, model.name()};
}

double discrete_demand_cdf(const DemandOverLeadTime& ltd, double s) {
    detail::require_finite(s, "reorder point");
    const DiscreteModel model(ltd);
    return guarded([&] { return model.cdf(std::floor(s)); });
}

double discrete_expected_shortage(const DemandOverLeadTime& ltd, double s) {
    detail::require_finite(s, "reorder point");
    if (s != std::floor(s)) throw std::invalid_argument("reorder point must be a whole number for discrete demand");
    const DiscreteModel model(ltd);
    return guarded([&] { return model.loss(s); });
}

}  // namespace salesflow::inventory

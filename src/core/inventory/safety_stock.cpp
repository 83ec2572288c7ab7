// Safety stock: normal (Silver, Pyke & Thomas 4th ed., probabilistic demand
// chapter) and discrete negative binomial / Poisson (Axsäter, "Inventory
// Control", §5.3) reorder points. See safety_stock.hpp for the contract. All
// distribution functions are Boost.Math under detail::MathPolicy; the fill-rate
// root is Boost's TOMS 748 bracketing solver on the strictly decreasing G(k).
#include "core/inventory/safety_stock.hpp"

#include "core/inventory/math_policy.hpp"

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <boost/math/tools/roots.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

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
// Smallest integer s >= 0 with ok(s), ok monotone in s (false, ..., true):
// doubling from about the mean until ok, then bisection on integers.
template <typename Ok>
double smallest_integer_where(Ok ok, double mean, const char* too_large) {
    if (ok(0.0)) return 0.0;
    double lo = 0.0, hi = std::max(1.0, std::ceil(mean));
    while (!ok(hi)) {
        lo = hi;
        hi *= 2.0;
        if (hi > 1e15) throw std::range_error(too_large);
    }
    while (hi - lo > 1.0) {
        const double mid = std::floor((lo + hi) / 2.0);
        (ok(mid) ? hi : lo) = mid;
    }
    return hi;
}

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
        return smallest_integer_where([&](double x) { return loss(x) <= target; }, mean,
                                      "fill-rate reorder point is too large to represent");
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

// Compound binomial demand over a random interval: see safety_stock.hpp.
class CompoundModel {
public:
    CompoundModel(const CompoundDemand& d, double interval_mean, double interval_sd) {
        if (!std::isfinite(d.probability) || d.probability <= 0.0 || d.probability > 1.0)
            throw std::invalid_argument("demand probability must be in (0, 1]");
        if (!std::isfinite(d.size_mean) || d.size_mean < 1.0)
            throw std::invalid_argument("demand size mean must be a finite number >= 1");
        detail::require_non_negative(d.size_variance, "demand size variance");
        detail::require_non_negative(interval_mean, "protection interval");
        detail::require_non_negative(interval_sd, "protection interval sd");
        if (interval_mean > 1e5 || interval_sd > 1e5 || d.size_mean > kMaxDiscrete || d.size_variance > kMaxDiscrete)
            throw std::range_error("demand too large for the compound model");
        extra_mean_ = d.size_mean - 1.0;
        if (d.size_variance > extra_mean_ && extra_mean_ > 0.0) {
            q_ = extra_mean_ / d.size_variance;
            r_ = extra_mean_ * extra_mean_ / (d.size_variance - extra_mean_);
            if (!std::isfinite(r_) || r_ <= 0.0 || !(q_ > 0.0))
                throw std::invalid_argument("demand size variance is too large for a negative binomial model");
        }
        // Interval points and weights.
        std::vector<std::pair<double, double>> points;
        const double m = interval_mean, sd = interval_sd;
        if (sd == 0.0) {
            points.emplace_back(m, 1.0);
        } else {
            const double a = std::ceil(sd);
            if (m >= a) {
                const double w = sd * sd / (2.0 * a * a);
                points = {{m - a, w}, {m, 1.0 - 2.0 * w}, {m + a, w}};
            } else if (m > 0.0) {
                const double v = (m * m + sd * sd) / m;
                points = {{0.0, 1.0 - m / v}, {v, m / v}};
            } else {
                points.emplace_back(0.0, 1.0);
            }
        }
        std::vector<std::pair<double, double>> whole;  // integer periods
        for (const auto& [h, w] : points) {
            const double lo = std::floor(h), frac = h - lo;
            if (frac > 0.0) {
                whole.emplace_back(lo, w * (1.0 - frac));
                whole.emplace_back(lo + 1.0, w * frac);
            } else {
                whole.emplace_back(lo, w);
            }
        }
        double max_h = 0.0;
        for (const auto& hw : whole) max_h = std::max(max_h, hw.first);
        if (max_h > 1e5) throw std::range_error("protection interval too long for the compound model");
        occurrences_.assign(static_cast<std::size_t>(max_h) + 1, 0.0);
        for (const auto& [h, w] : whole) {
            if (w <= 0.0) continue;
            if (d.probability >= 1.0) {
                occurrences_[static_cast<std::size_t>(h)] += w;
                continue;
            }
            const bm::binomial_distribution<double, MathPolicy> n_dist(h, d.probability);
            for (std::size_t n = 0; n <= static_cast<std::size_t>(h); ++n)
                occurrences_[n] += w * bm::pdf(n_dist, static_cast<double>(n));
        }
        mean_ = interval_mean * d.probability * d.size_mean;
    }

    // P(D <= s), s integer.
    double cdf(double s) const {
        if (s < 0.0) return 0.0;
        double sum = 0.0;
        for (std::size_t n = 0; n < occurrences_.size(); ++n) {
            const double pn = occurrences_[n], t = s - static_cast<double>(n);
            if (pn == 0.0) continue;
            if (t < 0.0) break;
            sum += pn * extra_cdf(n, t);
        }
        return std::min(1.0, sum);
    }

    // E[(D - s)+], s integer >= 0.
    double loss(double s) const {
        double sum = 0.0;
        for (std::size_t n = 0; n < occurrences_.size(); ++n) {
            const double pn = occurrences_[n];
            if (pn == 0.0) continue;
            const double nn = static_cast<double>(n), t = s - nn, extra = nn * extra_mean_;
            if (t <= 0.0) sum += pn * (extra - t);
            else sum += pn * extra_loss(n, t);
        }
        return std::max(0.0, sum);
    }

    double quantile(double service) const {
        return smallest_integer_where([&](double x) { return cdf(x) >= service; }, mean_,
                                      "compound reorder point is too large to represent");
    }

    double fill_rate_point(double target) const {
        return smallest_integer_where([&](double x) { return loss(x) <= target; }, mean_,
                                      "fill-rate reorder point is too large to represent");
    }

private:
    // The sum of n sizes minus n: NB(n r, q), Poisson(n extra_mean) or 0.
    double extra_cdf(std::size_t n, double t) const {
        const double nn = static_cast<double>(n);
        if (n == 0 || extra_mean_ == 0.0) return 1.0;
        if (r_ > 0.0) return bm::cdf(NegBinomial(nn * r_, q_), t);
        return bm::cdf(Poisson(nn * extra_mean_), t);
    }
    // E[(Y - t)+] for integer t > 0 (n >= 1).
    double extra_loss(std::size_t n, double t) const {
        const double nn = static_cast<double>(n), mean = nn * extra_mean_;
        if (n == 0 || extra_mean_ == 0.0) return 0.0;
        double upper_shifted = 0.0, upper = 0.0;
        if (r_ > 0.0) {
            upper_shifted = bm::cdf(bm::complement(NegBinomial(nn * r_ + 1.0, q_), t - 1.0));
            upper = bm::cdf(bm::complement(NegBinomial(nn * r_, q_), t));
        } else {
            const Poisson y(mean);
            upper_shifted = bm::cdf(bm::complement(y, t - 1.0));
            upper = bm::cdf(bm::complement(y, t));
        }
        return std::max(0.0, mean * upper_shifted - t * upper);
    }

    double extra_mean_ = 0.0, r_ = 0.0, q_ = 1.0, mean_ = 0.0;
    std::vector<double> occurrences_;  // P(N = n)
};

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

DiscretePolicy compound_reorder_point(ServiceType type, double service, const CompoundDemand& demand,
                                      double interval_mean, double interval_sd, double order_quantity) {
    const CompoundModel model(demand, interval_mean, interval_sd);
    const double mean = interval_mean * demand.probability * demand.size_mean;
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
    return {s, s - mean, "compound_binomial"};
}

double compound_demand_cdf(const CompoundDemand& demand, double interval_mean, double interval_sd, double s) {
    detail::require_finite(s, "reorder point");
    const CompoundModel model(demand, interval_mean, interval_sd);
    return guarded([&] { return model.cdf(std::floor(s)); });
}

double compound_expected_shortage(const CompoundDemand& demand, double interval_mean, double interval_sd, double s) {
    detail::require_finite(s, "reorder point");
    if (s != std::floor(s) || s < 0.0)
        throw std::invalid_argument("reorder point must be a whole number >= 0 for discrete demand");
    const CompoundModel model(demand, interval_mean, interval_sd);
    return guarded([&] { return model.loss(s); });
}

}  // namespace salesflow::inventory

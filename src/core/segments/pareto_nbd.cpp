// Pareto/NBD: likelihood (Fader, Hardie & Lee 2005 MATLAB note), fit,
// P(alive), expectations and P(no purchase). See pareto_nbd.hpp.
#include "core/segments/pareto_nbd.hpp"

#include "core/segments/history.hpp"

#include <boost/math/policies/policy.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>
#include <stdexcept>

namespace salesflow::segments {
namespace {

namespace bm = boost::math;

constexpr const char* kModel = "pareto/nbd";

// With z <= kSeriesMaxZ the transformed series needs a few hundred terms at
// most; a series that needs more is handed to the quadrature.
using MathPolicy = bm::policies::policy<bm::policies::promote_double<false>,
                                        bm::policies::max_series_iterations<5000>>;
const MathPolicy kPolicy{};

double lgam(double v) { return bm::lgamma(v, kPolicy); }

void check_params(const ParetoNbdParams& p) {
    for (double v : {p.r, p.alpha, p.s, p.beta})
        if (!std::isfinite(v) || v <= 0.0)
            throw std::invalid_argument("pareto/nbd parameters must be finite and positive");
}

// ln of the "dropped out between t_x and T" term s/(r+s+x) · A0, and of the
// "alive at T" term 1/((α+T)^(r+x) (β+T)^s); the likelihood is
// Γ(r+x)α^r β^s/Γ(r) times the sum of their exponentials.
struct Terms {
    double log_alive, log_dead;
};

// The dead term as the integral it stands for,
// s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ, by Gauss–Kronrod: used where the
// 2F1 series converges too slowly (argument near 1) or fails.
double log_dead_quadrature(const ParetoNbdParams& p, double x, double t_x, double T) {
    const double rx = p.r + x;
    // Scaled by the integrand at t_x so that large x does not underflow.
    const double log_scale = -rx * std::log(p.alpha + t_x) - (p.s + 1.0) * std::log(p.beta + t_x);
    auto f = [&](double tau) {
        return std::exp(-rx * std::log(p.alpha + tau) - (p.s + 1.0) * std::log(p.beta + tau) - log_scale);
    };
    const double v = bm::quadrature::gauss_kronrod<double, 31>::integrate(f, t_x, T, 8, 1e-12);
    return std::log(p.s) + std::log(v) + log_scale;
}

constexpr double kSeriesMaxZ = 0.9;

// ln F(t) per (x, t), F of the note's A0, for one parameter vector: within a
// likelihood evaluation many customers share x and T (or x and t_x), so each
// distinct 2F1 is evaluated once. NaN marks a series that failed.
using LogFCache = std::map<std::pair<double, double>, double>;

Terms terms(const ParetoNbdParams& p, double x, double t_x, double T, LogFCache* cache = nullptr) {
    const double rx = p.r + x, rsx = p.r + p.s + x;
    Terms out{-rx * std::log(p.alpha + T) - p.s * std::log(p.beta + T), -std::numeric_limits<double>::infinity()};
    if (T <= t_x) return out;  // no time to have died in
    const bool alpha_ge_beta = p.alpha >= p.beta;
    const double m = alpha_ge_beta ? p.alpha : p.beta;
    const double b = alpha_ge_beta ? p.s + 1.0 : rx;
    const double diff = std::abs(p.alpha - p.beta);
    const double z_tx = diff / (m + t_x);
    if (z_tx <= kSeriesMaxZ) {
        // Euler's transformation 2F1(A, B; A+1; z) = (1−z)^(1−B) 2F1(1, A+1−B; A+1; z)
        // (A = r+s+x): the original series for B = r+x has terms that grow
        // like (r+x)_n z^n / n! before they fall, overflowing for large x;
        // the transformed one falls at least geometrically (ratio < z).
        auto series = [&](double t) {
            try {
                const double z = diff / (m + t);
                const double f = bm::hypergeometric_pFq({1.0, rsx + 1.0 - b}, {rsx + 1.0}, z,
                                                        static_cast<double*>(nullptr), kPolicy);
                return std::log(f) + (1.0 - b) * std::log1p(-z) - rsx * std::log(m + t);
            } catch (const std::exception&) {
                return std::numeric_limits<double>::quiet_NaN();  // series failed: the quadrature decides
            }
        };
        auto log_F = [&](double t) {
            if (!cache) return series(t);
            const auto key = std::make_pair(x, t);
            const auto hit = cache->find(key);
            if (hit != cache->end()) return hit->second;
            const double v = series(t);
            cache->emplace(key, v);
            return v;
        };
        {
            const double f_tx = log_F(t_x), f_T = log_F(T);
            // A0 = F(t_x) − F(T) > 0; when rounding makes it <= 0 the difference
            // is lost to cancellation and the quadrature decides.
            if (std::isfinite(f_tx) && std::isfinite(f_T) && f_T < f_tx) {
                const double log_A0 = f_tx + std::log(-std::expm1(f_T - f_tx));
                const double log_dead = std::log(p.s / rsx) + log_A0;
                // Cancellation check: trust the difference only when it keeps
                // at least ~6 significant digits.
                if (f_tx - f_T > 1e-9) {
                    out.log_dead = log_dead;
                    return out;
                }
            }
        }
    }
    out.log_dead = log_dead_quadrature(p, x, t_x, T);
    return out;
}

double log_sum_exp(double u, double v) {
    const double m = std::max(u, v);
    if (m == -std::numeric_limits<double>::infinity()) return m;
    return m + std::log(std::exp(u - m) + std::exp(v - m));
}

double loglik(const ParetoNbdParams& p, const HistoryGroups& g) {
    const double base = p.r * std::log(p.alpha) + p.s * std::log(p.beta) - lgam(p.r);
    double ll = 0.0;
    LogFCache cache;
    for (std::size_t i = 0; i < g.T.size(); ++i) {
        const double x = g.xs[g.x_of[i]];
        const Terms t = terms(p, x, g.t_x[i], g.T[i], &cache);
        ll += g.weight[i] * (lgam(p.r + x) + base + log_sum_exp(t.log_alive, t.log_dead));
    }
    return ll;
}

}  // namespace

double pareto_nbd_loglik(const ParetoNbdParams& params, span<double> x, span<double> t_x, span<double> T) {
    check_params(params);
    return loglik(params, group_histories(kModel, x, t_x, T));
}

ParetoNbdFit fit_pareto_nbd(span<double> frequency, span<double> recency, span<double> T, const FitOptions& options) {
    const HistoryGroups g = group_histories(kModel, frequency, recency, T);
    if (g.customers == 0.0) throw std::domain_error("pareto/nbd needs at least one customer");
    // Start at r = s = 1, α = β = mean T (one purchase and one expected
    // lifetime per customer age), which makes the fit indifferent to the unit.
    const double scale = g.mean_T() > 0.0 ? g.mean_T() : 1.0;
    Eigen::VectorXd theta0(4);
    theta0 << 1.0, scale, 1.0, scale;
    const PositiveFit fit = fit_positive_parameters(
        [&](const Eigen::VectorXd& th) { return loglik({th[0], th[1], th[2], th[3]}, g); }, theta0, g.customers,
        options);
    const ParetoNbdParams p{fit.theta[0], fit.theta[1], fit.theta[2], fit.theta[3]};
    const double ll = loglik(p, g);
    if (!std::isfinite(ll)) throw std::range_error("pareto/nbd fit did not reach a finite log-likelihood");
    return ParetoNbdFit{p, ll, fit.iterations, fit.converged};
}

double pareto_nbd_p_alive(const ParetoNbdParams& params, double x, double t_x, double T) {
    check_params(params);
    check_history(kModel, kSingleCustomer, x, t_x, T);
    const Terms t = terms(params, x, x > 0.0 ? t_x : 0.0, T);
    const double log_odds_dead = t.log_dead - t.log_alive;
    if (log_odds_dead > 700.0) return 0.0;
    return 1.0 / (1.0 + std::exp(log_odds_dead));
}

double pareto_nbd_expected_conditional(const ParetoNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    const double alive = pareto_nbd_p_alive(params, x, t_x, T);
    if (alive == 0.0 || t == 0.0) return 0.0;
    const double p = params.r + x, a = params.alpha + T, b = params.beta + T, s1 = params.s - 1.0;
    // (1 − (b/(b+t))^(s−1)) / (s−1), which tends to ln((b+t)/b) as s → 1.
    const double log_ratio = std::log1p(t / b);
    const double lifetime = std::abs(s1) < 1e-8 ? log_ratio : -std::expm1(-s1 * log_ratio) / s1;
    const double e = alive * p * b / a * lifetime;
    if (!std::isfinite(e)) throw std::range_error("pareto/nbd expected purchases could not be evaluated");
    return e;
}

double pareto_nbd_p_no_purchase(const ParetoNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    const double alive = pareto_nbd_p_alive(params, x, t_x, T);
    if (alive == 0.0 || t == 0.0) return 1.0;
    const double rx = params.r + x, a = params.alpha + T, b = params.beta + T;
    auto first_purchase_density = [&](double u) {
        return rx / (a + u) * std::exp(-rx * std::log1p(u / a) - params.s * std::log1p(u / b));
    };
    const double buys = bm::quadrature::gauss_kronrod<double, 31>::integrate(first_purchase_density, 0.0, t, 8, 1e-12);
    const double p0 = 1.0 - alive * buys;
    if (!std::isfinite(p0)) throw std::range_error("pareto/nbd no-purchase probability could not be evaluated");
    return std::clamp(p0, 0.0, 1.0);
}

}  // namespace salesflow::segments

// BG/NBD (Fader, Hardie & Lee 2005): likelihood, fit, P(alive), expectations,
// count probabilities and a simulator. See bgnbd.hpp for the contract.
//
// Speed: the fit evaluates eq. 6 and its gradient on customers grouped by
// identical (x, t_x, T), and every term that depends on x alone (the gamma and
// beta function ratios and their digammas) once per distinct x, so the
// per-customer work is a few logs and one exp.
#include "core/segments/bgnbd.hpp"

#include "core/common/cancel.hpp"
#include "core/segments/history.hpp"

#include <boost/math/policies/policy.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>

namespace salesflow::segments {
namespace {

namespace bm = boost::math;

// Errors throw (the default), and doubles are not promoted to long double:
// the fits call lgamma/digamma thousands of times and do not need the extra bits.
using MathPolicy = bm::policies::policy<bm::policies::promote_double<false>,
                                        bm::policies::max_series_iterations<200000>>;
const MathPolicy kPolicy{};

double lgam(double v) { return bm::lgamma(v, kPolicy); }
double digam(double v) { return bm::digamma(v, kPolicy); }
double lbeta(double a, double b) { return lgam(a) + lgam(b) - lgam(a + b); }

constexpr const char* kModel = "bg/nbd";

void check_params(const BgNbdParams& p) {
    for (double v : {p.r, p.alpha, p.a, p.b})
        if (!std::isfinite(v) || v <= 0.0)
            throw std::invalid_argument("bg/nbd parameters must be finite and positive");
}

using Grouped = HistoryGroups;

Grouped group_customers(span<double> x, span<double> t_x, span<double> T) {
    return group_histories(kModel, x, t_x, T);
}

// Eq. 6 in logs: ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//   + ln[ (α+T)^−(r+x) + δ(x>0) a/(b+x−1) (α+t_x)^−(r+x) ],
// the bracket summed with log-sum-exp. B(a, b+x)/B(a, b) and
// B(a+1, b+x−1)/B(a, b) share the factor B(a, b+x)/B(a, b), which leaves the
// ratio a/(b+x−1) inside the bracket. Writes d lnL/d(r, α, a, b) when asked.
double loglik(const BgNbdParams& p, const Grouped& g, std::array<double, 4>* grad) {
    const double r = p.r, alpha = p.alpha, a = p.a, b = p.b;
    const std::size_t nx = g.xs.size();
    std::vector<double> const_x(nx), log_bx1(nx), dr_x(nx), da_x(nx), db_x(nx);
    const double lg_r = lgam(r), lg_b = lgam(b), lg_ab = lgam(a + b);
    const double dg_r = grad ? digam(r) : 0.0, dg_b = grad ? digam(b) : 0.0, dg_ab = grad ? digam(a + b) : 0.0;
    for (std::size_t k = 0; k < nx; ++k) {
        const double x = g.xs[k];
        if (x == 0.0) {
            const_x[k] = log_bx1[k] = dr_x[k] = da_x[k] = db_x[k] = 0.0;
            continue;
        }
        const_x[k] = lgam(r + x) - lg_r + lgam(b + x) - lg_b + lg_ab - lgam(a + b + x);
        log_bx1[k] = std::log(b + x - 1.0);
        if (grad) {
            const double dg_abx = digam(a + b + x);
            dr_x[k] = digam(r + x) - dg_r;
            da_x[k] = dg_ab - dg_abx;
            db_x[k] = digam(b + x) - dg_b + dg_ab - dg_abx;
        }
    }

    const double log_alpha = std::log(alpha), log_a = std::log(a);
    double ll = 0.0, gr = 0.0, galpha = 0.0, ga = 0.0, gb = 0.0;
    const std::size_t groups = g.T.size();
    for (std::size_t i = 0; i < groups; ++i) {
        const std::size_t k = g.x_of[i];
        const double x = g.xs[k], w = g.weight[i];
        const double rx = r + x;
        const double log_aT = std::log(alpha + g.T[i]);
        const double u1 = -rx * log_aT;  // alive at T
        double lse = u1, w2 = 0.0, log_atx = 0.0;
        if (x > 0.0) {
            log_atx = std::log(alpha + g.t_x[i]);
            const double u2 = log_a - log_bx1[k] - rx * log_atx;  // dropped out at t_x
            const double m = std::max(u1, u2);
            lse = m + std::log(std::exp(u1 - m) + std::exp(u2 - m));
            w2 = std::exp(u2 - lse);  // posterior weight of "dropped out at t_x"
        }
        ll += w * (const_x[k] + r * log_alpha + lse);
        if (grad) {
            const double w1 = 1.0 - w2;
            gr += w * (dr_x[k] + log_alpha - w1 * log_aT - w2 * log_atx);
            galpha += w * (r / alpha - rx * (w1 / (alpha + g.T[i]) + (x > 0.0 ? w2 / (alpha + g.t_x[i]) : 0.0)));
            ga += w * (da_x[k] + w2 / a);
            gb += w * (db_x[k] - (x > 0.0 ? w2 / (b + x - 1.0) : 0.0));
        }
    }
    if (grad) *grad = {gr, galpha, ga, gb};
    return ll;
}

// Reproducible random numbers: xoshiro256** (Blackman & Vigna 2018) seeded
// with splitmix64; own samplers because std:: distributions differ by library.
class Xoshiro256 {
public:
    explicit Xoshiro256(std::uint64_t seed) {
        for (auto& s : state_) {
            seed += 0x9E3779B97F4A7C15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            s = z ^ (z >> 31);
        }
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }
    // Uniform on (0, 1): never 0, so logs are safe.
    double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
    double normal() {  // Box–Muller; the second variate is dropped for simplicity
        const double u1 = uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // Gamma(shape, 1): Marsaglia & Tsang (2000); for shape < 1 their
    // Gamma(shape + 1) · U^(1/shape) identity keeps the sampler in its valid range.
    double gamma(double shape) {
        if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform(), 1.0 / shape);
        const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
        for (;;) {
            const double z = normal();
            const double v0 = 1.0 + c * z;
            if (v0 <= 0.0) continue;
            const double v = v0 * v0 * v0;
            if (std::log(uniform()) < 0.5 * z * z + d - d * v + d * std::log(v)) return d * v;
        }
    }
    double beta(double a, double b) {
        const double ga = gamma(a), gb = gamma(b);
        const double s = ga + gb;
        return s > 0.0 ? ga / s : (uniform() < a / (a + b) ? 1.0 : 0.0);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t state_[4];
};

}  // namespace

// E[(1 − e^{−λpt}) / p] over λ ~ Gamma(shape, rate), p ~ Beta(a, b): expected
// purchases in the next t of a customer alive now, whose purchases stop at
// each one with probability p (E[X(t) | λ, p] of the paper's section 3).
// Unconditionally (shape, rate, a, b) = (r, α, a, b) gives eq. 7; given a
// history it is (r+x, α+T, a, b+x) and eq. 10 multiplies by P(alive).
//
// Closed form (eq. 7): c/(a−1) · [1 − (1−z)^shape 2F1(shape, b; c; z)],
// c = a+b−1, z = t/(rate+t). Euler's transformation
// 2F1(s, b; c; z) = (1−z)^(c−s−b) 2F1(c−s, c−b; c; z) turns the bracket into
// 1 − (1−z)^(a−1) 2F1(c−shape, a−1; c; z), whose series neither overflows for
// large x nor loses the small bracket to cancellation (it is computed with
// expm1). The series converges slowly as z → 1 and the prefactor is 0/0 at
// a = 1; there, and for c < 1/2 (a pole at c = 0), the same expectation is
// integrated over p with tanh-sinh quadrature, λ integrated out exactly:
// ∫ (1 − (rate/(rate+pt))^shape) / p · Beta(p; a, b) dp.
constexpr double kSeriesMaxZ = 0.95;
constexpr double kSeriesMinDistanceFromA1 = 1e-4;

namespace {
double expected_while_alive_quadrature(double shape, double rate, double a, double b, double t) {
    // Built once (it tabulates its abscissas). Not const: Boost 1.74 forgot the
    // const qualifier on the overload taking the (x, distance-to-end) functor.
    static bm::quadrature::tanh_sinh<double> integrator;
    const double log_norm = lbeta(a, b);
    const double t_over_rate = t / rate;
    // xc is the signed distance to the nearer end: -p near 0, 1-p near 1.
    auto integrand = [&](double p, double xc) {
        const double q = xc > 0.0 ? xc : 1.0 - p;
        if (p <= 0.0 || q <= 0.0) return 0.0;
        const double stop = -std::expm1(-shape * std::log1p(p * t_over_rate));
        if (stop <= 0.0) return 0.0;
        return std::exp(std::log(stop) + (a - 2.0) * std::log(p) + (b - 1.0) * std::log(q) - log_norm);
    };
    return integrator.integrate(integrand, 0.0, 1.0, 1e-12);
}

}  // namespace

double detail::expected_while_alive(double shape, double rate, double a, double b, double t) {
    if (t == 0.0) return 0.0;
    const double z = t / (rate + t);
    const double c = a + b - 1.0;
    if (z <= kSeriesMaxZ && std::abs(a - 1.0) >= kSeriesMinDistanceFromA1 && c >= 0.5) {
        try {
            const double f = bm::hypergeometric_pFq({c - shape, a - 1.0}, {c}, z, static_cast<double*>(nullptr), kPolicy);
            if (std::isfinite(f) && f > 0.0) {
                const double log_1mz = -std::log1p(t / rate);
                const double bracket = -std::expm1((a - 1.0) * log_1mz + std::log(f));
                const double e = c / (a - 1.0) * bracket;
                if (std::isfinite(e) && e >= 0.0) return e;
            }
        } catch (const std::runtime_error&) {
            // Series exhausted or cancelled: fall through to the quadrature.
        }
    }
    double e = std::numeric_limits<double>::quiet_NaN();
    try {
        e = expected_while_alive_quadrature(shape, rate, a, b, t);
    } catch (const std::runtime_error&) {
        // Reported below with a message that names the model.
    }
    if (!std::isfinite(e) || e < 0.0)
        throw std::range_error("bg/nbd expected purchases could not be evaluated for these parameters");
    return e;
}

double bgnbd_loglik(const BgNbdParams& params, span<double> x, span<double> t_x, span<double> T) {
    check_params(params);
    return loglik(params, group_customers(x, t_x, T), nullptr);
}

std::array<double, 4> bgnbd_loglik_gradient(const BgNbdParams& params, span<double> x, span<double> t_x,
                                            span<double> T) {
    check_params(params);
    std::array<double, 4> grad{};
    loglik(params, group_customers(x, t_x, T), &grad);
    return grad;
}

BgNbdFit fit_bgnbd(span<double> frequency, span<double> recency, span<double> T, const FitOptions& options) {
    const Grouped g = group_customers(frequency, recency, T);
    if (g.customers == 0.0) throw std::domain_error("bg/nbd needs at least one customer");

    // Start at r = a = b = 1 and α = mean T: a purchase rate of one per
    // customer lifetime so far. Scaling α with the data makes the fit (and
    // the ridge) indifferent to the caller's time unit.
    double mean_T = 0.0;
    for (std::size_t i = 0; i < g.T.size(); ++i) mean_T += g.weight[i] * g.T[i];
    mean_T /= g.customers;
    Eigen::VectorXd u0(4);
    u0 << 0.0, std::log(mean_T > 0.0 ? mean_T : 1.0), 0.0, 0.0;

    // Mean negative log-likelihood on u = log θ, plus the ridge.
    const double ridge = options.ridge;
    const DifferentiableObjective objective = [&](const Eigen::VectorXd& u, Eigen::VectorXd* grad) {
        // exp(±50) ~ 5e21: beyond that the model is numerically meaningless.
        if (u.cwiseAbs().maxCoeff() > 50.0) return std::numeric_limits<double>::infinity();
        const BgNbdParams p{std::exp(u[0]), std::exp(u[1]), std::exp(u[2]), std::exp(u[3])};
        std::array<double, 4> dll{};
        const double ll = loglik(p, g, grad ? &dll : nullptr);
        const Eigen::VectorXd du = u - u0;
        if (grad) {
            const double theta[4] = {p.r, p.alpha, p.a, p.b};
            grad->resize(4);
            for (int k = 0; k < 4; ++k) (*grad)[k] = -dll[k] * theta[k] / g.customers + 2.0 * ridge * du[k];
        }
        return -ll / g.customers + ridge * du.squaredNorm();
    };

    const OptimResult res = minimize(objective, u0, options.optim);
    const BgNbdParams p{std::exp(res.x[0]), std::exp(res.x[1]), std::exp(res.x[2]), std::exp(res.x[3])};
    const double ll = loglik(p, g, nullptr);
    if (!std::isfinite(ll)) throw std::range_error("bg/nbd fit did not reach a finite log-likelihood");
    return BgNbdFit{p, ll, res.iterations, res.converged};
}

double bgnbd_p_alive(const BgNbdParams& params, double x, double t_x, double T) {
    check_params(params);
    check_history(kModel, kSingleCustomer, x, t_x, T);
    if (x == 0.0) return 1.0;
    // The note's Bayes step: 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), in logs
    // so that long silences give 0 rather than overflow.
    const double log_odds_dead = std::log(params.a) - std::log(params.b + x - 1.0) +
                                 (params.r + x) * std::log1p((T - t_x) / (params.alpha + t_x));
    if (log_odds_dead > 700.0) return 0.0;
    return 1.0 / (1.0 + std::exp(log_odds_dead));
}

double bgnbd_expected_conditional(const BgNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    const double alive = bgnbd_p_alive(params, x, t_x, T);  // validates the rest
    if (alive == 0.0 || t == 0.0) return 0.0;
    // Eq. 10: P(alive) times the expectation under the posterior
    // λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x) of a customer alive at T.
    return alive * detail::expected_while_alive(params.r + x, params.alpha + T, params.a, params.b + x, t);
}

double bgnbd_expected_unconditional(const BgNbdParams& params, double t) {
    check_params(params);
    check_horizon(t);
    return detail::expected_while_alive(params.r, params.alpha, params.a, params.b, t);
}

double bgnbd_p_count(const BgNbdParams& params, double t, int n) {
    check_params(params);
    check_horizon(t);
    if (n < 0) throw std::invalid_argument("purchase count n must be >= 0");
    if (t == 0.0) return n == 0 ? 1.0 : 0.0;
    const double r = params.r, alpha = params.alpha, a = params.a, b = params.b, dn = n;
    // Eq. 8, first term: still alive after n purchases, an NBD count of n.
    const double log_first = lbeta(a, b + dn) - lbeta(a, b) + lgam(r + dn) - lgam(r) - lgam(dn + 1.0) -
                             r * std::log1p(t / alpha) + dn * std::log(t / (alpha + t));
    double prob = std::exp(log_first);
    if (n > 0) {
        // Second term: died at the n-th purchase, which the NBD reached by t. Its
        // bracket 1 − Σ_{j<n} NB(j) is the NB upper tail, the regularised
        // incomplete beta I_{t/(α+t)}(n, r), computed without cancellation.
        const double tail = bm::ibeta(dn, r, t / (alpha + t), kPolicy);
        prob += std::exp(lbeta(a + 1.0, b + dn - 1.0) - lbeta(a, b)) * tail;
    }
    if (!std::isfinite(prob)) throw std::range_error("bg/nbd count probability could not be evaluated");
    return std::clamp(prob, 0.0, 1.0);
}

BgNbdSample bgnbd_simulate(const BgNbdParams& params, std::size_t customers, double T_min, double T_max,
                           std::uint64_t seed) {
    check_params(params);
    if (!std::isfinite(T_min) || !std::isfinite(T_max) || T_min < 0.0 || T_max < T_min)
        throw std::invalid_argument("simulation ages need 0 <= T_min <= T_max, both finite");
    Xoshiro256 rng(seed);
    BgNbdSample s;
    s.x.reserve(customers);
    s.t_x.reserve(customers);
    s.T.reserve(customers);
    for (std::size_t i = 0; i < customers; ++i) {
        if (i % 4096 == 0) check_cancel();
        const double lambda = rng.gamma(params.r) / params.alpha;
        const double p = rng.beta(params.a, params.b);
        const double T = T_min + (T_max - T_min) * rng.uniform();
        double t = 0.0, x = 0.0, t_x = 0.0;
        // Assumptions (i)–(iv): Poisson purchases while alive; after each
        // repeat purchase the customer drops out with probability p.
        while (lambda > 0.0) {
            t += -std::log(rng.uniform()) / lambda;
            if (t > T) break;
            x += 1.0;
            t_x = t;
            if (rng.uniform() < p) break;
        }
        s.x.push_back(x);
        s.t_x.push_back(t_x);
        s.T.push_back(T);
    }
    return s;
}

}  // namespace salesflow::segments

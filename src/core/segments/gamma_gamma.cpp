// Gamma-Gamma spend model (Fader, Hardie & Lee 2005 JMR; Fader & Hardie 2013
// note): log-likelihood, analytic gradient, fit and conditional expected
// average value. See gamma_gamma.hpp for the formulas and the contract.
#include "core/segments/gamma_gamma.hpp"

#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace salesflow::segments {
namespace {

namespace bm = boost::math;

using MathPolicy = bm::policies::policy<bm::policies::promote_double<false>>;
const MathPolicy kPolicy{};

double lgam(double v) { return bm::lgamma(v, kPolicy); }
double digam(double v) { return bm::digamma(v, kPolicy); }

std::string fmt(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

constexpr std::size_t kSingleCustomer = static_cast<std::size_t>(-1);

[[noreturn]] void bad_row(std::size_t row, const std::string& what) {
    if (row == kSingleCustomer) throw std::invalid_argument("gamma-gamma customer: " + what);
    throw std::invalid_argument("gamma-gamma input row " + std::to_string(row + 1) + ": " + what);
}

void check_params(const GammaGammaParams& p) {
    for (double v : {p.p, p.q, p.gamma})
        if (!std::isfinite(v) || v <= 0.0)
            throw std::invalid_argument("gamma-gamma parameters must be finite and positive");
}

void check_customer(std::size_t row, double x, double m) {
    if (!std::isfinite(x) || !std::isfinite(m)) bad_row(row, "frequency and average value must be finite numbers");
    if (x < 0.0 || x != std::floor(x)) bad_row(row, "frequency x must be a whole number >= 0, got " + fmt(x));
    if (m < 0.0) bad_row(row, "average value must be >= 0, got " + fmt(m));
}

// The usable rows (x >= 1, m̄ > 0), with distinct x indexed so that the gamma
// function terms, which depend on x alone, are computed once per x.
struct Usable {
    std::vector<double> xs;         // distinct x, ascending
    std::vector<std::size_t> x_of;  // per row: index into xs
    std::vector<double> m, log_m;
    std::size_t repeat_buyers = 0;  // x >= 1, whatever their spend
};

Usable usable_rows(span<double> x, span<double> m) {
    if (x.size() != m.size())
        throw std::invalid_argument("gamma-gamma inputs frequency and average value must have the same length");
    Usable u;
    std::vector<double> row_x;
    for (std::size_t i = 0; i < x.size(); ++i) {
        check_customer(i, x[i], m[i]);
        if (x[i] == 0.0) continue;
        ++u.repeat_buyers;
        if (m[i] == 0.0) continue;
        row_x.push_back(x[i]);
        u.m.push_back(m[i]);
        u.log_m.push_back(std::log(m[i]));
    }
    u.xs = row_x;
    std::sort(u.xs.begin(), u.xs.end());
    u.xs.erase(std::unique(u.xs.begin(), u.xs.end()), u.xs.end());
    u.x_of.reserve(row_x.size());
    for (double v : row_x)
        u.x_of.push_back(static_cast<std::size_t>(std::lower_bound(u.xs.begin(), u.xs.end(), v) - u.xs.begin()));
    return u;
}

// ln f = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x − (px+q) ln(γ + x m̄);
// d/dp = x [ψ(px+q) − ψ(px) + ln x + ln m̄ − ln(γ + x m̄)],
// d/dq = ψ(px+q) − ψ(q) + ln γ − ln(γ + x m̄),   d/dγ = q/γ − (px+q)/(γ + x m̄).
double loglik(const GammaGammaParams& par, const Usable& u, std::array<double, 3>* grad) {
    const double p = par.p, q = par.q, gamma = par.gamma;
    const std::size_t nx = u.xs.size();
    std::vector<double> const_x(nx), dp_x(nx), dq_x(nx);
    const double lg_q = lgam(q), dg_q = grad ? digam(q) : 0.0;
    for (std::size_t k = 0; k < nx; ++k) {
        const double x = u.xs[k], px = p * x;
        const double log_x = std::log(x);
        const_x[k] = lgam(px + q) - lgam(px) - lg_q + px * log_x;
        if (grad) {
            const double dg_pxq = digam(px + q);
            dp_x[k] = x * (dg_pxq - digam(px) + log_x);
            dq_x[k] = dg_pxq - dg_q;
        }
    }
    const double log_gamma = std::log(gamma);
    double ll = 0.0, gp = 0.0, gq = 0.0, gg = 0.0;
    for (std::size_t i = 0; i < u.m.size(); ++i) {
        const std::size_t k = u.x_of[i];
        const double x = u.xs[k], px = p * x;
        const double denom = gamma + x * u.m[i];
        const double log_denom = std::log(denom);
        ll += const_x[k] + q * log_gamma + (px - 1.0) * u.log_m[i] - (px + q) * log_denom;
        if (grad) {
            gp += dp_x[k] + x * (u.log_m[i] - log_denom);
            gq += dq_x[k] + log_gamma - log_denom;
            gg += q / gamma - (px + q) / denom;
        }
    }
    if (grad) *grad = {gp, gq, gg};
    return ll;
}

}  // namespace

double gamma_gamma_loglik(const GammaGammaParams& params, span<double> frequency, span<double> avg_value) {
    check_params(params);
    return loglik(params, usable_rows(frequency, avg_value), nullptr);
}

std::array<double, 3> gamma_gamma_loglik_gradient(const GammaGammaParams& params, span<double> frequency,
                                                  span<double> avg_value) {
    check_params(params);
    std::array<double, 3> grad{};
    loglik(params, usable_rows(frequency, avg_value), &grad);
    return grad;
}

GammaGammaFit fit_gamma_gamma(span<double> frequency, span<double> avg_value, const FitOptions& options) {
    const Usable u = usable_rows(frequency, avg_value);
    if (u.m.size() < 2) {
        if (u.repeat_buyers >= 2)
            throw std::domain_error("gamma-gamma needs repeat buyers with positive spend; all have zero average value");
        throw std::domain_error("gamma-gamma needs at least 2 customers with repeat purchases");
    }
    const double n = static_cast<double>(u.m.size());

    // Start at p = 1, q = 2, γ = mean m̄, so that the implied population mean
    // pγ/(q−1) equals the observed mean spend; the currency unit then only
    // shifts log γ, and neither the fit nor the ridge depends on it.
    double mean_m = 0.0;
    for (double m : u.m) mean_m += m;
    mean_m /= n;
    Eigen::VectorXd u0(3);
    u0 << 0.0, std::log(2.0), std::log(mean_m);

    const double ridge = options.ridge;
    const DifferentiableObjective objective = [&](const Eigen::VectorXd& v, Eigen::VectorXd* grad) {
        if (v.cwiseAbs().maxCoeff() > 50.0) return std::numeric_limits<double>::infinity();
        const GammaGammaParams par{std::exp(v[0]), std::exp(v[1]), std::exp(v[2])};
        std::array<double, 3> dll{};
        const double ll = loglik(par, u, grad ? &dll : nullptr);
        const Eigen::VectorXd dv = v - u0;
        if (grad) {
            const double theta[3] = {par.p, par.q, par.gamma};
            grad->resize(3);
            for (int k = 0; k < 3; ++k) (*grad)[k] = -dll[k] * theta[k] / n + 2.0 * ridge * dv[k];
        }
        return -ll / n + ridge * dv.squaredNorm();
    };

    const OptimResult res = minimize(objective, u0, options.optim);
    const GammaGammaParams par{std::exp(res.x[0]), std::exp(res.x[1]), std::exp(res.x[2])};
    const double ll = loglik(par, u, nullptr);
    if (!std::isfinite(ll)) throw std::range_error("gamma-gamma fit did not reach a finite log-likelihood");
    return GammaGammaFit{par, ll, res.iterations, res.converged, static_cast<int>(u.m.size())};
}

double gamma_gamma_expected_value(const GammaGammaParams& params, double x, double avg_value) {
    check_params(params);
    check_customer(kSingleCustomer, x, avg_value);
    const double p = params.p, q = params.q, gamma = params.gamma;
    if (x == 0.0) {
        if (q <= 1.0)
            throw std::domain_error("gamma-gamma population mean spend is infinite when q <= 1");
        return p * gamma / (q - 1.0);
    }
    const double shape = p * x + q;
    if (shape <= 1.0)
        throw std::domain_error("gamma-gamma expected spend is infinite when p*x + q <= 1");
    // Posterior ν | m̄, x ~ Gamma(px+q, γ + x m̄) and E[M | ν] = p/ν.
    const double e = p * (gamma + x * avg_value) / (shape - 1.0);
    if (!std::isfinite(e)) throw std::range_error("gamma-gamma expected spend overflowed");
    return e;
}

}  // namespace salesflow::segments

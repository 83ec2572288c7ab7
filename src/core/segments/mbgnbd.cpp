// MBG/NBD (Batislam, Denizel & Filiztekin 2007): likelihood, fit, P(alive),
// expectation, and P(no purchase) for MBG/NBD and BG/NBD. See mbgnbd.hpp.
#include "core/segments/mbgnbd.hpp"

#include "core/segments/history.hpp"

#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace salesflow::segments {
namespace {

namespace bm = boost::math;

constexpr const char* kModel = "mbg/nbd";

using MathPolicy = bm::policies::policy<bm::policies::promote_double<false>>;
const MathPolicy kPolicy{};

double lgam(double v) { return bm::lgamma(v, kPolicy); }

void check_params(const MbgNbdParams& p) {
    for (double v : {p.r, p.alpha, p.a, p.b})
        if (!std::isfinite(v) || v <= 0.0)
            throw std::invalid_argument("mbg/nbd parameters must be finite and positive");
}

double loglik(const MbgNbdParams& p, const HistoryGroups& g) {
    const double r = p.r, alpha = p.alpha, a = p.a, b = p.b;
    const double base = r * std::log(alpha) - lgam(r) - (lgam(a) + lgam(b) - lgam(a + b));
    double ll = 0.0;
    for (std::size_t i = 0; i < g.T.size(); ++i) {
        const double x = g.xs[g.x_of[i]], rx = r + x;
        // Γ(r+x)/Γ(r) α^r B(a, b+x)/B(a, b), then the two-term bracket in logs.
        const double log_const = lgam(rx) + lgam(a) + lgam(b + x) - lgam(a + b + x) + base;
        const double u_alive = std::log((b + x) / (a + b + x)) - rx * std::log(alpha + g.T[i]);
        const double u_dead = std::log(a / (a + b + x)) - rx * std::log(alpha + g.t_x[i]);
        const double m = std::max(u_alive, u_dead);
        ll += g.weight[i] * (log_const + m + std::log(std::exp(u_alive - m) + std::exp(u_dead - m)));
    }
    return ll;
}

// 1 − P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)), see mbgnbd.hpp.
double no_purchase(double alive, double r, double alpha, double t, double x, double T) {
    if (t == 0.0) return 1.0;
    const double buys_if_alive = -std::expm1(-(r + x) * std::log1p(t / (alpha + T)));
    return std::clamp(1.0 - alive * buys_if_alive, 0.0, 1.0);
}

}  // namespace

double mbgnbd_loglik(const MbgNbdParams& params, span<double> x, span<double> t_x, span<double> T) {
    check_params(params);
    return loglik(params, group_histories(kModel, x, t_x, T));
}

MbgNbdFit fit_mbgnbd(span<double> frequency, span<double> recency, span<double> T, const FitOptions& options) {
    const HistoryGroups g = group_histories(kModel, frequency, recency, T);
    if (g.customers == 0.0) throw std::domain_error("mbg/nbd needs at least one customer");
    const double scale = g.mean_T() > 0.0 ? g.mean_T() : 1.0;
    Eigen::VectorXd theta0(4);
    theta0 << 1.0, scale, 1.0, 1.0;
    const PositiveFit fit = fit_positive_parameters(
        [&](const Eigen::VectorXd& th) { return loglik({th[0], th[1], th[2], th[3]}, g); }, theta0, g.customers,
        options);
    const MbgNbdParams p{fit.theta[0], fit.theta[1], fit.theta[2], fit.theta[3]};
    const double ll = loglik(p, g);
    if (!std::isfinite(ll)) throw std::range_error("mbg/nbd fit did not reach a finite log-likelihood");
    return MbgNbdFit{p, ll, fit.iterations, fit.converged};
}

double mbgnbd_p_alive(const MbgNbdParams& params, double x, double t_x, double T) {
    check_params(params);
    check_history(kModel, kSingleCustomer, x, t_x, T);
    const double tx = x > 0.0 ? t_x : 0.0;
    const double log_odds_dead = std::log(params.a) - std::log(params.b + x) +
                                 (params.r + x) * std::log1p((T - tx) / (params.alpha + tx));
    if (log_odds_dead > 700.0) return 0.0;
    return 1.0 / (1.0 + std::exp(log_odds_dead));
}

double mbgnbd_expected_conditional(const MbgNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    const double alive = mbgnbd_p_alive(params, x, t_x, T);
    if (alive == 0.0 || t == 0.0) return 0.0;
    return alive * detail::expected_while_alive(params.r + x, params.alpha + T, params.a, params.b + x + 1.0, t);
}

double mbgnbd_p_no_purchase(const MbgNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    return no_purchase(mbgnbd_p_alive(params, x, t_x, T), params.r, params.alpha, t, x, T);
}

double bgnbd_p_no_purchase(const BgNbdParams& params, double t, double x, double t_x, double T) {
    check_horizon(t);
    return no_purchase(bgnbd_p_alive(params, x, t_x, T), params.r, params.alpha, t, x, T);
}

}  // namespace salesflow::segments

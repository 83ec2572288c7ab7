// BFGS + backtracking line search, central-difference gradients and the
// Nelder–Mead simplex; see optimize.hpp for the references and the contract.
#include "core/segments/optimize.hpp"

#include "core/common/cancel.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace salesflow::segments {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Non-finite values order after every finite one, so a failed evaluation is
// simply a very bad point.
double sanitised(double v) { return std::isfinite(v) ? v : kInf; }

bool gradient_small(const Eigen::VectorXd& g, double f, double tol) {
    return g.lpNorm<Eigen::Infinity>() <= tol * std::max(1.0, std::abs(f));
}

}  // namespace

Eigen::VectorXd numerical_gradient(const Objective& f, const Eigen::VectorXd& x) {
    // eps^(1/3) balances the O(h^2) truncation error of the central
    // difference against the O(eps/h) rounding error.
    const double h0 = std::cbrt(std::numeric_limits<double>::epsilon());
    Eigen::VectorXd g(x.size());
    Eigen::VectorXd xp = x;
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        const double h = h0 * std::max(1.0, std::abs(x[i]));
        xp[i] = x[i] + h;
        const double fp = f(xp);
        xp[i] = x[i] - h;
        const double fm = f(xp);
        xp[i] = x[i];
        // Divide by the step actually represented in floating point.
        g[i] = (fp - fm) / ((x[i] + h) - (x[i] - h));
    }
    return g;
}

DifferentiableObjective with_numerical_gradient(Objective f) {
    return [f = std::move(f)](const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
        if (grad != nullptr) *grad = numerical_gradient(f, x);
        return f(x);
    };
}

OptimResult minimize_bfgs(const DifferentiableObjective& f, const Eigen::VectorXd& x0,
                          const OptimOptions& options) {
    const Eigen::Index n = x0.size();
    OptimResult res;
    res.x = x0;
    Eigen::VectorXd g(n);
    res.value = f(res.x, &g);
    res.evaluations = 1;
    if (!std::isfinite(res.value) || !g.allFinite())
        throw std::domain_error("objective is not finite at the starting point");

    const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(n, n);
    Eigen::MatrixXd h_inv = identity;  // inverse Hessian approximation
    bool h_is_identity = true;
    Eigen::VectorXd x_new(n), g_new(n);
    int stalled_iterations = 0;
    bool stalled = false;

    for (int iter = 0; iter < options.max_iterations; ++iter) {
        check_cancel();
        if (gradient_small(g, res.value, options.gradient_tolerance)) {
            res.converged = true;
            return res;
        }
        ++res.iterations;

        Eigen::VectorXd d = -h_inv * g;
        if (!d.allFinite() || g.dot(d) >= 0.0) {
            // The approximation lost positive definiteness: restart as steepest descent.
            h_inv = identity;
            h_is_identity = true;
            d = -g;
        }
        const double d_norm = d.lpNorm<Eigen::Infinity>();
        if (d_norm > options.max_step) d *= options.max_step / d_norm;
        const double slope = g.dot(d);

        // Armijo backtracking; safeguarded quadratic interpolation picks the
        // next trial step (Nocedal & Wright eq. 3.57), within [0.1, 0.5] of the last.
        double step = 1.0;
        double f_new = kInf;
        bool accepted = false;
        for (int k = 0; k < 60; ++k) {
            x_new = res.x + step * d;
            f_new = sanitised(f(x_new, &g_new));
            ++res.evaluations;
            if (f_new <= res.value + 1e-4 * step * slope && g_new.allFinite()) {
                accepted = true;
                break;
            }
            double next = 0.5;
            if (std::isfinite(f_new)) {
                const double denom = 2.0 * (f_new - res.value - slope * step);
                if (denom > 0.0) next = std::clamp(-slope * step / denom, 0.1, 0.5);
            } else {
                next = 0.25;
            }
            step *= next;
        }
        if (!accepted) {
            if (h_is_identity) {  // even steepest descent cannot move
                stalled = true;
                break;
            }
            h_inv = identity;
            h_is_identity = true;
            continue;
        }

        const Eigen::VectorXd s = x_new - res.x;
        const Eigen::VectorXd y = g_new - g;
        const double ys = y.dot(s);
        // Skip the update unless the curvature condition holds; otherwise
        // the approximation would stop being positive definite.
        if (ys > 1e-12 * s.norm() * y.norm()) {
            if (h_is_identity) {
                h_inv = identity * (ys / y.squaredNorm());  // N&W eq. 6.20
            }
            const double rho = 1.0 / ys;
            const Eigen::VectorXd hy = h_inv * y;
            // N&W eq. 6.17 expanded: H + rho^2 (y'Hy) ss' + rho ss' - rho (Hy s' + s y'H).
            h_inv += (rho * rho * y.dot(hy) + rho) * (s * s.transpose()) -
                     rho * (hy * s.transpose() + s * hy.transpose());
            h_is_identity = false;
        }
        // Decreases at the level of rounding noise in f mean the search has
        // reached the noise floor; three in a row end it.
        const bool tiny_decrease = res.value - f_new <= 1e-14 * std::max(1.0, std::abs(res.value));
        stalled_iterations = tiny_decrease ? stalled_iterations + 1 : 0;
        res.x = x_new;
        res.value = f_new;
        g = g_new;
        if (stalled_iterations >= 3) {
            stalled = true;
            break;
        }
    }
    // At the noise floor the gradient cannot get smaller; accept it when it
    // is small on the looser scale.
    res.converged = gradient_small(g, res.value, options.gradient_tolerance) ||
                    (stalled && gradient_small(g, res.value, options.stall_gradient_tolerance));
    return res;
}

OptimResult minimize_nelder_mead(const Objective& f, const Eigen::VectorXd& x0,
                                 const OptimOptions& options) {
    const Eigen::Index n = x0.size();
    OptimResult res;
    std::vector<Eigen::VectorXd> simplex(static_cast<std::size_t>(n + 1), x0);
    std::vector<double> values(static_cast<std::size_t>(n + 1));
    values[0] = sanitised(f(x0));
    if (!std::isfinite(values[0])) throw std::domain_error("objective is not finite at the starting point");
    for (Eigen::Index i = 0; i < n; ++i) {
        simplex[i + 1][i] += options.simplex_size * std::max(1.0, std::abs(x0[i]));
        values[i + 1] = sanitised(f(simplex[i + 1]));
    }
    res.evaluations = static_cast<int>(n + 1);

    std::vector<std::size_t> order(simplex.size());
    auto sort_simplex = [&] {
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    };
    auto eval = [&](const Eigen::VectorXd& x) {
        ++res.evaluations;
        return sanitised(f(x));
    };

    sort_simplex();
    for (int iter = 0; iter < options.max_iterations; ++iter) {
        check_cancel();
        const std::size_t best = order.front(), worst = order.back(), second = order[order.size() - 2];
        double diameter = 0.0;
        for (const auto& v : simplex) diameter = std::max(diameter, (v - simplex[best]).lpNorm<Eigen::Infinity>());
        if (values[worst] - values[best] <= options.value_tolerance * std::max(1.0, std::abs(values[best])) &&
            diameter <= options.step_tolerance * std::max(1.0, simplex[best].lpNorm<Eigen::Infinity>())) {
            res.converged = true;
            break;
        }
        ++res.iterations;

        Eigen::VectorXd centroid = Eigen::VectorXd::Zero(n);
        for (std::size_t k = 0; k + 1 < order.size(); ++k) centroid += simplex[order[k]];
        centroid /= static_cast<double>(n);

        const Eigen::VectorXd reflected = centroid + (centroid - simplex[worst]);
        const double f_reflected = eval(reflected);
        if (f_reflected < values[best]) {
            const Eigen::VectorXd expanded = centroid + 2.0 * (centroid - simplex[worst]);
            const double f_expanded = eval(expanded);
            if (f_expanded < f_reflected) {
                simplex[worst] = expanded;
                values[worst] = f_expanded;
            } else {
                simplex[worst] = reflected;
                values[worst] = f_reflected;
            }
        } else if (f_reflected < values[second]) {
            simplex[worst] = reflected;
            values[worst] = f_reflected;
        } else {
            // Contract towards the better of the reflected and the worst point.
            const bool outside = f_reflected < values[worst];
            const Eigen::VectorXd contracted =
                outside ? Eigen::VectorXd(centroid + 0.5 * (reflected - centroid))
                        : Eigen::VectorXd(centroid + 0.5 * (simplex[worst] - centroid));
            const double f_contracted = eval(contracted);
            if (f_contracted < (outside ? f_reflected : values[worst])) {
                simplex[worst] = contracted;
                values[worst] = f_contracted;
            } else {
                for (std::size_t k = 0; k < simplex.size(); ++k) {
                    if (k == best) continue;
                    simplex[k] = simplex[best] + 0.5 * (simplex[k] - simplex[best]);
                    values[k] = eval(simplex[k]);
                }
            }
        }
        sort_simplex();
    }
    sort_simplex();
    res.x = simplex[order.front()];
    res.value = values[order.front()];
    return res;
}

OptimResult minimize(const DifferentiableObjective& f, const Eigen::VectorXd& x0,
                     const OptimOptions& options) {
    OptimResult first = minimize_bfgs(f, x0, options);
    if (first.converged) return first;

    const Objective value_only = [&f](const Eigen::VectorXd& x) { return f(x, nullptr); };
    OptimResult simplex = minimize_nelder_mead(value_only, first.x, options);
    OptimResult polish = minimize_bfgs(f, simplex.value <= first.value ? simplex.x : first.x, options);

    OptimResult best = polish;
    if (simplex.value < best.value) best = simplex;
    if (first.value < best.value) best = first;
    best.iterations = first.iterations + simplex.iterations + polish.iterations;
    best.evaluations = first.evaluations + simplex.evaluations + polish.evaluations;
    best.converged = polish.converged && best.value == polish.value;
    return best;
}

PositiveFit fit_positive_parameters(const std::function<double(const Eigen::VectorXd& theta)>& loglik,
                                    const Eigen::VectorXd& theta0, double customers, const FitOptions& options) {
    const Eigen::VectorXd u0 = theta0.array().log().matrix();
    const double ridge = options.ridge;
    const Objective objective = [&](const Eigen::VectorXd& u) {
        // exp(±50) ~ 5e21: beyond that the models are numerically meaningless.
        if (u.cwiseAbs().maxCoeff() > 50.0) return std::numeric_limits<double>::infinity();
        const double ll = loglik(u.array().exp().matrix());
        if (!std::isfinite(ll)) return std::numeric_limits<double>::infinity();
        return -ll / customers + ridge * (u - u0).squaredNorm();
    };
    const OptimResult res = minimize(with_numerical_gradient(objective), u0, options.optim);
    return PositiveFit{res.x.array().exp().matrix(), res.iterations, res.converged};
}

}  // namespace salesflow::segments

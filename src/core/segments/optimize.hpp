// Small unconstrained minimisers for the segments fits (BG/NBD, Gamma-Gamma).
//
// BFGS with an Armijo backtracking line search (Nocedal & Wright, "Numerical
// Optimization", 2nd ed., algorithm 6.1 with the inverse-Hessian update of
// eq. 6.17 and the initial scaling of eq. 6.20), central-difference gradients
// (ibid. eq. 8.7) when no analytic gradient is at hand, and the Nelder–Mead
// simplex (Nelder & Mead 1965, with the standard coefficients 1, 2, 1/2, 1/2 of
// Lagarias et al. 1998) as a derivative-free fallback when BFGS stalls. The
// fits run on log-parameters, so positivity needs no constraints here.
//
// Objectives may return +inf (or NaN) for points they cannot evaluate; the
// line search and the simplex treat such points as "worse than anything" and
// retreat. The starting point itself must be finite, else std::domain_error.
// Every iteration polls salesflow::check_cancel().
#pragma once

#include <Eigen/Core>

#include <functional>

namespace salesflow::segments {

// Value-only objective.
using Objective = std::function<double(const Eigen::VectorXd& x)>;

// Objective that also writes its gradient into *grad when grad != nullptr.
using DifferentiableObjective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* grad)>;

struct OptimOptions {
    int max_iterations = 1000;        // per method; minimize() may run up to three
    // BFGS converged when max|g_i| <= gradient_tolerance * max(1, |f|); or,
    // once rounding noise in f stops the line search from making progress,
    // when max|g_i| <= stall_gradient_tolerance * max(1, |f|).
    double gradient_tolerance = 1e-9;
    double stall_gradient_tolerance = 1e-6;
    // Nelder–Mead: converged when the simplex's value spread is below
    // value_tolerance * max(1, |f_best|) and its diameter below step_tolerance.
    double value_tolerance = 1e-13;
    double step_tolerance = 1e-9;
    // Longest step BFGS may take (infinity norm); on log-parameters 5 means a
    // factor e^5 ~ 150, which keeps trial points away from overflow.
    double max_step = 5.0;
    // Edge of Nelder–Mead's initial simplex.
    double simplex_size = 0.5;
};

struct OptimResult {
    Eigen::VectorXd x;       // best point found
    double value = 0.0;      // objective at x
    int iterations = 0;      // iterations of all methods run
    int evaluations = 0;     // objective evaluations (a gradient counts as one)
    bool converged = false;  // the method's convergence test passed at x
};

// Central-difference gradient, step h_i = eps^(1/3) * max(1, |x_i|).
Eigen::VectorXd numerical_gradient(const Objective& f, const Eigen::VectorXd& x);

// Wraps a value-only objective so that its gradient comes from numerical_gradient.
DifferentiableObjective with_numerical_gradient(Objective f);

OptimResult minimize_bfgs(const DifferentiableObjective& f, const Eigen::VectorXd& x0,
                          const OptimOptions& options = {});

OptimResult minimize_nelder_mead(const Objective& f, const Eigen::VectorXd& x0,
                                 const OptimOptions& options = {});

// BFGS; if it does not converge, Nelder–Mead from its best point, then BFGS
// again to polish. Returns the best point seen and the summed iterations.
OptimResult minimize(const DifferentiableObjective& f, const Eigen::VectorXd& x0,
                     const OptimOptions& options = {});

// Options shared by fit_bgnbd and fit_gamma_gamma.
struct FitOptions {
    OptimOptions optim{};
    // Weight of a ridge penalty ridge * |u - u0|^2 on the log-parameters u
    // (u0 = the data-scaled starting point) added to the mean negative
    // log-likelihood. It keeps estimates finite when the likelihood's supremum
    // lies on the boundary (no repeat buyers, identical spends, a single
    // customer); on CDNOW it moves the estimates by ~2e-6 relative.
    // 0 gives the plain MLE.
    double ridge = 1e-8;
};

// Maximum likelihood over positive parameters θ: minimises
// −loglik(θ)/customers + ridge·|u − u0|² over u = log θ (u0 = log θ0) with
// minimize() and central-difference gradients. loglik may return −inf or NaN
// where it cannot be evaluated. Returns θ at the optimum.
struct PositiveFit {
    Eigen::VectorXd theta;
    int iterations = 0;
    bool converged = false;
};
PositiveFit fit_positive_parameters(const std::function<double(const Eigen::VectorXd& theta)>& loglik,
                                    const Eigen::VectorXd& theta0, double customers, const FitOptions& options);

}  // namespace salesflow::segments

// The segments optimiser on textbook problems: Rosenbrock, a quadratic with
// known Hessian, objectives with infeasible regions, and cancellation.
#include "core/segments/optimize.hpp"

#include "core/common/cancel.hpp"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace sg = salesflow::segments;

namespace {

double rosenbrock(const Eigen::VectorXd& v) {
    const double x = v[0], y = v[1];
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}

double rosenbrock_with_gradient(const Eigen::VectorXd& v, Eigen::VectorXd* g) {
    const double x = v[0], y = v[1];
    if (g) {
        g->resize(2);
        (*g)[0] = -2 * (1 - x) - 400 * x * (y - x * x);
        (*g)[1] = 200 * (y - x * x);
    }
    return rosenbrock(v);
}

Eigen::VectorXd start() {
    Eigen::VectorXd x0(2);
    x0 << -1.2, 1.0;  // the classic starting point
    return x0;
}

}  // namespace

TEST(SegmentsOptimize, BfgsSolvesRosenbrockWithAnalyticGradient) {
    const auto res = sg::minimize_bfgs(rosenbrock_with_gradient, start());
    EXPECT_TRUE(res.converged);
    EXPECT_NEAR(res.x[0], 1.0, 1e-6);
    EXPECT_NEAR(res.x[1], 1.0, 1e-6);
    EXPECT_LT(res.value, 1e-12);
    EXPECT_LT(res.iterations, 100);
}

TEST(SegmentsOptimize, BfgsSolvesRosenbrockWithNumericalGradient) {
    const auto res = sg::minimize_bfgs(sg::with_numerical_gradient(rosenbrock), start());
    EXPECT_TRUE(res.converged);
    EXPECT_NEAR(res.x[0], 1.0, 1e-5);
    EXPECT_NEAR(res.x[1], 1.0, 1e-5);
}

TEST(SegmentsOptimize, NelderMeadSolvesRosenbrock) {
    sg::OptimOptions options;
    options.max_iterations = 5000;
    const auto res = sg::minimize_nelder_mead(rosenbrock, start(), options);
    EXPECT_TRUE(res.converged);
    EXPECT_NEAR(res.x[0], 1.0, 1e-4);
    EXPECT_NEAR(res.x[1], 1.0, 1e-4);
}

TEST(SegmentsOptimize, NumericalGradientIsAccurate) {
    Eigen::VectorXd x(2);
    x << 0.3, -0.7;
    Eigen::VectorXd analytic;
    rosenbrock_with_gradient(x, &analytic);
    const Eigen::VectorXd numeric = sg::numerical_gradient(rosenbrock, x);
    EXPECT_NEAR((numeric - analytic).lpNorm<Eigen::Infinity>(), 0.0, 1e-7);
}

TEST(SegmentsOptimize, QuadraticIsSolvedExactlyInFewSteps) {
    // f = ½ x'Ax − b'x with A SPD: minimum at A⁻¹b.
    Eigen::MatrixXd A(3, 3);
    A << 4, 1, 0, 1, 3, 1, 0, 1, 2;
    Eigen::VectorXd b(3);
    b << 1, -2, 3;
    const sg::DifferentiableObjective f = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
        if (g) *g = A * x - b;
        return 0.5 * x.dot(A * x) - b.dot(x);
    };
    const auto res = sg::minimize_bfgs(f, Eigen::VectorXd::Zero(3));
    const Eigen::VectorXd solution = A.ldlt().solve(b);
    EXPECT_TRUE(res.converged);
    EXPECT_LT((res.x - solution).lpNorm<Eigen::Infinity>(), 1e-8);
    EXPECT_LE(res.iterations, 10);
}

TEST(SegmentsOptimize, InfeasibleRegionsAreAvoided) {
    // log barrier: +inf (and NaN) left of 0; the minimum of x − 2 log x is at 2.
    const sg::Objective f = [](const Eigen::VectorXd& v) {
        if (v[0] <= 0) return v[0] < -1 ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
        return v[0] - 2 * std::log(v[0]);
    };
    Eigen::VectorXd x0(1);
    x0 << 40.0;
    const auto bfgs = sg::minimize_bfgs(sg::with_numerical_gradient(f), x0);
    EXPECT_NEAR(bfgs.x[0], 2.0, 1e-5);
    const auto nm = sg::minimize_nelder_mead(f, x0);
    EXPECT_NEAR(nm.x[0], 2.0, 1e-5);
    const auto both = sg::minimize(sg::with_numerical_gradient(f), x0);
    EXPECT_TRUE(both.converged);
    EXPECT_NEAR(both.x[0], 2.0, 1e-5);
}

TEST(SegmentsOptimize, NonFiniteStartIsADomainError) {
    const sg::Objective f = [](const Eigen::VectorXd&) { return std::numeric_limits<double>::infinity(); };
    EXPECT_THROW(sg::minimize_bfgs(sg::with_numerical_gradient(f), Eigen::VectorXd::Zero(2)), std::domain_error);
    EXPECT_THROW(sg::minimize_nelder_mead(f, Eigen::VectorXd::Zero(2)), std::domain_error);
}

TEST(SegmentsOptimize, MinimizeFallsBackWhenBfgsRunsOutOfIterations) {
    sg::OptimOptions options;
    options.max_iterations = 5;  // BFGS cannot finish Rosenbrock in 5
    const auto res = sg::minimize(rosenbrock_with_gradient, start(), options);
    EXPECT_GT(res.iterations, 5);                           // more than one method ran
    EXPECT_LT(res.value, rosenbrock(start()));              // and made progress
    options.max_iterations = 1000;
    const auto full = sg::minimize(rosenbrock_with_gradient, start(), options);
    EXPECT_TRUE(full.converged);
    EXPECT_NEAR(full.x[0], 1.0, 1e-6);
}

TEST(SegmentsOptimize, HonoursCancellation) {
    salesflow::set_cancel_probe([] { return true; });
    EXPECT_THROW(sg::minimize_bfgs(rosenbrock_with_gradient, start()), salesflow::cancelled);
    EXPECT_THROW(sg::minimize_nelder_mead(rosenbrock, start()), salesflow::cancelled);
    salesflow::set_cancel_probe(nullptr);
    EXPECT_NO_THROW(sg::minimize_bfgs(rosenbrock_with_gradient, start()));
}

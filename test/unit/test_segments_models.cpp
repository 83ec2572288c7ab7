// Pareto/NBD and MBG/NBD, and P(no purchase in the next t | history) of all
// three customer-base models: the Pareto/NBD fit against Fader, Hardie & Lee's
// MATLAB note on CDNOW; the hypergeometric likelihood against direct numerical
// integration; and every model's predictions against Monte Carlo simulation
// of its own story (customers drawn, their futures simulated, predictions
// compared with what happened).
#include "core/segments/bgnbd.hpp"
#include "core/segments/mbgnbd.hpp"
#include "core/segments/pareto_nbd.hpp"
#include "test_segments_cdnow.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace sg = salesflow::segments;

namespace {

const sg::testdata::CdnowHistories& cdnow() { return sg::testdata::cdnow_histories(); }

void expect_within_rel(double actual, double expected, double rel, const char* what) {
    EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << what;
}

// A simulated cohort: calibration history (x, t_x, T) and purchases in (T, T + horizon].
struct Cohort {
    std::vector<double> x, t_x, T, future;
};

enum class Story { bgnbd, mbgnbd, pareto };

// Draws customers from the model's story (first purchase at 0, age T uniform
// in [T_min, T_max]) and simulates each one up to T + horizon.
Cohort simulate(Story story, double r, double alpha, double third, double fourth, std::size_t n, double horizon,
                std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    std::gamma_distribution<double> rate(r, 1.0 / alpha);
    Cohort c;
    for (std::size_t i = 0; i < n; ++i) {
        const double T = 20.0 + 20.0 * unif(rng);
        const double lambda = rate(rng);
        double p = 0.0, death = std::numeric_limits<double>::infinity();
        if (story == Story::pareto) {
            std::gamma_distribution<double> mu_dist(third, 1.0 / fourth);
            death = std::exponential_distribution<double>(mu_dist(rng))(rng);
        } else {
            std::gamma_distribution<double> ga(third, 1.0), gb(fourth, 1.0);
            const double u = ga(rng), v = gb(rng);
            p = u / (u + v);
        }
        bool alive = !(story == Story::mbgnbd && unif(rng) < p);  // MBG/NBD: may leave right away
        double t = 0.0, x = 0.0, t_x = 0.0, future = 0.0;
        std::exponential_distribution<double> gap(lambda);
        while (alive) {
            t += gap(rng);
            if (t > T + horizon || t > death) break;
            if (t <= T) {
                x += 1.0;
                t_x = t;
            } else {
                future += 1.0;
            }
            if (story != Story::pareto && unif(rng) < p) alive = false;
        }
        c.x.push_back(x);
        c.t_x.push_back(t_x);
        c.T.push_back(T);
        c.future.push_back(future);
    }
    return c;
}

using Predict = std::function<double(double x, double t_x, double T)>;

// Mean predicted vs observed, overall and by decile of the prediction; the
// tolerance is 4 binomial standard errors plus a small numerical allowance.
void expect_calibrated(const Cohort& c, const Predict& p0, const Predict& expected, const char* model) {
    const std::size_t n = c.x.size();
    std::vector<double> pred(n), none(n);
    double mean_p = 0.0, mean_none = 0.0, mean_e = 0.0, mean_future = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        pred[i] = p0(c.x[i], c.t_x[i], c.T[i]);
        ASSERT_TRUE(pred[i] >= 0.0 && pred[i] <= 1.0) << model;
        none[i] = c.future[i] == 0.0 ? 1.0 : 0.0;
        mean_p += pred[i] / n;
        mean_none += none[i] / n;
        mean_e += expected(c.x[i], c.t_x[i], c.T[i]) / n;
        mean_future += c.future[i] / n;
    }
    EXPECT_NEAR(mean_p, mean_none, 4.0 * std::sqrt(mean_none * (1 - mean_none) / n) + 0.002) << model << " overall";
    EXPECT_NEAR(mean_e, mean_future, 0.04 * mean_future) << model << " expected purchases";
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return pred[i] < pred[j]; });
    for (int d = 0; d < 10; ++d) {
        double sp = 0.0, so = 0.0;
        const std::size_t lo = n * d / 10, hi = n * (d + 1) / 10;
        for (std::size_t k = lo; k < hi; ++k) {
            sp += pred[order[k]];
            so += none[order[k]];
        }
        const double m = static_cast<double>(hi - lo);
        const double obs = so / m;
        EXPECT_NEAR(sp / m, obs, 4.0 * std::sqrt(std::max(obs * (1 - obs), 0.01) / m) + 0.005)
            << model << " decile " << d + 1;
    }
}

// ln of s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ by composite Simpson (the
// Pareto/NBD "died between t_x and T" term, independent of the 2F1 path).
double dead_term_simpson(const sg::ParetoNbdParams& p, double x, double t_x, double T) {
    const int n = 20000;
    const double h = (T - t_x) / n;
    auto f = [&](double tau) { return std::pow(p.alpha + tau, -(p.r + x)) * std::pow(p.beta + tau, -(p.s + 1.0)); };
    double sum = f(t_x) + f(T);
    for (int k = 1; k < n; ++k) sum += (k % 2 ? 4.0 : 2.0) * f(t_x + k * h);
    return p.s * sum * h / 3.0;
}

}  // namespace

// The note's estimates on the same 2,357 customers (its section "Parameter estimation").
TEST(SegmentsParetoNbd, FitsCdnowNoteEstimates) {
    const auto& d = cdnow();
    const sg::ParetoNbdFit fit = sg::fit_pareto_nbd(d.x, d.t_x, d.T);
    expect_within_rel(fit.params.r, 0.5533, 0.01, "r");
    expect_within_rel(fit.params.alpha, 10.5776, 0.01, "alpha");
    expect_within_rel(fit.params.s, 0.6061, 0.01, "s");
    expect_within_rel(fit.params.beta, 11.6650, 0.01, "beta");
    // A maximum: no small move of any parameter raises the likelihood.
    const double step = 1e-3;
    for (int k = 0; k < 4; ++k) {
        for (double sign : {-1.0, 1.0}) {
            sg::ParetoNbdParams q = fit.params;
            double* v[4] = {&q.r, &q.alpha, &q.s, &q.beta};
            *v[k] *= 1.0 + sign * step;
            EXPECT_LE(sg::pareto_nbd_loglik(q, d.x, d.t_x, d.T), fit.loglik + 1e-6) << "parameter " << k;
        }
    }
}

// P(alive) = alive / (alive + dead) term; checked with the dead term
// integrated by Simpson's rule, for alpha >= beta and alpha < beta (the two
// 2F1 forms of the note) and a large x.
TEST(SegmentsParetoNbd, HypergeometricMatchesDirectIntegration) {
    const sg::ParetoNbdParams cases[] = {{0.5533, 10.5776, 0.6061, 11.6650}, {0.5533, 11.6650, 0.6061, 10.5776},
                                         {2.0, 3.0, 1.5, 40.0}, {0.3, 50.0, 0.8, 0.5}};
    const double hist[][3] = {{2, 30.43, 38.86}, {0, 0, 38.86}, {1, 1.71, 38.86}, {40, 20.0, 38.0}, {5, 37.9, 38.0}};
    for (const auto& p : cases) {
        for (const auto& h : hist) {
            const double x = h[0], t_x = h[1], T = h[2];
            const double log_alive = -(p.r + x) * std::log(p.alpha + T) - p.s * std::log(p.beta + T);
            const double dead = dead_term_simpson(p, x, t_x, T);
            const double expected = 1.0 / (1.0 + dead / std::exp(log_alive));
            EXPECT_NEAR(sg::pareto_nbd_p_alive(p, x, t_x, T), expected, 1e-7)
                << "r " << p.r << " alpha " << p.alpha << " x " << x << " t_x " << t_x;
        }
    }
}

TEST(SegmentsParetoNbd, ExpectationHasItsLimitAtSEqualsOne) {
    const double below = sg::pareto_nbd_expected_conditional({0.55, 10.6, 1.0 - 1e-6, 11.7}, 39, 2, 30.43, 38.86);
    const double at = sg::pareto_nbd_expected_conditional({0.55, 10.6, 1.0, 11.7}, 39, 2, 30.43, 38.86);
    const double above = sg::pareto_nbd_expected_conditional({0.55, 10.6, 1.0 + 1e-6, 11.7}, 39, 2, 30.43, 38.86);
    EXPECT_NEAR(at, below, 1e-5);
    EXPECT_NEAR(at, above, 1e-5);
    EXPECT_GT(at, 0.0);
}

TEST(SegmentsParetoNbd, PredictionsMatchSimulation) {
    const sg::ParetoNbdParams p{0.55, 10.6, 0.61, 11.7};
    const double t = 13.0;
    const Cohort c = simulate(Story::pareto, p.r, p.alpha, p.s, p.beta, 20000, t, 17);
    expect_calibrated(
        c, [&](double x, double tx, double T) { return sg::pareto_nbd_p_no_purchase(p, t, x, tx, T); },
        [&](double x, double tx, double T) { return sg::pareto_nbd_expected_conditional(p, t, x, tx, T); },
        "pareto/nbd");
}

TEST(SegmentsParetoNbd, InvalidInputThrows) {
    const sg::ParetoNbdParams p{0.55, 10.6, 0.61, 11.7};
    EXPECT_THROW(sg::pareto_nbd_p_alive({0.0, 1, 1, 1}, 1, 1, 2), std::invalid_argument);
    EXPECT_THROW(sg::pareto_nbd_p_alive(p, 1.5, 1, 2), std::invalid_argument);
    EXPECT_THROW(sg::pareto_nbd_p_alive(p, 1, 3, 2), std::invalid_argument);
    EXPECT_THROW(sg::pareto_nbd_p_no_purchase(p, -1, 1, 1, 2), std::invalid_argument);
    const std::vector<double> none;
    EXPECT_THROW(sg::fit_pareto_nbd(none, none, none), std::domain_error);
}

TEST(SegmentsMbgNbd, FitIsAMaximumOnCdnow) {
    const auto& d = cdnow();
    const sg::MbgNbdFit fit = sg::fit_mbgnbd(d.x, d.t_x, d.T);
    EXPECT_TRUE(std::isfinite(fit.loglik));
    for (int k = 0; k < 4; ++k) {
        for (double sign : {-1.0, 1.0}) {
            sg::MbgNbdParams q = fit.params;
            double* v[4] = {&q.r, &q.alpha, &q.a, &q.b};
            *v[k] *= 1.0 + sign * 1e-3;
            EXPECT_LE(sg::mbgnbd_loglik(q, d.x, d.t_x, d.T), fit.loglik + 1e-6) << "parameter " << k;
        }
    }
    // One-time buyers can be inactive under MBG/NBD (never under BG/NBD).
    EXPECT_LT(sg::mbgnbd_p_alive(fit.params, 0, 0, 38.86), 1.0);
}

TEST(SegmentsMbgNbd, FitRecoversSimulatedParameters) {
    const sg::MbgNbdParams truth{0.8, 6.0, 0.6, 3.0};
    const Cohort c = simulate(Story::mbgnbd, truth.r, truth.alpha, truth.a, truth.b, 30000, 0.0, 5);
    const sg::MbgNbdFit fit = sg::fit_mbgnbd(c.x, c.t_x, c.T);
    expect_within_rel(fit.params.r, truth.r, 0.1, "r");
    expect_within_rel(fit.params.alpha, truth.alpha, 0.1, "alpha");
    expect_within_rel(fit.params.a, truth.a, 0.2, "a");
    expect_within_rel(fit.params.b, truth.b, 0.2, "b");
}

TEST(SegmentsMbgNbd, PredictionsMatchSimulation) {
    const sg::MbgNbdParams p{0.8, 6.0, 0.6, 3.0};
    const double t = 13.0;
    const Cohort c = simulate(Story::mbgnbd, p.r, p.alpha, p.a, p.b, 20000, t, 23);
    expect_calibrated(
        c, [&](double x, double tx, double T) { return sg::mbgnbd_p_no_purchase(p, t, x, tx, T); },
        [&](double x, double tx, double T) { return sg::mbgnbd_expected_conditional(p, t, x, tx, T); }, "mbg/nbd");
}

TEST(SegmentsBgNbd, NoPurchaseProbabilityMatchesSimulation) {
    const sg::BgNbdParams p{0.243, 4.414, 0.793, 2.426};
    const double t = 13.0;
    const Cohort c = simulate(Story::bgnbd, p.r, p.alpha, p.a, p.b, 20000, t, 29);
    expect_calibrated(
        c, [&](double x, double tx, double T) { return sg::bgnbd_p_no_purchase(p, t, x, tx, T); },
        [&](double x, double tx, double T) { return sg::bgnbd_expected_conditional(p, t, x, tx, T); }, "bg/nbd");
}

TEST(SegmentsBgNbd, NoPurchaseIsOneMinusPAliveInTheLongRun) {
    const sg::BgNbdParams p{0.243, 4.414, 0.793, 2.426};
    EXPECT_DOUBLE_EQ(sg::bgnbd_p_no_purchase(p, 0.0, 2, 30.43, 38.86), 1.0);
    EXPECT_NEAR(sg::bgnbd_p_no_purchase(p, 1e9, 2, 30.43, 38.86), 1.0 - sg::bgnbd_p_alive(p, 2, 30.43, 38.86), 1e-6);
    // more time, more chance to buy
    EXPECT_GT(sg::bgnbd_p_no_purchase(p, 13, 2, 30.43, 38.86), sg::bgnbd_p_no_purchase(p, 39, 2, 30.43, 38.86));
}

// Next-order timing (core/orders/next_order): the contract, the shrinkage,
// overdue customers, and calibration on simulated customers whose log-normal
// gaps are known — predictions binned by confidence decile must match the
// simulated future within ±0.05 where a decile holds >= 300 predictions.
#include <gtest/gtest.h>

#include "core/orders/metrics.hpp"
#include "core/orders/next_order.hpp"
#include "core/orders/simulate.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

using namespace salesflow::orders;

const GapPrior kPrior{std::log(30.0), 0.3, 2.0, 4.0};

TEST(OrdersNextOrder, RejectsBadInput) {
    const std::vector<int> none, unsorted{5, 3}, dup{3, 3}, ok{1, 10};
    EXPECT_THROW(predict_next_order(none, 20, kPrior, 1.0, 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(unsorted, 20, kPrior, 1.0, 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(dup, 20, kPrior, 1.0, 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 9, kPrior, 1.0, 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 20, kPrior, 1.5, 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 20, kPrior, std::nan(""), 30), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 20, kPrior, 1.0, 0), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 20, kPrior, 1.0, 30, 0.8, 0.2), std::invalid_argument);
    EXPECT_THROW(predict_next_order(ok, 20, GapPrior{0.0, 0.0, 1.0}, 1.0, 30), std::invalid_argument);
    EXPECT_THROW(pooled_gap_prior({{1}, {}, {4, 4}}), std::domain_error);
}

TEST(OrdersNextOrder, OnePurchaseUsesThePriorPredictive) {
    // One purchase 10 days before as_of: P(order on days 1..30 | K > 10) under
    // log G ~ t_nu0(mu0, sigma0^2 (1 + 1/kappa0)), whole days by continuity correction.
    const std::vector<int> one{100};
    const NextOrder r = predict_next_order(one, 110, kPrior, 1.0, 30);
    boost::math::students_t_distribution<double> t(kPrior.dof);
    const double sc = std::sqrt(kPrior.sigma2 * (1.0 + 1.0 / kPrior.strength));
    auto S = [&](double g) { return cdf(complement(t, (std::log(g) - kPrior.mu) / sc)); };
    EXPECT_NEAR(r.p_within_horizon, (S(10.5) - S(40.5)) / S(10.5), 1e-12);
    EXPECT_NEAR(r.elapsed_quantile, 1.0 - S(10.5), 1e-12);
    // p_alive scales every probability, not the dates.
    const NextOrder half = predict_next_order(one, 110, kPrior, 0.5, 30);
    EXPECT_NEAR(half.p_within_horizon, 0.5 * r.p_within_horizon, 1e-12);
    EXPECT_NEAR(half.p_in_window, 0.5 * r.p_in_window, 1e-12);
    EXPECT_EQ(half.predicted_day, r.predicted_day);
    // The conditional median lies inside the conditional 25–75% window.
    EXPECT_LE(r.window_start, r.predicted_day);
    EXPECT_GE(r.window_end, r.predicted_day);
    EXPECT_GE(r.window_start, 111);
    EXPECT_GT(r.p_in_window, 0.35);
    EXPECT_LT(r.p_in_window, 0.65);
}

TEST(OrdersNextOrder, ShrinksTowardThePriorByEvidence) {
    // Prior says ~30 days; a customer ordering every 10 days for a year
    // overrides it, a customer with one 10-day gap only moves toward it.
    std::vector<int> regular;
    for (int d = 0; d <= 360; d += 10) regular.push_back(d);
    const std::vector<int> once{350, 360};
    const NextOrder a = predict_next_order(regular, 362, kPrior, 1.0, 30);
    const NextOrder b = predict_next_order(once, 362, kPrior, 1.0, 30);
    // 36 identical gaps against 2 pseudo-gaps of the prior: the mean moves to
    // (2 log 30 + 36 log 10) / 38 = log 10.6; the prior's pseudo-variance keeps
    // a little spread (sigma_n^2 ~ 0.09), hence a mean gap of ~11 days.
    EXPECT_GT(a.expected_gap_days, 10.0);
    EXPECT_LT(a.expected_gap_days, 12.0);
    EXPECT_NEAR(a.predicted_day, 370, 1);
    EXPECT_LE(a.window_end - a.window_start, 5);
    EXPECT_GT(a.p_within_horizon, 0.99);
    EXPECT_GT(b.expected_gap_days, 12.0);
    EXPECT_LT(b.expected_gap_days, 30.0);
    EXPECT_GT(b.window_end - b.window_start, a.window_end - a.window_start);
}

TEST(OrdersNextOrder, OverdueCustomersStayFinite) {
    // A metronome customer (10-day gaps, tiny spread) silent for 20 years: the
    // survival 1 - F(s) is far below double precision in a normal model; here
    // it must still give a probability in [0, 1] and a date after as_of.
    std::vector<int> regular;
    for (int d = 0; d <= 1000; d += 10) regular.push_back(d);
    const GapPrior tight{std::log(10.0), 1e-4, 1000.0, 1000.0};
    for (int as_of : {1000, 1030, 1300, 8300}) {
        const NextOrder r = predict_next_order(regular, as_of, tight, 1.0, 30);
        EXPECT_TRUE(std::isfinite(r.p_within_horizon));
        EXPECT_GE(r.p_within_horizon, 0.0);
        EXPECT_LE(r.p_within_horizon, 1.0);
        EXPECT_GE(r.p_in_window, 0.0);
        EXPECT_LE(r.p_in_window, 1.0);
        EXPECT_GE(r.predicted_day, as_of + 1);
        EXPECT_GE(r.window_end, r.window_start);
        EXPECT_GE(r.window_start, as_of + 1);
    }
    // Just after the last order the next one is due on day 1010.
    EXPECT_EQ(predict_next_order(regular, 1000, tight, 1.0, 30).predicted_day, 1010);
}

TEST(OrdersNextOrder, PooledPriorRecoversSimulatedTenant) {
    GapSimulation sim;
    const auto customers = simulate_gap_customers(3000, sim, 7);
    std::vector<std::vector<int>> days;
    for (const auto& c : customers) days.push_back(c.days);
    const GapPrior p = pooled_gap_prior(days);
    EXPECT_NEAR(p.mu, sim.mean_log_gap, 0.05);
    // E[sigma_c^2] for sigma_c ~ U(0.2, 0.9) is 0.3767; the prior's sigma2 is a
    // scale, not a mean, so only the order of magnitude is pinned.
    EXPECT_GT(p.sigma2, 0.1);
    EXPECT_LT(p.sigma2, 0.6);
    // kappa0 = within / between variance of the means ~ 0.38 / 0.36 ~ 1.
    EXPECT_GT(p.strength, 0.4);
    EXPECT_LT(p.strength, 3.0);
    // It is a maximum of the marginal likelihood.
    const double best = gap_prior_loglik(p, days);
    for (GapPrior q : {GapPrior{p.mu + 0.1, p.sigma2, p.strength, p.dof},
                       GapPrior{p.mu, p.sigma2 * 1.3, p.strength, p.dof},
                       GapPrior{p.mu, p.sigma2, p.strength * 2.0, p.dof},
                       GapPrior{p.mu, p.sigma2, p.strength, p.dof * 0.5}})
        EXPECT_LT(gap_prior_loglik(q, days), best);
}

struct Backtest {
    std::vector<double> p, y, baseline_gap, baseline_rate;
    std::vector<double> p_window, y_window;
};

// Predicts every simulated customer at as_of from the history <= as_of; the
// outcome is whether a purchase falls on as_of+1..as_of+horizon. A customer is
// dead from as_of on with probability 1 - alive_prob (drawn per customer) and
// then buys nothing; the model is told that probability.
Backtest run_simulation(std::size_t n, std::uint64_t seed, bool churn) {
    GapSimulation sim;
    const int as_of = 600, horizon = 30;
    const auto customers = simulate_gap_customers(n, sim, seed);
    SplitMix64 rng(seed ^ 0xABCDEFull);
    std::vector<std::vector<int>> history;
    for (const auto& c : customers) {
        std::vector<int> h;
        for (int d : c.days)
            if (d <= as_of) h.push_back(d);
        history.push_back(h);
    }
    const GapPrior prior = pooled_gap_prior(history);
    Backtest bt;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& h = history[i];
        const double alive_prob = churn ? 0.2 + 0.8 * rng.uniform() : 1.0;
        const bool alive = rng.uniform() < alive_prob;
        const NextOrder r = predict_next_order(h, as_of, prior, alive_prob, horizon);
        int next = -1;
        for (int d : customers[i].days)
            if (d > as_of) { next = d; break; }
        if (!alive) next = -1;
        bt.p.push_back(r.p_within_horizon);
        bt.y.push_back(next > 0 && next <= as_of + horizon ? 1.0 : 0.0);
        bt.p_window.push_back(r.p_in_window);
        bt.y_window.push_back(next >= r.window_start && next <= r.window_end ? 1.0 : 0.0);
        // Baselines: "orders at the average gap" (1 if last + mean gap, or
        // as_of + 1 when overdue, falls in the horizon) and the historical rate.
        const double mean_gap = h.size() > 1 ? double(h.back() - h.front()) / (h.size() - 1)
                                             : std::exp(prior.mu);
        const double due = std::max<double>(h.back() + mean_gap, as_of + 1);
        bt.baseline_gap.push_back(due <= as_of + horizon ? 1.0 : 0.0);
        const double rate = double(h.size()) / (as_of - h.front() + 1);
        bt.baseline_rate.push_back(1.0 - std::exp(-rate * horizon));
    }
    return bt;
}

void expect_calibrated(const Backtest& bt, double tol, std::size_t min_count) {
    int checked = 0;
    for (const auto& b : reliability_table(bt.p, bt.y)) {
        std::printf("  [%.1f,%.1f) n=%6zu predicted %.3f observed %.3f\n", b.lo, b.hi, b.count,
                    b.mean_predicted, b.observed_frequency);
        if (b.count >= min_count) {
            ++checked;
            EXPECT_NEAR(b.observed_frequency, b.mean_predicted, tol) << "decile " << b.lo;
        }
    }
    EXPECT_GE(checked, 5);
}

TEST(OrdersNextOrder, CalibratedOnSimulatedCustomers) {
    const Backtest bt = run_simulation(20000, 42, false);
    expect_calibrated(bt, 0.05, 300);
    const double model = brier_score(bt.p, bt.y);
    const double by_gap = brier_score(bt.baseline_gap, bt.y);
    const double by_rate = brier_score(bt.baseline_rate, bt.y);
    std::printf("  Brier model %.4f, average-gap baseline %.4f, rate baseline %.4f\n", model, by_gap, by_rate);
    EXPECT_LT(model, by_gap);
    EXPECT_LT(model, by_rate);
    // The 25–75% window: its stated probability matches how often the next
    // order lands in it.
    double stated = 0.0, observed = 0.0;
    for (std::size_t i = 0; i < bt.p_window.size(); ++i) {
        stated += bt.p_window[i];
        observed += bt.y_window[i];
    }
    stated /= bt.p_window.size();
    observed /= bt.p_window.size();
    std::printf("  window: stated %.3f observed %.3f\n", stated, observed);
    EXPECT_NEAR(observed, stated, 0.02);
}

TEST(OrdersNextOrder, CalibratedWithChurnWhenToldPAlive) {
    const Backtest bt = run_simulation(20000, 4242, true);
    expect_calibrated(bt, 0.05, 300);
    EXPECT_LT(brier_score(bt.p, bt.y), brier_score(bt.baseline_rate, bt.y));
}

}  // namespace

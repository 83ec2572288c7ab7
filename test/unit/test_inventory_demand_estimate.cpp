// The rolling demand estimate of demand_estimate.hpp (SES level started as the
// running mean, out-of-sample one-step errors, the forecast-error sd over the
// protection interval of Prak, Teunter & Syntetos 2017) and the replay with
// levels re-decided at every review (simulate_adaptive_policy): hand-checked
// values, the unbiasedness the formulas claim (checked by Monte Carlo on
// i.i.d. demand), and the edge cases.
#include "core/inventory/inventory.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace inv = salesflow::inventory;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// SplitMix64 with a Box-Muller normal: deterministic on every platform.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    double uniform() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;
    }
    double normal() {
        const double pi = 3.14159265358979323846;
        return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * pi * uniform());
    }

private:
    std::uint64_t state_;
};

}  // namespace

// ------------------------------------------------------------------ LevelForecast

TEST(InventoryLevelForecast, HandCheckedRecursion) {
    // alpha 0.5: weights max(0.5, 1/t) = 1, 0.5, 0.5, 0.5; c_t = (1-w)^2 c + w^2 = 1, 0.5, 0.375, 0.34375.
    inv::LevelForecast f(0.5, 1);
    EXPECT_EQ(f.level(), 0.0);
    EXPECT_THROW(f.one_step_mse(), std::domain_error);
    EXPECT_THROW(f.demand_variance(), std::domain_error);
    EXPECT_THROW(f.variance_to_mean(), std::domain_error);
    for (double y : {2.0, 4.0, 0.0, 6.0}) f.observe(y);
    EXPECT_EQ(f.periods(), 4);
    EXPECT_EQ(f.nonzero_periods(), 3);
    EXPECT_EQ(f.errors(), 3);  // the first period has no forecast resting on >= 1 period
    EXPECT_DOUBLE_EQ(f.level(), 3.75);  // 2 -> 3 -> 1.5 -> 3.75
    EXPECT_DOUBLE_EQ(f.estimate_variance_ratio(), 0.34375);
    // errors 2, -3, 4.5 against forecasts 2, 3, 1.5 with c 1, 0.5, 0.375
    EXPECT_DOUBLE_EQ(f.one_step_mse(), (4.0 + 9.0 + 20.25) / 3.0);
    const double scaled = 4.0 / 2.0 + 9.0 / 1.5 + 20.25 / 1.375;
    EXPECT_DOUBLE_EQ(f.demand_variance(), scaled / 3.0);
    EXPECT_DOUBLE_EQ(f.variance_to_mean(), scaled / 6.5);
}

TEST(InventoryLevelForecast, RunningMeanStartThenSes) {
    // alpha 0.25: the first 4 periods average equally (c = 1/t), then SES.
    inv::LevelForecast f(0.25, 3);
    for (double y : {1.0, 2.0, 3.0, 6.0}) f.observe(y);
    EXPECT_DOUBLE_EQ(f.level(), 3.0);
    EXPECT_DOUBLE_EQ(f.estimate_variance_ratio(), 0.25);
    EXPECT_EQ(f.errors(), 1);  // only the forecast from 3 periods (2) against 6
    EXPECT_DOUBLE_EQ(f.one_step_mse(), 16.0);
    EXPECT_DOUBLE_EQ(f.demand_variance(), 16.0 / (1.0 + 1.0 / 3.0));
    f.observe(7.0);
    EXPECT_DOUBLE_EQ(f.level(), 4.0);
    EXPECT_DOUBLE_EQ(f.estimate_variance_ratio(), 0.5625 * 0.25 + 0.0625);
    // Steady state of c is alpha / (2 - alpha).
    for (int t = 0; t < 200; ++t) f.observe(1.0);
    EXPECT_NEAR(f.estimate_variance_ratio(), inv::ses_estimate_variance_ratio(0.25), 1e-12);
    EXPECT_DOUBLE_EQ(inv::ses_estimate_variance_ratio(0.25), 0.25 / 1.75);
    EXPECT_DOUBLE_EQ(inv::ses_estimate_variance_ratio(1.0), 1.0);
}

TEST(InventoryLevelForecast, RejectsBadInput) {
    EXPECT_THROW(inv::LevelForecast(0.0, 1), std::invalid_argument);
    EXPECT_THROW(inv::LevelForecast(1.5, 1), std::invalid_argument);
    EXPECT_THROW(inv::LevelForecast(kNaN, 1), std::invalid_argument);
    EXPECT_THROW(inv::LevelForecast(0.1, 0), std::invalid_argument);
    inv::LevelForecast f(0.1, 1);
    EXPECT_THROW(f.observe(-1.0), std::invalid_argument);
    EXPECT_THROW(f.observe(kNaN), std::invalid_argument);
    EXPECT_EQ(f.periods(), 0);
    EXPECT_THROW(inv::ses_estimate_variance_ratio(0.0), std::invalid_argument);
    // All-zero history: a forecast of 0, errors of 0, but no positive forecast for the ratio.
    for (int t = 0; t < 5; ++t) f.observe(0.0);
    EXPECT_EQ(f.level(), 0.0);
    EXPECT_EQ(f.demand_variance(), 0.0);
    EXPECT_THROW(f.variance_to_mean(), std::domain_error);
}

// The claims of demand_estimate.hpp on i.i.d. normal demand (mean 50, sd 10,
// alpha 0.1): the scaled errors estimate sigma^2 without bias, the raw one-step
// MSE is (1 + c) sigma^2, and the error of the H-period forecast H F has
// variance H sigma_e^2 with sigma_e from forecast_error_demand_sd — larger
// than the textbook H * MSE by the factor the formula gives.
TEST(InventoryLevelForecast, ProtectionIntervalErrorVarianceMatchesMonteCarlo) {
    const double alpha = 0.1, sigma = 10.0;
    const int H = 13, T = 400000;
    Rng rng(0x5EED);
    std::vector<double> y(T);
    for (auto& x : y) x = 50.0 + sigma * rng.normal();
    inv::LevelForecast f(alpha, 1);
    double sum = 0.0, sum2 = 0.0;
    int n = 0;
    for (int t = 0; t + H < T; ++t) {
        f.observe(y[t]);
        if (t < 1000) continue;  // past the running-mean start
        double total = 0.0;
        for (int j = 1; j <= H; ++j) total += y[t + j];
        const double e = total - H * f.level();
        sum += e;
        sum2 += e * e;
        ++n;
    }
    const double c = inv::ses_estimate_variance_ratio(alpha);
    EXPECT_NEAR(f.demand_variance() / (sigma * sigma), 1.0, 0.02);
    EXPECT_NEAR(f.one_step_mse() / (sigma * sigma), 1.0 + c, 0.02);
    const double observed = sum2 / n - (sum / n) * (sum / n);
    const double sd_e = inv::forecast_error_demand_sd(f.demand_variance(), f.estimate_variance_ratio(), H, 0.0);
    EXPECT_NEAR(observed / (H * sd_e * sd_e), 1.0, 0.05);
    // Textbook H * one-step MSE falls short: here by the factor (1 + c H) / (1 + c) = 1.60.
    EXPECT_GT(observed / (H * f.one_step_mse()), 1.45);
}

TEST(InventoryLevelForecast, ForecastErrorDemandSd) {
    EXPECT_DOUBLE_EQ(inv::forecast_error_demand_sd(4.0, 0.0, 5.0, 1.0), 2.0);
    // sigma^2 (1 + c (H^2 + sd_H^2) / H) = 4 (1 + 0.1 * 26 / 5) = 6.08
    EXPECT_DOUBLE_EQ(inv::forecast_error_demand_sd(4.0, 0.1, 5.0, 1.0), std::sqrt(6.08));
    EXPECT_DOUBLE_EQ(inv::forecast_error_demand_sd(0.0, 0.1, 5.0, 1.0), 0.0);
    // Through compute_policy's lead_time_demand the variance over H is H sigma^2 + E[H^2] c sigma^2.
    const double sd = inv::forecast_error_demand_sd(4.0, 0.1, 5.0, 0.0);
    EXPECT_NEAR(inv::lead_time_demand(2.0, sd, 3.0, 0.0, 2.0).sd, std::sqrt(5.0 * 4.0 + 25.0 * 0.4), 1e-12);
    EXPECT_THROW(inv::forecast_error_demand_sd(-1.0, 0.1, 5.0, 0.0), std::invalid_argument);
    EXPECT_THROW(inv::forecast_error_demand_sd(1.0, -0.1, 5.0, 0.0), std::invalid_argument);
    EXPECT_THROW(inv::forecast_error_demand_sd(1.0, 0.1, 0.0, 0.0), std::invalid_argument);
    EXPECT_THROW(inv::forecast_error_demand_sd(1.0, 0.1, 5.0, kNaN), std::invalid_argument);
}

// ------------------------------------------------------------------ simulate_adaptive_policy

TEST(InventoryAdaptiveSimulation, ConstantRuleEqualsTheFixedReplay) {
    Rng rng(7);
    std::vector<double> demand(200);
    for (auto& x : demand) x = std::floor(10.0 * rng.uniform());
    std::vector<int> lead(40);
    for (auto& l : lead) l = 1 + static_cast<int>(3.0 * rng.uniform());
    std::vector<std::size_t> seen;
    const inv::ReviewRule rule = [&](salesflow::span<double> history) {
        seen.push_back(history.size());
        return inv::ReviewLevels{40.0, 40.0};
    };
    const auto adaptive = inv::simulate_adaptive_policy(demand, 50, 5, lead, rule);
    const std::vector<double> tail(demand.begin() + 50, demand.end());
    const auto fixed = inv::simulate_review_policy(tail, 40.0, 40.0, 5, lead, 40.0);
    EXPECT_EQ(adaptive.periods, 150);
    EXPECT_EQ(adaptive.orders, fixed.orders);
    EXPECT_EQ(adaptive.cycles, fixed.cycles);
    EXPECT_EQ(adaptive.cycles_without_stockout, fixed.cycles_without_stockout);
    EXPECT_DOUBLE_EQ(adaptive.demand, fixed.demand);
    EXPECT_DOUBLE_EQ(adaptive.demand_short, fixed.demand_short);
    EXPECT_DOUBLE_EQ(adaptive.on_hand_sum, fixed.on_hand_sum);
    // Once on the warm-up, then at the end of periods 54, 59, ..., 199.
    ASSERT_EQ(seen.size(), 31u);
    EXPECT_EQ(seen[0], 50u);
    EXPECT_EQ(seen[1], 55u);
    EXPECT_EQ(seen.back(), 200u);
}

TEST(InventoryAdaptiveSimulation, HandCheckedChangingLevels) {
    // R = 1, L = 0, warm-up 2. S: 5 at the start, then 3, 6, 2.
    const std::vector<double> demand{9.0, 9.0, 1.0, 4.0, 0.0};
    const std::vector<int> lead(3, 0);
    const std::vector<double> levels{5.0, 3.0, 6.0, 2.0};
    std::size_t call = 0;
    const auto r = inv::simulate_adaptive_policy(demand, 2, 1, lead, [&](salesflow::span<double>) {
        const double S = levels[call++];
        return inv::ReviewLevels{S, S};
    });
    // t=0: stock 5, demand 1 -> 4; review S=3: position 4 > 3, a zero order (the (R, S) system).
    // t=1: stock 4, demand 4 -> 0; review S=6: order 6, arrives at t=2.
    // t=2: stock 6, demand 0 -> 6; review S=2: zero order.
    EXPECT_EQ(r.periods, 3);
    EXPECT_EQ(r.orders, 3);
    EXPECT_EQ(r.cycles, 2);  // arrivals at 1, 2, 3
    EXPECT_EQ(r.cycles_without_stockout, 2);
    EXPECT_DOUBLE_EQ(r.demand, 5.0);
    EXPECT_DOUBLE_EQ(r.demand_short, 0.0);
    EXPECT_DOUBLE_EQ(r.on_hand_sum, 4.0 + 0.0 + 6.0);
    // An (R, s, S) rule with s < S does not order above s.
    call = 0;
    const auto rss = inv::simulate_adaptive_policy(demand, 2, 1, lead, [&](salesflow::span<double>) {
        const double S = levels[call++];
        return inv::ReviewLevels{S - 1.0, S};
    });
    EXPECT_EQ(rss.orders, 1);  // only t=1 (position 0 <= 5)
    EXPECT_EQ(rss.cycles, 0);
}

TEST(InventoryAdaptiveSimulation, RejectsBadInput) {
    const std::vector<double> demand(10, 1.0);
    const std::vector<int> lead(10, 0);
    const auto ok = [](salesflow::span<double>) { return inv::ReviewLevels{3.0, 3.0}; };
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 11, 1, lead, ok), std::invalid_argument);
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 2, 0, lead, ok), std::invalid_argument);
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 2, 1, lead, inv::ReviewRule{}), std::invalid_argument);
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 2, 1, std::vector<int>(3, 0), ok), std::invalid_argument);
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 2, 1, lead,
                                               [](salesflow::span<double>) { return inv::ReviewLevels{4.0, 3.0}; }),
                 std::invalid_argument);
    EXPECT_THROW(inv::simulate_adaptive_policy(demand, 2, 1, lead,
                                               [](salesflow::span<double>) { return inv::ReviewLevels{kNaN, 3.0}; }),
                 std::invalid_argument);
    // A warm-up of the whole history replays nothing.
    const auto none = inv::simulate_adaptive_policy(demand, 10, 1, lead, ok);
    EXPECT_EQ(none.periods, 0);
    EXPECT_THROW(none.average_on_hand(), std::domain_error);
}

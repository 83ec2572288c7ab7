// CLV: the telescoping identity at zero discount, monotonicity in horizon and
// discount rate, partial last steps and the error contract.
#include "core/segments/clv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace sg = salesflow::segments;

namespace {
constexpr sg::BgNbdParams kBg{0.242593, 4.413532, 0.792886, 2.425752};
constexpr sg::GammaGammaParams kGg{6.25, 3.74, 15.44};
constexpr double kMonth = 365.25 / 12.0 / 7.0;  // weeks
}  // namespace

TEST(SegmentsClv, ZeroDiscountIsExpectedPurchasesTimesExpectedSpend) {
    for (double x : {0.0, 2.0, 7.0}) {
        const double t_x = x > 0 ? 30.43 : 0.0, T = 38.86, m = x > 0 ? 22.35 : 0.0;
        const double horizon = 52.0;
        const double expected = sg::bgnbd_expected_conditional(kBg, horizon, x, t_x, T) *
                                sg::gamma_gamma_expected_value(kGg, x, m);
        EXPECT_NEAR(sg::clv(kBg, kGg, x, t_x, T, m, horizon, kMonth, 0.0), expected, 1e-10 * expected) << "x = " << x;
    }
}

TEST(SegmentsClv, GrowsWithHorizonAndFallsWithDiscountRate) {
    double previous = 0.0;
    for (double months = 1; months <= 60; ++months) {
        const double v = sg::clv(kBg, kGg, 2, 30.43, 38.86, 22.35, months * kMonth, kMonth, 0.01);
        EXPECT_GT(v, previous) << months;
        previous = v;
    }
    previous = std::numeric_limits<double>::infinity();
    for (double d : {0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5}) {
        const double v = sg::clv(kBg, kGg, 2, 30.43, 38.86, 22.35, 104.0, kMonth, d);
        EXPECT_LT(v, previous) << d;
        EXPECT_GT(v, 0.0);
        previous = v;
    }
}

TEST(SegmentsClv, MatchesTheStepSumByHand) {
    // Three monthly steps, the last one partial, at 1% per month.
    const double x = 2, t_x = 30.43, T = 38.86, m = 22.35, step = kMonth, horizon = 2.5 * kMonth, d = 0.01;
    const double e1 = sg::bgnbd_expected_conditional(kBg, step, x, t_x, T);
    const double e2 = sg::bgnbd_expected_conditional(kBg, 2 * step, x, t_x, T);
    const double e3 = sg::bgnbd_expected_conditional(kBg, horizon, x, t_x, T);
    const double value = sg::gamma_gamma_expected_value(kGg, x, m);
    const double by_hand = value * (e1 / 1.01 + (e2 - e1) / (1.01 * 1.01) + (e3 - e2) / (1.01 * 1.01 * 1.01));
    EXPECT_NEAR(sg::clv(kBg, kGg, x, t_x, T, m, horizon, step, d), by_hand, 1e-12 * by_hand);
    EXPECT_EQ(sg::clv(kBg, kGg, x, t_x, T, m, 0.0, step, d), 0.0);
}

TEST(SegmentsClv, LikelyChurnedCustomerIsWorthLess) {
    const double active = sg::clv(kBg, kGg, 5, 38.0, 38.86, 30.0, 52, kMonth, 0.01);
    const double silent = sg::clv(kBg, kGg, 5, 5.0, 38.86, 30.0, 52, kMonth, 0.01);
    EXPECT_GT(active, 5 * silent);
}

TEST(SegmentsClv, InvalidInputThrows) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, 20, -1, kMonth, 0.01), std::invalid_argument);
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, 20, 52, 0, 0.01), std::invalid_argument);
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, 20, 52, kMonth, -0.01), std::invalid_argument);
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, 20, nan, kMonth, 0.01), std::invalid_argument);
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, 20, 1e9, 1e-3, 0.01), std::invalid_argument);  // too many steps
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 40, 38, 20, 52, kMonth, 0.01), std::invalid_argument);  // t_x > T
    EXPECT_THROW(sg::clv(kBg, kGg, 2, 30, 38, -20, 0, kMonth, 0.01), std::invalid_argument);  // checked even for an empty horizon
    EXPECT_THROW(sg::clv({0, 1, 1, 1}, kGg, 2, 30, 38, 20, 52, kMonth, 0.01), std::invalid_argument);
    EXPECT_THROW(sg::clv(kBg, {6, 0.9, 15}, 0, 0, 38, 0, 52, kMonth, 0.01), std::domain_error);  // q <= 1
}

TEST(SegmentsClv, ExtremeInputsStayFinite) {
    for (double T : {0.0, 38.86, 1e9}) {
        const double v = sg::clv(kBg, kGg, 0, 0, T, 0, 520, kMonth, 0.01);
        EXPECT_TRUE(std::isfinite(v) && v >= 0.0) << T;
    }
    EXPECT_TRUE(std::isfinite(sg::clv(kBg, kGg, 500, 38.86, 38.86, 1e6, 520, kMonth, 0.0)));
}

// Gamma-Gamma checked against Fader, Hardie & Lee (2005 JMR) / Fader & Hardie
// (2013) on the CDNOW repeat buyers, plus gradient, contract and degenerate cases.
#include "core/segments/gamma_gamma.hpp"
#include "test_segments_cdnow.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg = salesflow::segments;

namespace {

struct Spend {
    std::vector<double> x, zbar;
};

const Spend& cdnow() {
    static const Spend data = [] {
        const auto t = sg::testdata::cdnow_with_spend();
        return Spend{t.column("x"), t.column("zbar")};
    }();
    return data;
}

void expect_within_rel(double actual, double expected, double rel, const char* what) {
    EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << what;
}

template <typename F>
void expect_domain_error(F&& f, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no exception, expected: " << message;
    } catch (const std::domain_error& e) {
        EXPECT_EQ(e.what(), message);
    }
}

}  // namespace

TEST(SegmentsGammaGamma, CdnowFileHasTheRepeatBuyers) {
    const auto t = sg::testdata::cdnow_with_spend();
    ASSERT_EQ(t.rows(), 2357u);
    std::size_t repeat = 0;
    for (std::size_t i = 0; i < t.rows(); ++i) {
        if (t.column("x")[i] > 0) {
            ++repeat;
            ASSERT_GT(t.column("zbar")[i], 0.0);
        } else {
            ASSERT_EQ(t.column("zbar")[i], 0.0);
        }
    }
    EXPECT_EQ(repeat, 946u);
    EXPECT_EQ(t.column("ID")[0], 1.0);  // file order = customer ID order
    EXPECT_EQ(t.column("ID")[9], 10.0);
}

TEST(SegmentsGammaGamma, FitsCdnowPaperEstimates) {
    const auto& d = cdnow();
    const sg::GammaGammaFit fit = sg::fit_gamma_gamma(d.x, d.zbar);
    EXPECT_TRUE(fit.converged);
    EXPECT_EQ(fit.customers_used, 946);
    expect_within_rel(fit.params.p, 6.25, 0.01, "p");
    expect_within_rel(fit.params.q, 3.74, 0.01, "q");
    expect_within_rel(fit.params.gamma, 15.44, 0.01, "gamma");
    // The published value includes every constant of the density of m̄,
    // the x^(px) Jacobian too.
    EXPECT_NEAR(fit.loglik, -4055.92, 0.1);
}

TEST(SegmentsGammaGamma, ExpectedSpendOfTheFirstTenCustomers) {
    const auto& d = cdnow();
    const sg::GammaGammaFit fit = sg::fit_gamma_gamma(d.x, d.zbar);
    // Customers 1..10 (the file's first ten rows); 3, 4, 5, 8, 10 have x = 0
    // and get the population mean pγ/(q−1).
    const double expected[10] = {24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17};
    for (int i = 0; i < 10; ++i)
        EXPECT_NEAR(sg::gamma_gamma_expected_value(fit.params, d.x[i], d.zbar[i]), expected[i], 0.01) << "customer " << i + 1;
}

TEST(SegmentsGammaGamma, AnalyticGradientMatchesNumerical) {
    const auto& d = cdnow();
    for (const sg::GammaGammaParams& p : {sg::GammaGammaParams{6.25, 3.74, 15.44}, sg::GammaGammaParams{0.7, 12.0, 300.0},
                                          sg::GammaGammaParams{30.0, 1.2, 2.0}}) {
        const auto g = sg::gamma_gamma_loglik_gradient(p, d.x, d.zbar);
        const double theta[3] = {p.p, p.q, p.gamma};
        for (int k = 0; k < 3; ++k) {
            const double h = 1e-5 * theta[k];
            double up[3] = {theta[0], theta[1], theta[2]}, down[3] = {theta[0], theta[1], theta[2]};
            up[k] += h;
            down[k] -= h;
            const double numeric = (sg::gamma_gamma_loglik({up[0], up[1], up[2]}, d.x, d.zbar) -
                                    sg::gamma_gamma_loglik({down[0], down[1], down[2]}, d.x, d.zbar)) /
                                   (2.0 * h);
            EXPECT_NEAR(g[k], numeric, 1e-5 + 1e-6 * std::abs(numeric)) << "parameter " << k;
        }
    }
}

TEST(SegmentsGammaGamma, ExpectedValueIsTheCredibilityWeightedMean) {
    const sg::GammaGammaParams p{6.25, 3.74, 15.44};
    const double population = p.p * p.gamma / (p.q - 1.0);
    EXPECT_DOUBLE_EQ(sg::gamma_gamma_expected_value(p, 0, 0), population);
    EXPECT_DOUBLE_EQ(sg::gamma_gamma_expected_value(p, 0, 123.0), population);  // m̄ unused when x = 0
    const double x = 4, m = 50;
    const double w = p.p * x / (p.p * x + p.q - 1.0);
    EXPECT_NEAR(sg::gamma_gamma_expected_value(p, x, m), (1 - w) * population + w * m, 1e-12);
    // Many purchases: the customer's own mean dominates.
    EXPECT_NEAR(sg::gamma_gamma_expected_value(p, 1e6, 80.0), 80.0, 1e-3);
    EXPECT_TRUE(std::isfinite(sg::gamma_gamma_expected_value(p, 1, 1e12)));
}

TEST(SegmentsGammaGamma, InfiniteMeansAreDomainErrors) {
    expect_domain_error([] { sg::gamma_gamma_expected_value({2.0, 0.9, 10.0}, 0, 0); },
                        "gamma-gamma population mean spend is infinite when q <= 1");
    expect_domain_error([] { sg::gamma_gamma_expected_value({0.05, 0.9, 10.0}, 1, 5); },
                        "gamma-gamma expected spend is infinite when p*x + q <= 1");
    EXPECT_NO_THROW(sg::gamma_gamma_expected_value({2.0, 0.9, 10.0}, 1, 5));  // px + q > 1
}

TEST(SegmentsGammaGamma, NonRepeatBuyersAreIgnored) {
    const auto& d = cdnow();
    std::vector<double> x, m;
    for (std::size_t i = 0; i < d.x.size(); ++i)
        if (d.x[i] > 0) {
            x.push_back(d.x[i]);
            m.push_back(d.zbar[i]);
        }
    x.push_back(0);
    m.push_back(999.0);  // any spend on an x = 0 row is ignored
    const auto all = sg::fit_gamma_gamma(d.x, d.zbar);
    const auto repeat_only = sg::fit_gamma_gamma(x, m);
    EXPECT_EQ(repeat_only.customers_used, 946);
    EXPECT_DOUBLE_EQ(all.params.p, repeat_only.params.p);
    EXPECT_DOUBLE_EQ(all.loglik, repeat_only.loglik);
}

TEST(SegmentsGammaGamma, FitDoesNotDependOnTheCurrency) {
    const auto& d = cdnow();
    std::vector<double> cents;
    for (double v : d.zbar) cents.push_back(100 * v);
    const auto dollars = sg::fit_gamma_gamma(d.x, d.zbar);
    const auto in_cents = sg::fit_gamma_gamma(d.x, cents);
    expect_within_rel(in_cents.params.p, dollars.params.p, 1e-4, "p");
    expect_within_rel(in_cents.params.q, dollars.params.q, 1e-4, "q");
    expect_within_rel(in_cents.params.gamma, 100 * dollars.params.gamma, 1e-4, "gamma");
}

TEST(SegmentsGammaGamma, DegeneratePopulationsGiveDocumentedErrors) {
    const std::vector<double> none;
    expect_domain_error([&] { sg::fit_gamma_gamma(none, none); },
                        "gamma-gamma needs at least 2 customers with repeat purchases");
    const std::vector<double> one_x{3}, one_m{20};
    expect_domain_error([&] { sg::fit_gamma_gamma(one_x, one_m); },
                        "gamma-gamma needs at least 2 customers with repeat purchases");
    const std::vector<double> one_time_x{0, 0, 0, 2}, one_time_m{0, 0, 0, 10};
    expect_domain_error([&] { sg::fit_gamma_gamma(one_time_x, one_time_m); },
                        "gamma-gamma needs at least 2 customers with repeat purchases");
    const std::vector<double> zero_x{1, 2, 5}, zero_m{0, 0, 0};
    expect_domain_error([&] { sg::fit_gamma_gamma(zero_x, zero_m); },
                        "gamma-gamma needs repeat buyers with positive spend; all have zero average value");
}

TEST(SegmentsGammaGamma, IdenticalSpendsFitToFiniteParameters) {
    const std::vector<double> x{1, 2, 3, 1, 4, 2}, m(6, 25.0);
    const auto fit = sg::fit_gamma_gamma(x, m);
    for (double v : {fit.params.p, fit.params.q, fit.params.gamma, fit.loglik}) EXPECT_TRUE(std::isfinite(v));
    EXPECT_NEAR(sg::gamma_gamma_expected_value(fit.params, 2, 25.0), 25.0, 0.5);
    const std::vector<double> two_x{1, 1}, two_m{10, 30};
    const auto two = sg::fit_gamma_gamma(two_x, two_m);
    for (double v : {two.params.p, two.params.q, two.params.gamma, two.loglik}) EXPECT_TRUE(std::isfinite(v));
}

TEST(SegmentsGammaGamma, InvalidInputThrowsInvalidArgument) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> two{1, 2}, three{1, 2, 3};
    EXPECT_THROW(sg::fit_gamma_gamma(two, three), std::invalid_argument);
    auto fit_row = [](double x, double m) {
        const std::vector<double> xs{1, 2, x}, ms{10, 20, m};
        return sg::fit_gamma_gamma(xs, ms);
    };
    EXPECT_THROW(fit_row(1, -5), std::invalid_argument);
    EXPECT_THROW(fit_row(-1, 5), std::invalid_argument);
    EXPECT_THROW(fit_row(1.5, 5), std::invalid_argument);
    EXPECT_THROW(fit_row(nan, 5), std::invalid_argument);
    EXPECT_THROW(fit_row(1, nan), std::invalid_argument);
    try {
        fit_row(1, -5);
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "gamma-gamma input row 3: average value must be >= 0, got -5");
    }
    EXPECT_NO_THROW(fit_row(3, 0));  // a zero-spend repeat buyer is skipped, not an error
    EXPECT_THROW(sg::gamma_gamma_expected_value({0, 1, 1}, 1, 1), std::invalid_argument);
    EXPECT_THROW(sg::gamma_gamma_expected_value({1, 2, nan}, 1, 1), std::invalid_argument);
    EXPECT_THROW(sg::gamma_gamma_expected_value({1, 2, 3}, 1, -1), std::invalid_argument);
    EXPECT_THROW(sg::gamma_gamma_loglik({1, 2, 3}, two, three), std::invalid_argument);
}

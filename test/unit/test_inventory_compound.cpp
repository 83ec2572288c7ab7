// Compound binomial lead-time demand (compound_reorder_point and friends,
// safety_stock.hpp) checked against a brute-force convolution of the size
// distribution, plus the TSB-style demand probability of LevelForecast and
// its use by compute_policy.
#include "core/inventory/inventory.hpp"

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace inv = salesflow::inventory;

namespace {

// pmf of one size Z = 1 + Y on 0..n_max (Y negative binomial or Poisson
// with the moments of the model), straight from Boost's pmf.
std::vector<double> size_pmf(const inv::CompoundDemand& d, int n_max) {
    std::vector<double> pmf(static_cast<std::size_t>(n_max) + 1, 0.0);
    const double m = d.size_mean - 1.0, v = d.size_variance;
    for (int x = 1; x <= n_max; ++x) {
        const double y = x - 1;
        if (m == 0.0) pmf[x] = x == 1 ? 1.0 : 0.0;
        else if (v > m) pmf[x] = boost::math::pdf(boost::math::negative_binomial_distribution<>(m * m / (v - m), m / v), y);
        else pmf[x] = boost::math::pdf(boost::math::poisson_distribution<>(m), y);
    }
    return pmf;
}

// pmf of D over exactly h periods by convolving sizes n times.
std::vector<double> brute_pmf(const inv::CompoundDemand& d, int h, int n_max) {
    const auto z = size_pmf(d, n_max);
    std::vector<double> out(z.size(), 0.0), sum_n(z.size(), 0.0);
    sum_n[0] = 1.0;  // zero sizes
    for (int n = 0; n <= h; ++n) {
        const double pn = boost::math::pdf(boost::math::binomial_distribution<>(h, d.probability), n);
        for (std::size_t x = 0; x < out.size(); ++x) out[x] += pn * sum_n[x];
        std::vector<double> next(z.size(), 0.0);
        for (std::size_t a = 0; a < z.size(); ++a)
            for (std::size_t b = 1; a + b < z.size(); ++b) next[a + b] += sum_n[a] * z[b];
        sum_n = next;
    }
    return out;
}

double cdf_of(const std::vector<double>& pmf, int s) {
    double c = 0.0;
    for (int x = 0; x <= s; ++x) c += pmf[x];
    return c;
}

double loss_of(const std::vector<double>& pmf, int s, double mean) {
    // E[(D - s)+] = mean - s + sum_{x < s} (s - x) p(x)
    double l = mean - s;
    for (int x = 0; x < s; ++x) l += (s - x) * pmf[x];
    return l;
}

}  // namespace

TEST(InventoryCompoundDemand, MatchesBruteForceConvolutionFixedInterval) {
    const int n_max = 400;
    for (const inv::CompoundDemand d : {inv::CompoundDemand{0.3, 2.5, 2.0},     // size - 1 negative binomial
                                        inv::CompoundDemand{0.6, 1.8, 0.3},     // Poisson (variance <= 0.8)
                                        inv::CompoundDemand{0.25, 1.0, 0.0}}) {  // always one unit: binomial
        const auto pmf = brute_pmf(d, 5, n_max);
        const double mean = 5 * d.probability * d.size_mean;
        EXPECT_NEAR(inv::compound_demand_cdf(d, 5.0, 0.0, 0.0), std::pow(1.0 - d.probability, 5), 1e-12);
        for (int s = 0; s <= 20; ++s) {
            EXPECT_NEAR(inv::compound_demand_cdf(d, 5.0, 0.0, s), cdf_of(pmf, s), 1e-9) << s;
            EXPECT_NEAR(inv::compound_expected_shortage(d, 5.0, 0.0, s), loss_of(pmf, s, mean), 1e-9) << s;
        }
        // Fractional s counts as its floor.
        EXPECT_DOUBLE_EQ(inv::compound_demand_cdf(d, 5.0, 0.0, 2.7), inv::compound_demand_cdf(d, 5.0, 0.0, 2.0));
    }
    // Always one unit: D ~ Binomial(5, 0.25).
    EXPECT_NEAR(inv::compound_demand_cdf({0.25, 1.0, 0.0}, 5.0, 0.0, 2.0),
                boost::math::cdf(boost::math::binomial_distribution<>(5, 0.25), 2), 1e-12);
}

TEST(InventoryCompoundDemand, RandomIntervalIsTheMixture) {
    const inv::CompoundDemand d{0.3, 2.5, 2.0};
    // Uniform on {4, 5, 6}: mean 5, sd sqrt(2/3) -> exactly that mixture.
    const double sd = std::sqrt(2.0 / 3.0);
    for (double s : {0.0, 1.0, 3.0, 7.0, 12.0}) {
        double mix = 0.0, mix_loss = 0.0;
        for (double h : {4.0, 5.0, 6.0}) {
            mix += inv::compound_demand_cdf(d, h, 0.0, s) / 3.0;
            mix_loss += inv::compound_expected_shortage(d, h, 0.0, s) / 3.0;
        }
        EXPECT_NEAR(inv::compound_demand_cdf(d, 5.0, sd, s), mix, 1e-12) << s;
        EXPECT_NEAR(inv::compound_expected_shortage(d, 5.0, sd, s), mix_loss, 1e-12) << s;
    }
    // A fractional interval is split between its neighbours: 2.5 = half 2, half 3.
    EXPECT_NEAR(inv::compound_demand_cdf(d, 2.5, 0.0, 1.0),
                0.5 * (inv::compound_demand_cdf(d, 2.0, 0.0, 1.0) + inv::compound_demand_cdf(d, 3.0, 0.0, 1.0)), 1e-12);
    // Mean below a = ceil(sd): two points {0, (m^2 + sd^2) / m} = {0, 5}, weights 0.9, 0.1.
    EXPECT_NEAR(inv::compound_demand_cdf(d, 0.5, 1.5, 0.0), 0.9 + 0.1 * std::pow(0.7, 5), 1e-12);
    // Expected shortage at 0 is the mean, whatever the interval's spread.
    EXPECT_NEAR(inv::compound_expected_shortage(d, 5.0, sd, 0.0), 5.0 * 0.3 * 2.5, 1e-9);
}

TEST(InventoryCompoundDemand, ReorderPointIsTheSmallestMeetingTheTarget) {
    const inv::CompoundDemand d{0.2, 3.0, 4.0};
    const double sd = std::sqrt(2.0 / 3.0);
    for (double service : {0.5, 0.9, 0.95, 0.99}) {
        const auto p = inv::compound_reorder_point(inv::ServiceType::cycle, service, d, 5.0, sd, 1.0);
        EXPECT_EQ(p.distribution, "compound_binomial");
        EXPECT_GE(inv::compound_demand_cdf(d, 5.0, sd, p.reorder_point), service);
        if (p.reorder_point > 0.0) {
            EXPECT_LT(inv::compound_demand_cdf(d, 5.0, sd, p.reorder_point - 1.0), service);
        }
        EXPECT_DOUBLE_EQ(p.safety_stock, p.reorder_point - 5.0 * 0.2 * 3.0);
    }
    // A slow item: P(D = 0) = 0.99^5 = 0.951 >= 95 %, so s = 0 (no unit rounded up).
    EXPECT_EQ(inv::compound_reorder_point(inv::ServiceType::cycle, 0.95, {0.01, 3.0, 4.0}, 5.0, 0.0, 1.0).reorder_point,
              0.0);
    for (double q : {1.0, 3.0, 10.0}) {
        const auto p = inv::compound_reorder_point(inv::ServiceType::fill_rate, 0.98, d, 5.0, sd, q);
        EXPECT_LE(inv::compound_expected_shortage(d, 5.0, sd, p.reorder_point), 0.02 * q);
        if (p.reorder_point > 0.0) {
            EXPECT_GT(inv::compound_expected_shortage(d, 5.0, sd, p.reorder_point - 1.0), 0.02 * q);
        }
    }
    EXPECT_THROW(inv::compound_reorder_point(inv::ServiceType::cycle, 0.95, {0.0, 2.0, 1.0}, 5.0, 0.0, 1.0),
                 std::invalid_argument);
    EXPECT_THROW(inv::compound_reorder_point(inv::ServiceType::cycle, 0.95, {0.5, 0.5, 1.0}, 5.0, 0.0, 1.0),
                 std::invalid_argument);
    EXPECT_THROW(inv::compound_reorder_point(inv::ServiceType::cycle, 1.0, d, 5.0, 0.0, 1.0), std::invalid_argument);
    EXPECT_THROW(inv::compound_reorder_point(inv::ServiceType::fill_rate, 0.98, d, 5.0, 0.0, 0.0),
                 std::invalid_argument);
    EXPECT_THROW(inv::compound_demand_cdf(d, 2e5, 0.0, 1.0), std::range_error);
    EXPECT_THROW(inv::compound_expected_shortage(d, 5.0, 0.0, 1.5), std::invalid_argument);
}

TEST(InventoryCompoundDemand, ComputePolicyUsesTheDemandProbability) {
    inv::PolicyInput in{};
    in.daily_demand_mean = 0.6;
    in.daily_demand_sd = 1.5;
    in.intermittent = true;
    in.lead_time_days = 2.0;
    in.lead_time_sd_days = std::sqrt(2.0 / 3.0);
    in.review_period_days = 3.0;
    in.service_type = inv::ServiceType::cycle;
    in.service_level = 0.95;
    const auto nb = inv::compute_policy(in);  // probability 0: negative binomial as before
    EXPECT_EQ(nb.method, "negative_binomial_cycle");
    in.demand_probability = 0.2;
    const auto c = inv::compute_policy(in);
    EXPECT_EQ(c.method, "compound_binomial_cycle");
    // Size mean 3, size variance (2.25 - 0.2 * 0.8 * 9) / 0.2 = 4.05.
    const auto d = inv::compound_demand(in);
    EXPECT_DOUBLE_EQ(d.probability, 0.2);
    EXPECT_DOUBLE_EQ(d.size_mean, 3.0);
    EXPECT_NEAR(d.size_variance, 4.05, 1e-12);
    const auto direct = inv::compound_reorder_point(inv::ServiceType::cycle, 0.95, d, 5.0, in.lead_time_sd_days, 1.0);
    EXPECT_DOUBLE_EQ(c.reorder_point, std::max(direct.reorder_point, c.lead_time_demand.mean));
    EXPECT_DOUBLE_EQ(c.lead_time_demand.mean, nb.lead_time_demand.mean);  // same mean and sd reported
    // Same mean and (nearly) the same variance, more weight on no demand in R + L.
    EXPECT_GT(inv::compound_demand_cdf(d, 5.0, in.lead_time_sd_days, 0.0),
              inv::discrete_demand_cdf(nb.lead_time_demand, 0.0) + 0.05);
    // A probability above the mean would mean sizes below one unit: lowered to the mean.
    in.demand_probability = 0.9;
    EXPECT_DOUBLE_EQ(inv::compound_demand(in).probability, 0.6);
    EXPECT_DOUBLE_EQ(inv::compound_demand(in).size_mean, 1.0);
    // A variance below the occurrence variance alone gives a size variance of 0.
    in.demand_probability = 0.2;
    in.daily_demand_sd = 0.1;
    EXPECT_EQ(inv::compound_demand(in).size_variance, 0.0);
    in.service_type = inv::ServiceType::fill_rate;
    in.service_level = 0.98;
    EXPECT_EQ(inv::compute_policy(in).method, "compound_binomial_fill_rate");
    for (double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        in.demand_probability = bad;
        EXPECT_THROW(inv::compute_policy(in), std::invalid_argument) << bad;
    }
    // Not intermittent: the normal model, whatever the probability.
    in.demand_probability = 0.2;
    in.intermittent = false;
    EXPECT_EQ(inv::compute_policy(in).method, "normal_fill_rate");
}

TEST(InventoryLevelForecast, OccurrenceProbabilityHandChecked) {
    inv::LevelForecast f(0.5, 1);
    EXPECT_EQ(f.occurrence_probability(), 0.0);
    // weights max(0.5, 1/t): 1, 0.5, 0.5, 0.5.
    const double demand[] = {0.0, 2.0, 0.0, 0.0};
    const double occurrence[] = {0.0, 0.5, 0.25, 0.125};
    const double level[] = {0.0, 1.0, 0.5, 0.25};
    for (int t = 0; t < 4; ++t) {
        f.observe(demand[t]);
        EXPECT_DOUBLE_EQ(f.occurrence_probability(), occurrence[t]) << t;
        EXPECT_DOUBLE_EQ(f.level(), level[t]) << t;
    }
    // Zero periods leave the implied size level / probability unchanged.
    EXPECT_DOUBLE_EQ(f.level() / f.occurrence_probability(), 2.0);
}

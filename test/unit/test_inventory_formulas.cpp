// Inventory formulas checked against the worked examples of shared/data's
// README (Silver, Pyke & Thomas style lead-time demand, Wilson EOQ) and the
// SciPy reference values in test/fixtures/inventory (norm.ppf, the normal loss
// function, nbinom / poisson cdf, ppf and loss), plus every documented edge case.
#include "core/inventory/inventory.hpp"
#include "test_inventory_fixtures.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace inv = salesflow::inventory;
namespace fx = inventory_fixtures;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

template <typename F>
void expect_invalid(F&& f, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no exception, expected: " << message;
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(e.what(), message);
    }
}

inv::ServiceType service_type(const std::string& s) {
    return s == "cycle" ? inv::ServiceType::cycle : inv::ServiceType::fill_rate;
}

}  // namespace

// ---------------------------------------------------------------- README examples

TEST(InventoryWorkedExamples, FixedLeadTimeNinetyPercentCycleService) {
    const auto ltd = inv::lead_time_demand(50.0, 5.0, 6.0, 0.0);
    EXPECT_DOUBLE_EQ(ltd.mean, 300.0);
    EXPECT_DOUBLE_EQ(ltd.sd, std::sqrt(150.0));
    const double ss = inv::normal_safety_stock_cycle(0.90, ltd);
    EXPECT_NEAR(ss, 15.70, 0.005);
    EXPECT_NEAR(ltd.mean + ss, 315.70, 0.005);
}

TEST(InventoryWorkedExamples, LeadTimeSdTwoDays) {
    const auto ltd = inv::lead_time_demand(50.0, 5.0, 6.0, 2.0);
    EXPECT_DOUBLE_EQ(ltd.sd, std::sqrt(6.0 * 25.0 + 2500.0 * 4.0));
    const double ss = inv::normal_safety_stock_cycle(0.90, ltd);
    EXPECT_NEAR(ss, 129.11, 0.005);
    EXPECT_NEAR(ltd.mean + ss, 429.11, 0.005);
}

TEST(InventoryWorkedExamples, WilsonEoq) { EXPECT_NEAR(inv::eoq(1000.0, 50.0, 2.0), 223.61, 0.005); }

// ---------------------------------------------------------------- lead-time demand

TEST(InventoryLeadTimeDemand, ReviewPeriodExtendsTheProtectionInterval) {
    // (R, S): protection over R + L; sigma_L multiplies d^2 once (R is fixed).
    const auto ltd = inv::lead_time_demand(50.0, 5.0, 6.0, 2.0, 7.0);
    EXPECT_DOUBLE_EQ(ltd.mean, 650.0);
    EXPECT_DOUBLE_EQ(ltd.sd, std::sqrt(13.0 * 25.0 + 2500.0 * 4.0));
}

TEST(InventoryLeadTimeDemand, EdgeCases) {
    // Zero demand: only the forecast error remains.
    auto ltd = inv::lead_time_demand(0.0, 2.0, 9.0, 3.0);
    EXPECT_EQ(ltd.mean, 0.0);
    EXPECT_DOUBLE_EQ(ltd.sd, 6.0);
    // Lead time 0 and continuous review: nothing to protect.
    ltd = inv::lead_time_demand(50.0, 5.0, 0.0, 0.0, 0.0);
    EXPECT_EQ(ltd.mean, 0.0);
    EXPECT_EQ(ltd.sd, 0.0);
    // Lead time 0 but random (sd > 0): d sigma_L remains.
    ltd = inv::lead_time_demand(50.0, 5.0, 0.0, 1.0, 0.0);
    EXPECT_DOUBLE_EQ(ltd.sd, 50.0);
}

TEST(InventoryLeadTimeDemand, RejectsBadInput) {
    expect_invalid([] { inv::lead_time_demand(-1.0, 1.0, 1.0, 0.0); }, "daily demand must be a finite number >= 0");
    expect_invalid([] { inv::lead_time_demand(1.0, kNaN, 1.0, 0.0); }, "daily demand sd must be a finite number >= 0");
    expect_invalid([] { inv::lead_time_demand(1.0, 1.0, -2.0, 0.0); }, "lead time must be a finite number >= 0");
    expect_invalid([] { inv::lead_time_demand(1.0, 1.0, 2.0, kInf); }, "lead time sd must be a finite number >= 0");
    expect_invalid([] { inv::lead_time_demand(1.0, 1.0, 2.0, 0.0, -7.0); },
                   "review period must be a finite number >= 0");
    EXPECT_THROW(inv::lead_time_demand(1e300, 1e300, 1e300, 0.0), std::overflow_error);
}

// ---------------------------------------------------------------- normal model vs SciPy

TEST(InventoryNormal, SafetyFactorMatchesScipyNormPpf) {
    for (const auto& row : fx::read("normal_quantile.csv")) {
        const double p = row.number("p"), z = row.number("z");
        EXPECT_NEAR(inv::normal_safety_factor_cycle(p), z, 1e-12 * std::max(1.0, std::abs(z))) << "p = " << p;
        EXPECT_NEAR(inv::normal_safety_stock_cycle(p, {100.0, 7.0}), 7.0 * z, 1e-11 * std::max(1.0, std::abs(z)));
    }
}

TEST(InventoryNormal, LossFunctionMatchesScipy) {
    for (const auto& row : fx::read("normal_loss.csv")) {
        const double z = row.number("z"), g = row.number("loss");
        EXPECT_NEAR(inv::standard_normal_loss(z), g, 1e-14 + 1e-11 * g) << "z = " << z;
    }
    // Identities: G(0) = phi(0); G(-z) = G(z) + z.
    EXPECT_NEAR(inv::standard_normal_loss(0.0), 1.0 / std::sqrt(2.0 * M_PI), 1e-15);
    for (double z : {0.3, 1.0, 2.7}) EXPECT_NEAR(inv::standard_normal_loss(-z), inv::standard_normal_loss(z) + z, 1e-13);
    // Far tails: non-negative and finite, never NaN.
    EXPECT_EQ(inv::standard_normal_loss(60.0), 0.0);
    EXPECT_NEAR(inv::standard_normal_loss(-60.0), 60.0, 1e-12);
    expect_invalid([] { inv::standard_normal_loss(kNaN); }, "z must be a finite number");
}

TEST(InventoryNormal, FillRateSafetyFactorMatchesScipyBrentq) {
    for (const auto& row : fx::read("fill_rate_normal.csv")) {
        const double fr = row.number("fill_rate"), q = row.number("order_quantity");
        const inv::DemandOverLeadTime ltd{row.number("ltd_mean"), row.number("ltd_sd")};
        EXPECT_NEAR(inv::normal_safety_factor_fill_rate(fr, ltd, q), row.number("k"), 1e-9) << "fill rate " << fr;
        EXPECT_NEAR(inv::normal_safety_stock_fill_rate(fr, ltd, q), row.number("safety_stock"), 1e-9 * ltd.sd);
    }
}

TEST(InventoryNormal, FillRateNegativeFactorWhenTheLotAloneMeetsTheTarget) {
    // (1 - 0.9) * 400 / 5 = 8 = G(k) -> k about -8: the pure formula says hold less than the mean.
    const double k = inv::normal_safety_factor_fill_rate(0.9, {40.0, 5.0}, 400.0);
    EXPECT_LT(k, -7.9);
    EXPECT_NEAR(inv::standard_normal_loss(k), 8.0, 1e-9);
}

TEST(InventoryNormal, EdgeCases) {
    // No uncertainty: no safety stock, whatever the target.
    EXPECT_EQ(inv::normal_safety_stock_cycle(0.99, {300.0, 0.0}), 0.0);
    EXPECT_EQ(inv::normal_safety_stock_fill_rate(0.99, {300.0, 0.0}, 50.0), 0.0);
    // 50 % cycle service: z = 0; below 50 %: negative (floored only by compute_policy).
    EXPECT_NEAR(inv::normal_safety_stock_cycle(0.5, {300.0, 12.0}), 0.0, 1e-12);
    EXPECT_LT(inv::normal_safety_stock_cycle(0.3, {300.0, 12.0}), 0.0);
    // Extreme but valid targets stay finite.
    EXPECT_TRUE(std::isfinite(inv::normal_safety_stock_cycle(1.0 - 1e-15, {1.0, 1.0})));
    EXPECT_TRUE(std::isfinite(inv::normal_safety_stock_fill_rate(1.0 - 1e-15, {1.0, 100.0}, 1e-6)));
}

TEST(InventoryNormal, RejectsBadInput) {
    for (double s : {0.0, 1.0, -0.1, 1.5, kNaN})
        expect_invalid([s] { inv::normal_safety_stock_cycle(s, {10.0, 2.0}); },
                       "cycle service level must be strictly between 0 and 1");
    expect_invalid([] { inv::normal_safety_stock_fill_rate(1.0, {10.0, 2.0}, 5.0); },
                   "fill rate must be strictly between 0 and 1");
    expect_invalid([] { inv::normal_safety_stock_fill_rate(0.95, {10.0, 2.0}, 0.0); },
                   "order quantity must be a finite number > 0 for a fill-rate target");
    expect_invalid([] { inv::normal_safety_factor_fill_rate(0.95, {10.0, 0.0}, 5.0); },
                   "lead-time demand sd must be > 0 to solve for a fill-rate safety factor");
    expect_invalid([] { inv::normal_safety_stock_cycle(0.9, {10.0, -2.0}); },
                   "lead-time demand sd must be a finite number >= 0");
}

// ---------------------------------------------------------------- discrete model vs SciPy

TEST(InventoryDiscrete, CdfAndLossMatchScipy) {
    for (const auto& row : fx::read("discrete_model.csv")) {
        const inv::DemandOverLeadTime ltd{row.number("ltd_mean"), row.number("ltd_sd")};
        const double s = row.number("s");
        const double cdf = row.number("cdf"), loss = row.number("loss");
        EXPECT_NEAR(inv::discrete_demand_cdf(ltd, s), cdf, 1e-12) << ltd.mean << "/" << ltd.sd << " s " << s;
        EXPECT_NEAR(inv::discrete_expected_shortage(ltd, s), loss, 1e-10 * std::max(1.0, ltd.mean))
            << ltd.mean << "/" << ltd.sd << " s " << s;
    }
}

TEST(InventoryDiscrete, ReorderPointsMatchScipyPpfAndLossSearch) {
    for (const auto& row : fx::read("discrete_reorder_point.csv")) {
        const inv::DemandOverLeadTime ltd{row.number("ltd_mean"), row.number("ltd_sd")};
        const auto type = service_type(row.text("service_type"));
        const auto p = inv::discrete_reorder_point(type, row.number("service"), ltd, row.number("order_quantity"));
        const std::string where = row.text("service_type") + " " + row.text("service") + " mean " +
                                  row.text("ltd_mean") + " sd " + row.text("ltd_sd");
        EXPECT_EQ(p.reorder_point, row.number("reorder_point")) << where;
        EXPECT_NEAR(p.safety_stock, row.number("safety_stock"), 1e-12) << where;
        EXPECT_EQ(p.distribution, row.text("distribution")) << where;
    }
}

TEST(InventoryDiscrete, ReorderPointIsTheSmallestMeetingTheTarget) {
    const inv::DemandOverLeadTime ltd{37.5, 21.0};
    const auto c = inv::discrete_reorder_point(inv::ServiceType::cycle, 0.95, ltd, 1.0);
    EXPECT_GE(inv::discrete_demand_cdf(ltd, c.reorder_point), 0.95);
    EXPECT_LT(inv::discrete_demand_cdf(ltd, c.reorder_point - 1.0), 0.95);
    const auto f = inv::discrete_reorder_point(inv::ServiceType::fill_rate, 0.98, ltd, 40.0);
    EXPECT_LE(inv::discrete_expected_shortage(ltd, f.reorder_point), 0.02 * 40.0);
    EXPECT_GT(inv::discrete_expected_shortage(ltd, f.reorder_point - 1.0), 0.02 * 40.0);
}

TEST(InventoryDiscrete, EdgeCases) {
    // Zero mean: nothing to protect, whatever the sd.
    for (double sd : {0.0, 3.0}) {
        const auto p = inv::discrete_reorder_point(inv::ServiceType::cycle, 0.99, {0.0, sd}, 1.0);
        EXPECT_EQ(p.reorder_point, 0.0);
        EXPECT_EQ(p.safety_stock, 0.0);
        EXPECT_EQ(p.distribution, "zero");
    }
    // Variance below the mean: Poisson (sd 0 included).
    EXPECT_EQ(inv::discrete_reorder_point(inv::ServiceType::cycle, 0.9, {4.0, 0.0}, 1.0).distribution, "poisson");
    // Single sale over a year, 17-day protection: P(D = 0) = exp(-0.0466) > 0.95, so s = 0 and safety stock < 0.
    const auto single = inv::discrete_reorder_point(inv::ServiceType::cycle, 0.95, {17.0 / 365.0, 0.2158}, 1.0);
    EXPECT_EQ(single.reorder_point, 0.0);
    EXPECT_LT(single.safety_stock, 0.0);
    // Extremely over-dispersed (r ~ 1e-4) and large means stay finite.
    const auto lumpy = inv::discrete_reorder_point(inv::ServiceType::cycle, 0.99, {0.1, 100.0}, 1.0);
    EXPECT_TRUE(std::isfinite(lumpy.reorder_point));
    const auto big = inv::discrete_reorder_point(inv::ServiceType::fill_rate, 0.99, {1e6, 5e3}, 1e5);
    EXPECT_GT(big.reorder_point, 1e6);
    // A large lot meets the fill rate from s = 0.
    EXPECT_EQ(inv::discrete_reorder_point(inv::ServiceType::fill_rate, 0.9, {3.0, 2.0}, 100.0).reorder_point, 0.0);
    // Non-integer s in the loss: rejected (the cdf floors it).
    expect_invalid([] { inv::discrete_expected_shortage({3.0, 2.0}, 1.5); },
                   "reorder point must be a whole number for discrete demand");
    EXPECT_EQ(inv::discrete_demand_cdf({3.0, 2.0}, 1.5), inv::discrete_demand_cdf({3.0, 2.0}, 1.0));
    EXPECT_EQ(inv::discrete_demand_cdf({3.0, 2.0}, -1.0), 0.0);
}

TEST(InventoryDiscrete, RejectsBadInput) {
    expect_invalid([] { inv::discrete_reorder_point(inv::ServiceType::cycle, 1.0, {3.0, 2.0}, 1.0); },
                   "cycle service level must be strictly between 0 and 1");
    expect_invalid([] { inv::discrete_reorder_point(inv::ServiceType::fill_rate, 0.95, {3.0, 2.0}, -1.0); },
                   "order quantity must be a finite number > 0 for a fill-rate target");
    expect_invalid([] { inv::discrete_reorder_point(inv::ServiceType::cycle, 0.9, {kNaN, 2.0}, 1.0); },
                   "lead-time demand mean must be a finite number >= 0");
}

// ---------------------------------------------------------------- lot sizing

TEST(InventoryLotSize, EoqEdgeCases) {
    EXPECT_EQ(inv::eoq(0.0, 50.0, 2.0), 0.0);   // no demand: nothing to amortise
    EXPECT_EQ(inv::eoq(1000.0, 0.0, 2.0), 0.0); // free orders: lot for lot
    expect_invalid([] { inv::eoq(1000.0, 50.0, 0.0); }, "holding cost per unit and year must be a finite number > 0");
    expect_invalid([] { inv::eoq(-1.0, 50.0, 2.0); }, "annual demand must be a finite number >= 0");
    expect_invalid([] { inv::eoq(1.0, kNaN, 2.0); }, "ordering cost must be a finite number >= 0");
    EXPECT_THROW(inv::eoq(1e308, 1e308, 1e-308), std::overflow_error);
}

TEST(InventoryLotSize, RoundingToMoqAndPack) {
    EXPECT_EQ(inv::round_order_quantity(0.0, 100.0, 12.0), 0.0);    // no need: the MOQ does not force an order
    EXPECT_EQ(inv::round_order_quantity(-5.0, 100.0, 12.0), 0.0);
    EXPECT_EQ(inv::round_order_quantity(7.0, 100.0, 0.0), 100.0);   // MOQ larger than the need
    EXPECT_EQ(inv::round_order_quantity(7.0, 100.0, 12.0), 108.0);  // MOQ not a multiple of the pack
    EXPECT_EQ(inv::round_order_quantity(130.0, 100.0, 12.0), 132.0);
    EXPECT_EQ(inv::round_order_quantity(132.0, 100.0, 12.0), 132.0);
    EXPECT_EQ(inv::round_order_quantity(0.5, 0.0, 12.0), 12.0);     // at least one pack
    EXPECT_EQ(inv::round_order_quantity(12.34, 0.0, 0.0), 12.34);   // pack 0: exact
    EXPECT_NEAR(inv::round_order_quantity(0.1 * 3.0, 0.0, 0.1), 0.3, 1e-12);  // three packs, not four
    expect_invalid([] { inv::round_order_quantity(5.0, -1.0, 1.0); }, "minimum order quantity must be a finite number >= 0");
    expect_invalid([] { inv::round_order_quantity(5.0, 0.0, -1.0); }, "pack size must be a finite number >= 0");
    expect_invalid([] { inv::round_order_quantity(kNaN, 0.0, 1.0); }, "needed quantity must be a finite number");
}

// ---------------------------------------------------------------- runway

TEST(InventoryRunway, InterpolatesWithinTheDay) {
    const std::vector<double> f{10.0, 20.0, 30.0, 40.0};
    const auto r = inv::runway(45.0, f);  // 10 + 20 = 30 by day 2, then 15 of day 2's 30
    EXPECT_DOUBLE_EQ(r.runway_days, 2.5);
    ASSERT_TRUE(r.stockout_day.has_value());
    EXPECT_EQ(*r.stockout_day, 2);
    EXPECT_FALSE(r.covers_horizon);
}

TEST(InventoryRunway, FollowsTheForecastNotAFlatRate) {
    // Same total demand, rising vs falling: very different runways.
    const std::vector<double> rising{0.0, 0.0, 0.0, 10.0, 10.0, 10.0};
    const std::vector<double> falling{10.0, 10.0, 10.0, 0.0, 0.0, 0.0};
    EXPECT_DOUBLE_EQ(inv::runway(15.0, rising).runway_days, 4.5);
    EXPECT_DOUBLE_EQ(inv::runway(15.0, falling).runway_days, 1.5);
}

TEST(InventoryRunway, EdgeCases) {
    const std::vector<double> f{0.0, 5.0, 5.0};
    // Stock exactly used up at the end of a day: out on the next day with demand.
    auto r = inv::runway(5.0, f);
    EXPECT_DOUBLE_EQ(r.runway_days, 2.0);
    EXPECT_EQ(r.stockout_day, 2);
    // Zero stock: out on the first day with positive forecast (zero-demand days count as cover).
    r = inv::runway(0.0, f);
    EXPECT_DOUBLE_EQ(r.runway_days, 1.0);
    EXPECT_EQ(r.stockout_day, 1);
    // Negative stock: already out.
    r = inv::runway(-3.0, f);
    EXPECT_EQ(r.runway_days, 0.0);
    EXPECT_EQ(r.stockout_day, 0);
    EXPECT_FALSE(r.covers_horizon);
    // Stock outlasts the horizon (also: an all-zero forecast): runway = horizon, no stockout day.
    r = inv::runway(100.0, f);
    EXPECT_EQ(r.runway_days, 3.0);
    EXPECT_FALSE(r.stockout_day.has_value());
    EXPECT_TRUE(r.covers_horizon);
    r = inv::runway(10.0, std::vector<double>{0.0, 0.0});
    EXPECT_EQ(r.runway_days, 2.0);
    EXPECT_TRUE(r.covers_horizon);
    // floor(runway) is the stockout day even when rounding pushes towards the next day.
    std::vector<double> tiny(200, 0.1);
    r = inv::runway(10.0 - 1e-15, tiny);
    ASSERT_TRUE(r.stockout_day.has_value());
    EXPECT_EQ(static_cast<int>(std::floor(r.runway_days)), *r.stockout_day);
    expect_invalid([] { inv::runway(5.0, std::vector<double>{}); }, "daily forecast must not be empty");
    expect_invalid([] { inv::runway(5.0, std::vector<double>{1.0, -1.0}); }, "daily forecast must be a finite number >= 0");
    expect_invalid([] { inv::runway(kNaN, std::vector<double>{1.0}); }, "stock must be a finite number");
}

// ---------------------------------------------------------------- lead-time statistics

TEST(InventoryLeadTimeStats, SampleMeanAndSd) {
    const std::vector<double> lt{5.0, 7.0, 6.0, 9.0, 3.0};
    const auto s = inv::lead_time_stats(lt);
    EXPECT_DOUBLE_EQ(s.mean, 6.0);
    EXPECT_DOUBLE_EQ(s.sd, std::sqrt(5.0));  // (1 + 1 + 0 + 9 + 9) / 4
    EXPECT_EQ(s.n, 5);
}

TEST(InventoryLeadTimeStats, EdgeCases) {
    const auto one = inv::lead_time_stats(std::vector<double>{12.0});  // a single received PO
    EXPECT_EQ(one.mean, 12.0);
    EXPECT_EQ(one.sd, 0.0);
    EXPECT_EQ(one.n, 1);
    const auto same = inv::lead_time_stats(std::vector<double>(1000, 0.1));
    EXPECT_NEAR(same.mean, 0.1, 1e-15);
    EXPECT_LT(same.sd, 1e-15);
    expect_invalid([] { inv::lead_time_stats(std::vector<double>{}); }, "lead times must not be empty");
    expect_invalid([] { inv::lead_time_stats(std::vector<double>{3.0, -1.0}); }, "lead time must be a finite number >= 0");
}

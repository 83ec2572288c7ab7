// compute_policy (the per-product (R, s, S) policy of Silver, Pyke & Thomas
// 4th ed. with S - s = Wilson EOQ) against whole policies recomputed with SciPy
// in test/fixtures/inventory/policy.csv, and each documented edge case: zero
// demand, a single sale, lead time 0, MOQ larger than demand, negative on-hand,
// missing settings (zeros), bad input.
#include "core/inventory/inventory.hpp"
#include "test_inventory_fixtures.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace inv = salesflow::inventory;
namespace fx = inventory_fixtures;

namespace {

// The README example as a base: 50/day (sd 5), 6-day lead time, 90 % cycle service, no costs.
inv::PolicyInput base() {
    inv::PolicyInput in{};
    in.daily_demand_mean = 50.0;
    in.daily_demand_sd = 5.0;
    in.intermittent = false;
    in.lead_time_days = 6.0;
    in.service_type = inv::ServiceType::cycle;
    in.service_level = 0.9;
    return in;
}

void expect_all_finite(const inv::Policy& p) {
    for (double v : {p.safety_stock, p.reorder_point, p.order_up_to, p.eoq, p.recommended_qty, p.expected_order_qty,
                     p.inventory_position, p.lead_time_demand.mean, p.lead_time_demand.sd})
        EXPECT_TRUE(std::isfinite(v));
    EXPECT_GE(p.safety_stock, 0.0);
    EXPECT_GE(p.recommended_qty, 0.0);
    EXPECT_GE(p.order_up_to, p.reorder_point);
}

template <typename F>
void expect_invalid(F&& f, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no exception, expected: " << message;
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(e.what(), message);
    }
}

}  // namespace

TEST(InventoryPolicy, MatchesScipyRecomputation) {
    for (const auto& row : fx::read("policy.csv")) {
        inv::PolicyInput in{};
        in.daily_demand_mean = row.number("daily_demand_mean");
        in.daily_demand_sd = row.number("daily_demand_sd");
        in.intermittent = row.number("intermittent") != 0.0;
        in.lead_time_days = row.number("lead_time_days");
        in.lead_time_sd_days = row.number("lead_time_sd_days");
        in.review_period_days = row.number("review_period_days");
        in.on_hand = row.number("on_hand");
        in.on_order = row.number("on_order");
        in.backorders = row.number("backorders");
        in.moq = row.number("moq");
        in.pack_size = row.number("pack_size");
        in.ordering_cost = row.number("ordering_cost");
        in.unit_cost = row.number("unit_cost");
        in.holding_rate = row.number("holding_rate");
        in.service_type = row.text("service_type") == "cycle" ? inv::ServiceType::cycle : inv::ServiceType::fill_rate;
        in.service_level = row.number("service_level");
        const auto p = inv::compute_policy(in);
        const std::string where = row.text("scenario");
        const auto near = [&](double actual, const char* column) {
            const double expected = row.number(column);
            EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::abs(expected))) << where << ": " << column;
        };
        near(p.lead_time_demand.mean, "ltd_mean");
        near(p.lead_time_demand.sd, "ltd_sd");
        near(p.safety_stock, "safety_stock");
        near(p.reorder_point, "reorder_point");
        near(p.order_up_to, "order_up_to");
        near(p.eoq, "eoq");
        near(p.expected_order_qty, "expected_order_qty");
        near(p.recommended_qty, "recommended_qty");
        EXPECT_EQ(p.method, row.text("method")) << where;
        expect_all_finite(p);
    }
}

TEST(InventoryPolicy, ReadmeWorkedExamples) {
    auto in = base();
    auto p = inv::compute_policy(in);
    EXPECT_NEAR(p.safety_stock, 15.70, 0.005);
    EXPECT_NEAR(p.reorder_point, 315.70, 0.005);
    in.lead_time_sd_days = 2.0;
    p = inv::compute_policy(in);
    EXPECT_NEAR(p.safety_stock, 129.11, 0.005);
    EXPECT_NEAR(p.reorder_point, 429.11, 0.005);
    EXPECT_EQ(p.method, "normal_cycle");
}

TEST(InventoryPolicy, OrdersUpToTargetOnlyAtOrBelowTheReorderPoint) {
    auto in = base();
    in.ordering_cost = 50.0;
    in.unit_cost = 10.0;
    in.holding_rate = 0.2;  // H = 2/unit/year, D = 18,250/year
    const auto p0 = inv::compute_policy(in);
    EXPECT_NEAR(p0.eoq, std::sqrt(2.0 * 18250.0 * 50.0 / 2.0), 1e-9);
    EXPECT_DOUBLE_EQ(p0.expected_order_qty, p0.eoq);
    EXPECT_DOUBLE_EQ(p0.order_up_to, p0.reorder_point + p0.eoq);  // (R, s, S) with S - s = EOQ
    // Position = on hand + on order - backorders.
    in.on_hand = 200.0;
    in.on_order = 150.0;
    in.backorders = 40.0;
    auto p = inv::compute_policy(in);
    EXPECT_DOUBLE_EQ(p.inventory_position, 310.0);
    EXPECT_NEAR(p.recommended_qty, p.order_up_to - 310.0, 1e-9);  // 310 <= s = 315.7
    in.on_order = 200.0;  // position 360 > s: open POs cover the need
    p = inv::compute_policy(in);
    EXPECT_EQ(p.recommended_qty, 0.0);
    // No costs: (R, S), order up to s; the fill-rate Q is the review period's demand.
    in = base();
    in.review_period_days = 30.0;
    in.on_hand = 1000.0;
    p = inv::compute_policy(in);
    EXPECT_DOUBLE_EQ(p.expected_order_qty, 1500.0);
    EXPECT_DOUBLE_EQ(p.order_up_to, p.reorder_point);
    EXPECT_NEAR(p.recommended_qty, p.reorder_point - 1000.0, 1e-9);
}

TEST(InventoryPolicy, EdgeCaseZeroDemand) {
    auto in = base();
    in.daily_demand_mean = 0.0;
    in.daily_demand_sd = 4.0;
    in.on_hand = 12.0;
    auto p = inv::compute_policy(in);
    EXPECT_EQ(p.method, "zero_demand");
    EXPECT_EQ(p.safety_stock, 0.0);
    EXPECT_EQ(p.reorder_point, 0.0);
    EXPECT_EQ(p.order_up_to, 0.0);
    EXPECT_EQ(p.recommended_qty, 0.0);
    expect_all_finite(p);
    // Zero demand with a fill-rate target and costs: still no EOQ, no NaN.
    in.service_type = inv::ServiceType::fill_rate;
    in.ordering_cost = 30.0;
    in.unit_cost = 5.0;
    in.holding_rate = 0.25;
    in.intermittent = true;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.eoq, 0.0);
    EXPECT_EQ(p.recommended_qty, 0.0);
    expect_all_finite(p);
}

TEST(InventoryPolicy, EdgeCaseSingleSale) {
    // One unit sold in a year, intermittent: Poisson(17/365) over L + R = 17 days; P(D = 0) >= 95 %.
    auto in = base();
    in.daily_demand_mean = 1.0 / 365.0;
    in.daily_demand_sd = std::sqrt(1.0 / 365.0);
    in.intermittent = true;
    in.lead_time_days = 10.0;
    in.review_period_days = 7.0;
    in.service_level = 0.95;
    auto p = inv::compute_policy(in);
    EXPECT_EQ(p.method, "poisson_cycle");
    EXPECT_EQ(p.safety_stock, 0.0);
    EXPECT_NEAR(p.reorder_point, 17.0 / 365.0, 1e-15);
    // With nothing on hand the position 0 is <= s: buy up to s, at least one pack.
    in.pack_size = 1.0;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.recommended_qty, 1.0);
    // At 99 % the second unit is needed: s = 1.
    in.service_level = 0.99;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.reorder_point, 1.0);
    expect_all_finite(p);
}

TEST(InventoryPolicy, EdgeCaseLeadTimeZero) {
    auto in = base();
    in.lead_time_days = 0.0;
    // Continuous review with instant supply: nothing to hold, nothing to buy ahead;
    // only a backorder is bought back.
    auto p = inv::compute_policy(in);
    EXPECT_EQ(p.method, "immediate_supply");
    EXPECT_EQ(p.safety_stock, 0.0);
    EXPECT_EQ(p.reorder_point, 0.0);
    EXPECT_EQ(p.order_up_to, 0.0);
    EXPECT_EQ(p.recommended_qty, 0.0);
    in.backorders = 7.0;
    EXPECT_EQ(inv::compute_policy(in).recommended_qty, 7.0);
    in.backorders = 0.0;
    // A daily batch (R = 1) with next-day delivery protects one day.
    in.review_period_days = 1.0;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.method, "normal_cycle");
    EXPECT_NEAR(p.safety_stock, 1.2815515655446004 * 5.0, 1e-9);
    EXPECT_NEAR(p.reorder_point, 50.0 + 1.2815515655446004 * 5.0, 1e-9);
    // A lead-time sd with mean 0 is inconsistent (lead times are >= 0): ignored, instant supply.
    in.lead_time_sd_days = 1.0;
    in.review_period_days = 0.0;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.method, "immediate_supply");
    EXPECT_EQ(p.safety_stock, 0.0);
}

TEST(InventoryPolicy, EdgeCaseMoqLargerThanDemand) {
    auto in = base();
    in.daily_demand_mean = 0.2;
    in.daily_demand_sd = 0.5;
    in.moq = 100.0;
    in.pack_size = 25.0;
    const auto p = inv::compute_policy(in);
    EXPECT_LT(p.order_up_to, 3.0);
    EXPECT_EQ(p.recommended_qty, 100.0);
}

TEST(InventoryPolicy, EdgeCaseNegativeOnHand) {
    // A stock record below zero is taken as is: the position includes it, and
    // the order brings the position back to S (do not also pass it as backorders).
    auto in = base();
    in.on_hand = -20.0;
    in.pack_size = 10.0;
    const auto p = inv::compute_policy(in);
    EXPECT_DOUBLE_EQ(p.inventory_position, -20.0);
    EXPECT_EQ(p.recommended_qty, std::ceil((p.order_up_to + 20.0) / 10.0) * 10.0);
}

TEST(InventoryPolicy, EdgeCaseMissingSettingsAreZeros) {
    // Nothing but demand and a lead time known: no EOQ (S = s), fill-rate Q one
    // day, no MOQ / pack rounding.
    auto in = base();
    const auto p = inv::compute_policy(in);
    EXPECT_EQ(p.eoq, 0.0);
    EXPECT_EQ(p.expected_order_qty, 50.0);
    EXPECT_EQ(p.order_up_to, p.reorder_point);
    EXPECT_DOUBLE_EQ(p.recommended_qty, p.order_up_to);
    // Costs without a holding rate: still no EOQ (it would be unbounded).
    in.ordering_cost = 50.0;
    in.unit_cost = 10.0;
    EXPECT_EQ(inv::compute_policy(in).eoq, 0.0);
}

TEST(InventoryPolicy, SafetyStockIsNeverNegative) {
    auto in = base();
    in.service_level = 0.3;  // below 50 %: z < 0, floored
    auto p = inv::compute_policy(in);
    EXPECT_EQ(p.safety_stock, 0.0);
    EXPECT_EQ(p.reorder_point, 300.0);
    in.intermittent = true;  // discrete s below the mean: s is the mean
    in.daily_demand_mean = 0.5;
    in.daily_demand_sd = 0.3;
    in.service_level = 0.3;
    p = inv::compute_policy(in);
    EXPECT_EQ(p.safety_stock, 0.0);
    EXPECT_DOUBLE_EQ(p.reorder_point, 3.0);
}

TEST(InventoryPolicy, RejectsBadInput) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto in = base();
    in.service_level = 1.0;
    expect_invalid([&] { inv::compute_policy(in); }, "cycle service level must be strictly between 0 and 1");
    in = base();
    in.service_type = inv::ServiceType::fill_rate;
    in.service_level = 0.0;
    expect_invalid([&] { inv::compute_policy(in); }, "fill rate must be strictly between 0 and 1");
    in = base();
    in.on_hand = nan;
    expect_invalid([&] { inv::compute_policy(in); }, "on hand must be a finite number");
    in = base();
    in.backorders = -1.0;
    expect_invalid([&] { inv::compute_policy(in); }, "backorders must be a finite number >= 0");
    in = base();
    in.moq = nan;
    expect_invalid([&] { inv::compute_policy(in); }, "minimum order quantity must be a finite number >= 0");
    in = base();
    in.service_type = static_cast<inv::ServiceType>(7);
    expect_invalid([&] { inv::compute_policy(in); }, "service type must be cycle or fill_rate");
}

TEST(InventoryPolicy, WideRandomInputsGiveFiniteResultsOrAnOverflowError) {
    // Deterministic sweep over magnitudes 1e-6..1e12 of every input (log-uniform),
    // both models and targets: the result is finite, or (absurd magnitudes) a
    // std::overflow_error / std::range_error — never NaN, never another exception.
    std::uint64_t state = 12345;
    const auto uniform = [&state] {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    };
    const auto magnitude = [&] { return uniform() < 0.1 ? 0.0 : std::pow(10.0, -6.0 + 18.0 * uniform()); };
    int computed = 0;
    for (int i = 0; i < 3000; ++i) {
        inv::PolicyInput in{};
        in.daily_demand_mean = magnitude();
        in.daily_demand_sd = magnitude();
        in.intermittent = uniform() < 0.5;
        in.lead_time_days = std::min(magnitude(), 1e4);
        in.lead_time_sd_days = std::min(magnitude(), 1e4);
        in.review_period_days = std::min(magnitude(), 1e3);
        in.on_hand = magnitude() - magnitude();
        in.on_order = magnitude();
        in.backorders = magnitude();
        in.moq = magnitude();
        in.pack_size = magnitude();
        in.ordering_cost = magnitude();
        in.unit_cost = magnitude();
        in.holding_rate = uniform();
        in.service_type = uniform() < 0.5 ? inv::ServiceType::cycle : inv::ServiceType::fill_rate;
        in.service_level = 0.5 + 0.4999 * uniform();
        try {
            expect_all_finite(inv::compute_policy(in));
            ++computed;
        } catch (const std::overflow_error&) {
        } catch (const std::range_error&) {
        }
    }
    EXPECT_GT(computed, 2500);
}

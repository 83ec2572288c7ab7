// Inventory benchmarks: compute_policy — the (R, s, S) policy of Silver, Pyke
// & Thomas 4th ed. with normal or negative binomial / Poisson safety stock and
// a Wilson EOQ — over 100,000 generated products, as the replenishment batch
// runs it for a tenant; reported as ns per product. A mix of 70 % smooth
// (normal) and 30 % intermittent (discrete) items, half with a cycle service
// and half with a fill-rate target; plus each kind alone, and the runway of a
// 90-day forecast.
#include "core/inventory/inventory.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace inv = salesflow::inventory;

namespace {

// SplitMix64: the same products on every run.
struct Rng {
    std::uint64_t state;
    double uniform() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    }
};

enum class Mix { all, smooth, intermittent };

std::vector<inv::PolicyInput> products(std::size_t n, Mix mix) {
    Rng rng{42};
    std::vector<inv::PolicyInput> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& p = out[i];
        const bool intermittent = mix == Mix::intermittent || (mix == Mix::all && rng.uniform() < 0.3);
        p.intermittent = intermittent;
        p.daily_demand_mean = intermittent ? 0.05 + 2.0 * rng.uniform() : 5.0 + 200.0 * rng.uniform();
        p.daily_demand_sd = p.daily_demand_mean * (intermittent ? 1.0 + 3.0 * rng.uniform() : 0.1 + 0.5 * rng.uniform());
        p.lead_time_days = 2.0 + 30.0 * rng.uniform();
        p.lead_time_sd_days = 0.3 * p.lead_time_days * rng.uniform();
        p.review_period_days = rng.uniform() < 0.5 ? 1.0 : 7.0;
        p.on_hand = 400.0 * rng.uniform() - 20.0;
        p.on_order = rng.uniform() < 0.3 ? 100.0 * rng.uniform() : 0.0;
        p.backorders = 0.0;
        p.moq = rng.uniform() < 0.5 ? 50.0 : 0.0;
        p.pack_size = rng.uniform() < 0.5 ? 12.0 : 1.0;
        p.ordering_cost = 20.0 + 80.0 * rng.uniform();
        p.unit_cost = 1.0 + 50.0 * rng.uniform();
        p.holding_rate = 0.25;
        p.service_type = (i % 2 == 0) ? inv::ServiceType::cycle : inv::ServiceType::fill_rate;
        p.service_level = p.service_type == inv::ServiceType::cycle ? 0.95 : 0.98;
    }
    return out;
}

void run_policies(benchmark::State& state, Mix mix) {
    const auto in = products(static_cast<std::size_t>(state.range(0)), mix);
    double checksum = 0.0;
    for (auto _ : state) {
        for (const auto& p : in) {
            const inv::Policy policy = inv::compute_policy(p);
            checksum += policy.recommended_qty;
        }
        benchmark::DoNotOptimize(checksum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(in.size()));
    // Seconds per product (printed with an SI prefix: "4.2u" = 4.2 us).
    state.counters["per_product"] = benchmark::Counter(
        static_cast<double>(in.size()), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_ComputePolicyMixed(benchmark::State& state) { run_policies(state, Mix::all); }
void BM_ComputePolicySmooth(benchmark::State& state) { run_policies(state, Mix::smooth); }
void BM_ComputePolicyIntermittent(benchmark::State& state) { run_policies(state, Mix::intermittent); }
BENCHMARK(BM_ComputePolicyMixed)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ComputePolicySmooth)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ComputePolicyIntermittent)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_Runway90Days(benchmark::State& state) {
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    Rng rng{7};
    std::vector<double> forecast(90 * n);
    std::vector<double> stock(n);
    for (auto& f : forecast) f = 20.0 * rng.uniform();
    for (auto& s : stock) s = 1000.0 * rng.uniform();
    double checksum = 0.0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i)
            checksum += inv::runway(stock[i], salesflow::span<double>(forecast.data() + 90 * i, 90)).runway_days;
        benchmark::DoNotOptimize(checksum);
    }
    state.counters["per_product"] = benchmark::Counter(
        static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Runway90Days)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

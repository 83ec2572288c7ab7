// Orders benchmarks: next-order timing for 10,000 simulated customers (the
// per-upload recomputation for a mid-size tenant, prior fit included and
// separately), and pair association rules over ~1,000,000 invoice lines
// (80,000 baskets of mean 12.5 lines, 3,000 products with Zipf(1)
// popularity and planted pairs).
#include "core/orders/associations.hpp"
#include "core/orders/next_order.hpp"
#include "core/orders/simulate.hpp"

#include <benchmark/benchmark.h>

namespace so = salesflow::orders;

namespace {

struct Tenant {
    std::vector<std::vector<int>> history;
};

const Tenant& tenant() {
    static const Tenant t = [] {
        so::GapSimulation sim;
        Tenant out;
        for (const auto& c : so::simulate_gap_customers(10000, sim, 42)) {
            std::vector<int> h;
            for (int d : c.days)
                if (d <= 600) h.push_back(d);
            out.history.push_back(h);
        }
        return out;
    }();
    return t;
}

void BM_PooledGapPrior10k(benchmark::State& state) {
    const auto& t = tenant();
    for (auto _ : state) benchmark::DoNotOptimize(so::pooled_gap_prior(t.history));
}
BENCHMARK(BM_PooledGapPrior10k)->Unit(benchmark::kMillisecond);

void BM_PredictNextOrder10k(benchmark::State& state) {
    const auto& t = tenant();
    const so::GapPrior prior = so::pooled_gap_prior(t.history);
    for (auto _ : state) {
        double sum = 0.0;
        for (const auto& h : t.history) sum += so::predict_next_order(h, 600, prior, 0.9, 30).p_within_horizon;
        benchmark::DoNotOptimize(sum);
    }
    state.counters["customers"] = static_cast<double>(t.history.size());
}
BENCHMARK(BM_PredictNextOrder10k)->Unit(benchmark::kMillisecond);

void BM_AssociationRules1M(benchmark::State& state) {
    const auto baskets = so::simulate_baskets(80000, 3000, 12.5, 1.0, 0.3, 7);
    std::size_t lines = 0;
    for (const auto& b : baskets) lines += b.size();
    so::RuleOptions o;
    o.min_support_count = 20;
    o.min_pair_count = 10;
    o.min_confidence = 0.05;
    o.min_lift = 1.5;
    so::AssociationResult r{};
    for (auto _ : state) {
        r = so::mine_associations(baskets, o);
        benchmark::DoNotOptimize(r);
    }
    state.counters["lines"] = static_cast<double>(lines);
    state.counters["frequent_items"] = static_cast<double>(r.frequent_items);
    state.counters["pairs"] = static_cast<double>(r.pairs_counted);
    state.counters["rules"] = static_cast<double>(r.rules.size());
    state.counters["recounts"] = r.recounts;
}
BENCHMARK(BM_AssociationRules1M)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

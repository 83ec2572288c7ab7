// Anomaly detection throughput: the MAD detector (robust decomposition +
// modified z-scores) over 10,000 entities x 730 days of generated daily sales,
// scoring only the newest day (the nightly incremental run) — and S-H-ESD on
// one 730-day series for comparison.
#include "core/anomaly/anomaly.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace an = salesflow::anomaly;

namespace {

std::vector<std::vector<double>> make_series(int entities, int days) {
    std::mt19937_64 rng(99);
    const double week[7] = {0.8, 0.95, 1.0, 1.0, 1.2, 1.35, 0.7};
    std::vector<std::vector<double>> out(entities, std::vector<double>(days));
    for (int e = 0; e < entities; ++e) {
        const double level = 1.0 + 200.0 * std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        for (int t = 0; t < days; ++t) out[e][t] = std::poisson_distribution<long>(level * week[t % 7])(rng);
    }
    return out;
}

void BM_MadDetectorLastDay(benchmark::State& state) {
    const int entities = static_cast<int>(state.range(0));
    const auto series = make_series(entities, 730);
    std::size_t flagged = 0;
    for (auto _ : state) {
        for (const auto& x : series) flagged += an::detect_mad(x, {}, x.size() - 1).size();
        benchmark::DoNotOptimize(flagged);
    }
    state.SetItemsProcessed(state.iterations() * entities);
    state.counters["entities"] = entities;
}
BENCHMARK(BM_MadDetectorLastDay)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_ShesdOneSeries(benchmark::State& state) {
    const auto series = make_series(1, 730);
    an::EsdOptions o;
    o.period = 7;
    o.max_anoms = 0.02;
    for (auto _ : state) benchmark::DoNotOptimize(an::seasonal_hybrid_esd(series[0], o));
}
BENCHMARK(BM_ShesdOneSeries)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

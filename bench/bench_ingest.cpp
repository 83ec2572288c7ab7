// Benchmarks of invoice ingestion: parse_invoice_csv on 1,000,000 generated
// lines (~88 MB, the size budget of one upload: it should take well under
// 1.5 s on one core), on the real UCI Online Retail sample, and the generator
// itself. Throughput is reported as lines/s and bytes/s.
//
//   build-ingest/bench_ingest --benchmark_filter=Parse
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/ingest/generator.hpp"
#include "core/ingest/invoice.hpp"

namespace {

using namespace salesflow::ingest;

const std::string& generated_million() {
    static const std::string csv = generate_invoice_csv(1000000, 42);
    return csv;
}

void BM_ParseGeneratedMillionLines(benchmark::State& state) {
    const std::string& csv = generated_million();
    std::size_t lines = 0;
    for (auto _ : state) {
        ParseResult result = parse_invoice_csv(csv, {});
        lines = result.lines.size();
        benchmark::DoNotOptimize(result.lines.data());
    }
    if (lines != 1000000) state.SkipWithError("expected 1,000,000 parsed lines");
    state.counters["lines/s"] = benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(csv.size()));
}
BENCHMARK(BM_ParseGeneratedMillionLines)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

void BM_ParseOnlineRetailSample(benchmark::State& state) {
    std::ifstream in(std::string(SALESFLOW_DATA_DIR) + "/online_retail/online_retail_400customers.csv", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string csv = ss.str();
    if (csv.empty()) {
        state.SkipWithError("data file missing");
        return;
    }
    std::size_t lines = 0;
    for (auto _ : state) {
        ParseResult result = parse_invoice_csv(csv, {});
        lines = result.lines.size();
        benchmark::DoNotOptimize(result.lines.data());
    }
    state.counters["lines/s"] = benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(csv.size()));
}
BENCHMARK(BM_ParseOnlineRetailSample)->Unit(benchmark::kMillisecond);

void BM_GenerateInvoiceCsv(benchmark::State& state) {
    const std::int64_t lines = state.range(0);
    for (auto _ : state) {
        std::string csv = generate_invoice_csv(lines, 42);
        benchmark::DoNotOptimize(csv.data());
    }
    state.counters["lines/s"] = benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GenerateInvoiceCsv)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

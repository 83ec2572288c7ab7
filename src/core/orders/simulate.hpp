// Deterministic synthetic order histories for tests, benchmarks and demos:
// customers whose inter-order gaps are log-normal with known parameters, and
// Zipf-popular baskets with planted product pairs. Same seed, same data on
// every platform: own splitmix64 stream, Box–Muller normals, no std::
// distributions (whose output differs between standard libraries).
#pragma once

#include <cstdint>
#include <vector>

namespace salesflow::orders {

// Customer c: mu_c ~ N(mean_log_gap, sd_mean_log_gap^2), sigma_c ~ U(sigma_lo,
// sigma_hi); first purchase uniform on [first_day_lo, first_day_hi]; then
// gaps max(1, round(exp(N(mu_c, sigma_c^2)))) until past end_day.
struct GapSimulation {
    double mean_log_gap = 3.3;      // ~27 days
    double sd_mean_log_gap = 0.6;
    double sigma_lo = 0.2, sigma_hi = 0.9;
    int first_day_lo = 0, first_day_hi = 300;
    int end_day = 800;
};

struct SimulatedCustomer {
    std::vector<int> days;  // strictly increasing purchase days <= end_day
    double mu, sigma;       // the truth
};

std::vector<SimulatedCustomer> simulate_gap_customers(std::size_t customers, const GapSimulation& sim,
                                                      std::uint64_t seed);

// `baskets` baskets over product ids 1..products; sizes 1 + Poisson-like
// (geometric) with mean `mean_size`; products drawn with Zipf(s) popularity;
// product 2k+1 is followed by its partner 2k+2 with probability `pair_rate`.
std::vector<std::vector<std::int64_t>> simulate_baskets(std::size_t baskets, std::int64_t products,
                                                        double mean_size, double zipf_s,
                                                        double pair_rate, std::uint64_t seed);

// The generator itself, for tests that need their own draws.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    double uniform();  // in (0, 1)
    double normal();   // standard normal (Box–Muller, one of the pair)
private:
    std::uint64_t state_;
};

}  // namespace salesflow::orders

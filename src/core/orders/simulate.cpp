// Deterministic synthetic histories; see simulate.hpp.
#include "core/orders/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::orders {

std::uint64_t SplitMix64::next() {
    // Steele, Lea & Flood (2014), "Fast splittable pseudorandom number generators".
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double SplitMix64::uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }

double SplitMix64::normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::vector<SimulatedCustomer> simulate_gap_customers(std::size_t customers, const GapSimulation& sim,
                                                      std::uint64_t seed) {
    if (sim.first_day_hi < sim.first_day_lo || sim.end_day < sim.first_day_hi || sim.sigma_lo < 0.0 ||
        sim.sigma_hi < sim.sigma_lo)
        throw std::invalid_argument("invalid gap simulation settings");
    SplitMix64 rng(seed);
    std::vector<SimulatedCustomer> out(customers);
    for (auto& c : out) {
        c.mu = sim.mean_log_gap + sim.sd_mean_log_gap * rng.normal();
        c.sigma = sim.sigma_lo + (sim.sigma_hi - sim.sigma_lo) * rng.uniform();
        const int span_days = sim.first_day_hi - sim.first_day_lo + 1;
        int day = sim.first_day_lo + static_cast<int>(rng.uniform() * span_days);
        while (day <= sim.end_day) {
            c.days.push_back(day);
            const double g = std::exp(std::min(c.mu + c.sigma * rng.normal(), 12.0));
            day += std::max(1, static_cast<int>(std::lround(g)));
        }
    }
    return out;
}

std::vector<std::vector<std::int64_t>> simulate_baskets(std::size_t baskets, std::int64_t products,
                                                        double mean_size, double zipf_s,
                                                        double pair_rate, std::uint64_t seed) {
    if (products < 1 || mean_size < 1.0 || zipf_s < 0.0)
        throw std::invalid_argument("invalid basket simulation settings");
    SplitMix64 rng(seed);
    std::vector<double> cdf(static_cast<std::size_t>(products));
    double total = 0.0;
    for (std::int64_t k = 0; k < products; ++k) cdf[k] = (total += std::pow(k + 1.0, -zipf_s));
    for (auto& v : cdf) v /= total;
    const double p_stop = 1.0 / mean_size;  // geometric size >= 1 with this mean
    std::vector<std::vector<std::int64_t>> out(baskets);
    for (auto& b : out) {
        do {
            const auto it = std::lower_bound(cdf.begin(), cdf.end(), rng.uniform());
            const std::int64_t id = std::min<std::int64_t>(it - cdf.begin(), products - 1) + 1;
            b.push_back(id);
            if (id % 2 == 1 && id < products && rng.uniform() < pair_rate) b.push_back(id + 1);
        } while (rng.uniform() > p_stop);
    }
    return out;
}

}  // namespace salesflow::orders

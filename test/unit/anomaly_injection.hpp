// Known anomalies injected into real series, for the accuracy tests
// (test_anomaly_local.cpp) and the benchmark (bench/anomaly_accuracy.cpp):
// the definitions of issue #18.
//   store level: drops to U(0, 0.10) x and spikes to U(3, 4) x the local
//     level (median of the same weekday within +-4 weeks, the day left out)
//     on ordinary trading days (the day and its same-weekday neighbours sold);
//   product level: points clearly outside the product's own trailing 8-week
//     range [min, max]: spikes to max(2 max, max + 3), drops to floor(min / 4)
//     where min >= 2.
// Days are drawn with a fixed seed, at least `gap` apart; drops and spikes
// alternate.
#pragma once

#include "core/anomaly/robust.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace salesflow::anomaly::injection {

using Series = std::vector<double>;

struct Injected {
    Series y;
    std::map<std::size_t, int> sign;  // day -> +1 spike, -1 drop
};

// Median of the same phase within +-4 cycles, t left out (the local level).
inline double local_level(const Series& y, std::size_t t, std::size_t period, bool& ordinary) {
    std::vector<double> v;
    ordinary = y[t] > 0;
    for (int k = -4; k <= 4; ++k) {
        const long s = static_cast<long>(t) + k * static_cast<long>(period);
        if (k == 0 || s < 0 || s >= static_cast<long>(y.size())) continue;
        v.push_back(y[static_cast<std::size_t>(s)]);
        if (y[static_cast<std::size_t>(s)] <= 0) ordinary = false;
    }
    if (v.size() < 4) ordinary = false;
    return v.empty() ? 0.0 : salesflow::anomaly::median(v);
}

inline std::vector<std::size_t> pick_days(const std::vector<std::size_t>& candidates, std::size_t count, std::size_t gap,
                                   std::mt19937_64& rng) {
    std::vector<std::size_t> c = candidates, out;
    std::shuffle(c.begin(), c.end(), rng);
    for (std::size_t d : c) {
        if (out.size() == count) break;
        if (std::all_of(out.begin(), out.end(), [&](std::size_t o) { return (o > d ? o - d : d - o) >= gap; }))
            out.push_back(d);
    }
    return out;
}

inline Injected inject_store(const Series& y, std::size_t period, std::size_t count, std::size_t gap, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::size_t> candidates;
    std::vector<double> level(y.size());
    for (std::size_t t = 0; t < y.size(); ++t) {
        bool ordinary = false;
        level[t] = local_level(y, t, period, ordinary);
        if (ordinary && level[t] > 0) candidates.push_back(t);
    }
    Injected out{y, {}};
    const auto days = pick_days(candidates, count, gap, rng);
    for (std::size_t i = 0; i < days.size(); ++i) {
        const std::size_t t = days[i];
        const bool drop = i % 2 == 0;
        out.y[t] = drop ? u(rng) * 0.10 * level[t] : (3.0 + u(rng)) * level[t];
        out.sign[t] = drop ? -1 : 1;
    }
    return out;
}

inline Injected inject_product(const Series& y, std::size_t count, std::size_t gap, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> spike_days, drop_days;
    std::vector<double> lo(y.size(), 0), hi(y.size(), 0);
    for (std::size_t t = 56; t < y.size(); ++t) {
        lo[t] = *std::min_element(y.begin() + static_cast<long>(t) - 56, y.begin() + static_cast<long>(t));
        hi[t] = *std::max_element(y.begin() + static_cast<long>(t) - 56, y.begin() + static_cast<long>(t));
        if (hi[t] >= 1) spike_days.push_back(t);
        if (lo[t] >= 2) drop_days.push_back(t);
    }
    Injected out{y, {}};
    const auto drops = pick_days(drop_days, count / 2, gap, rng);
    std::vector<std::size_t> free_days;
    for (std::size_t d : spike_days)
        if (std::all_of(drops.begin(), drops.end(), [&](std::size_t o) { return (o > d ? o - d : d - o) >= gap; }))
            free_days.push_back(d);
    const auto spikes = pick_days(free_days, count - drops.size(), gap, rng);
    for (std::size_t t : drops) {
        out.y[t] = std::floor(lo[t] / 4.0);
        out.sign[t] = -1;
    }
    for (std::size_t t : spikes) {
        out.y[t] = std::ceil(std::max(2.0 * hi[t], hi[t] + 3.0));
        out.sign[t] = 1;
    }
    return out;
}

}  // namespace salesflow::anomaly::injection

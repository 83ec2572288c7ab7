// The MAD detector on generated daily sales with injected incidents of known
// size: the acceptance figure (recall >= 90% at <= 1 false alarm per
// entity-year), measured in batch mode (whole history scored at once) and in
// the nightly incremental mode (score only the newest days, history so far).
//
// Generator (fixed seed): 200 entities x 730 days. Mean demand
// mu_t = level * trend(t) * weekday(t): level log-uniform in [80, 800] units
// per day, a linear trend from 1 to a factor in [0.8, 1.6] over the two
// years, a weekday profile (quiet Monday, busy Friday/Saturday, quiet Sunday)
// perturbed +/-10% per entity. Sales are negative binomial (gamma-Poisson,
// size 50: variance mu + mu^2 / 50, so even busy series are overdispersed).
// Each entity gets 3 spikes and 3 drops at random days >= 21 days apart:
// spike = mu_t + 5 sd_t, drop = max(0, mu_t - 5 sd_t), sd_t the NB sd.
#include "core/anomaly/anomaly.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

namespace an = salesflow::anomaly;

namespace {

constexpr int kEntities = 200;
constexpr int kDays = 730;
constexpr double kSize = 50.0;  // NB size (dispersion)

struct Entity {
    std::vector<double> sales;
    std::set<int> spikes, drops;
};

std::vector<Entity> generate(unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const double base_week[7] = {0.80, 0.95, 1.00, 1.00, 1.20, 1.35, 0.70};
    std::vector<Entity> out(kEntities);
    for (auto& e : out) {
        const double level = 80.0 * std::exp(u01(rng) * std::log(10.0));
        const double growth = 0.8 + 0.8 * u01(rng);
        double week[7];
        for (int d = 0; d < 7; ++d) week[d] = base_week[d] * (0.9 + 0.2 * u01(rng));
        const int offset = static_cast<int>(u01(rng) * 7);  // series start weekday
        std::vector<double> mu(kDays);
        e.sales.resize(kDays);
        for (int t = 0; t < kDays; ++t) {
            mu[t] = level * (1.0 + (growth - 1.0) * t / (kDays - 1.0)) * week[(t + offset) % 7];
            std::gamma_distribution<double> g(kSize, mu[t] / kSize);
            std::poisson_distribution<long> p(g(rng));
            e.sales[t] = static_cast<double>(p(rng));
        }
        // 6 incident days, at least 21 days apart, from day 60 on (after the
        // detector's 8-week warm-up, MadOptions::min_history).
        std::vector<int> days;
        while (days.size() < 6) {
            const int d = 60 + static_cast<int>(u01(rng) * (kDays - 60));
            if (std::all_of(days.begin(), days.end(), [&](int o) { return std::abs(o - d) >= 21; })) days.push_back(d);
        }
        for (std::size_t i = 0; i < days.size(); ++i) {
            const int t = days[i];
            const double sd = std::sqrt(mu[t] + mu[t] * mu[t] / kSize);
            if (i % 2 == 0) {
                e.sales[t] = std::round(mu[t] + 5.0 * sd);
                e.spikes.insert(t);
            } else {
                e.sales[t] = std::max(0.0, std::round(mu[t] - 5.0 * sd));
                e.drops.insert(t);
            }
        }
    }
    return out;
}

struct Tally {
    int spikes = 0, spikes_found = 0, drops = 0, drops_found = 0, false_alarms = 0;
    double recall() const { return static_cast<double>(spikes_found + drops_found) / (spikes + drops); }
    double false_per_entity_year() const { return false_alarms / (kEntities * kDays / 365.0); }
    void print(const char* what) const {
        std::printf("[ %s ] recall %.3f (spikes %d/%d, drops %d/%d), false alarms %d = %.3f per entity-year\n", what,
                    recall(), spikes_found, spikes, drops_found, drops, false_alarms, false_per_entity_year());
    }
};

void score(const Entity& e, const std::vector<an::Anomaly>& found, Tally& tally) {
    for (const auto& a : found) {
        const int t = static_cast<int>(a.index);
        if (e.spikes.count(t) && a.is_spike()) ++tally.spikes_found;
        else if (e.drops.count(t) && !a.is_spike()) ++tally.drops_found;
        else ++tally.false_alarms;
    }
}

}  // namespace

TEST(AnomalySales, BatchRecallAndFalseAlarms) {
    const auto data = generate(20240801);
    for (double threshold : {3.5, 4.0, 4.5}) {
        an::MadOptions o;
        o.threshold = threshold;
        Tally tally;
        for (const auto& e : data) {
            tally.spikes += static_cast<int>(e.spikes.size());
            tally.drops += static_cast<int>(e.drops.size());
            score(e, an::detect_mad(e.sales, o), tally);
        }
        char what[64];
        std::snprintf(what, sizeof what, "MAD batch, z > %.1f", threshold);
        tally.print(what);
        if (threshold == an::MadOptions{}.threshold) {  // the default: the acceptance figure
            EXPECT_GE(tally.recall(), 0.90);
            EXPECT_LE(tally.false_per_entity_year(), 1.0);
        }
    }
}

TEST(AnomalySales, IncrementalRecallAndFalseAlarms) {
    // Nightly runs, batched weekly to keep the test fast: after day n
    // (n = 63, 70, ..., 730) score the days not scored yet, [previous n, n),
    // knowing only days < n. The decomposition's edge (trailing trend window)
    // is what production sees. Thresholds share one mad_scores per run; the
    // flagging rule is detect_mad's (|z| > threshold, n >= min_history).
    const auto data = generate(20240801);
    const double thresholds[] = {3.5, 4.0, 4.5};
    Tally tally[3];
    for (const auto& e : data) {
        std::vector<an::Anomaly> found[3];
        for (std::size_t prev = 56, n = 63;; prev = n, n += 7) {
            n = std::min<std::size_t>(n, kDays);
            const salesflow::span<double> seen(e.sales.data(), n);
            const auto s = an::mad_scores(seen);
            for (int k = 0; k < 3; ++k) {
                auto o = an::MadOptions{};
                o.threshold = thresholds[k];
                if (k == 1) {  // the default: check the shortcut against detect_mad itself
                    const auto direct = an::detect_mad(seen, o, prev);
                    found[k].insert(found[k].end(), direct.begin(), direct.end());
                    continue;
                }
                for (std::size_t t = prev; t < n; ++t)
                    if (std::fabs(s.score[t]) > thresholds[k]) found[k].push_back({t, e.sales[t], s.expected[t], s.score[t]});
            }
            if (n == kDays) break;
        }
        for (int k = 0; k < 3; ++k) {
            tally[k].spikes += static_cast<int>(e.spikes.size());
            tally[k].drops += static_cast<int>(e.drops.size());
            score(e, found[k], tally[k]);
        }
    }
    for (int k = 0; k < 3; ++k) {
        char what[64];
        std::snprintf(what, sizeof what, "MAD incremental, z > %.1f", thresholds[k]);
        tally[k].print(what);
    }
    ASSERT_EQ(thresholds[1], an::MadOptions{}.threshold);
    EXPECT_GE(tally[1].recall(), 0.90);
    EXPECT_LE(tally[1].false_per_entity_year(), 1.0);
    // Sensitivity is monotone: a lower threshold finds more and cries wolf more.
    EXPECT_GE(tally[0].recall(), tally[1].recall());
    EXPECT_GE(tally[0].false_alarms, tally[1].false_alarms);
    EXPECT_GE(tally[1].false_alarms, tally[2].false_alarms);
}

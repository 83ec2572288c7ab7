// Verified by simulation: demand replayed through compute_policy's own
// reorder rule (without costs the (R, S) system, S = s), with random lead
// times, must achieve the service it was set for (Silver, Pyke & Thomas, "Inventory and Production
// Management in Supply Chains", 4th ed.: cycle service level P1 and fill rate
// P2 of an (R, S) system with backorders).
//
// Design (deterministic):
//  * Data. (a) car parts: the 2,509 complete monthly series of
//    test/data/carparts (51 months; a period is a month). (b) UCI Online
//    Retail (400-customer subset): invoice lines with a positive quantity and
//    an invoice number not starting with C, product stock codes only (first
//    character a digit), summed per StockCode and trading day (the 303 dates
//    with any invoice line; a period is a trading day), the 100 codes with
//    the largest total quantity. (c) Synthetic: demand drawn from the very distributions
//    the policy assumes — normal per period (mean 20..200, CV 0.1..0.3) for
//    smooth items, negative binomial per period (mean 0.3..6, variance/mean
//    1.5..6) for intermittent ones — 60 items each, 1,040 periods, drawn by
//    inverse transform (Boost.Math normal quantile; a cdf table from Boost's
//    negative binomial pdf) from our own SplitMix64.
//  * Estimation (one-off fit, replay()). The first half of each series is the training window: daily
//    demand mean and sd (n - 1) of the per-period demand, which is the
//    forecast error sd of a level forecast; items without demand in the
//    training window are skipped (compute_policy says "zero_demand" and holds
//    nothing: no service can be measured for them) and counted. An item is
//    intermittent (discrete negative binomial / Poisson model) when fewer than
//    1/1.32 of its training periods have demand (the ADI cut-off of Syntetos,
//    Boylan & Croston 2005).
//  * Policy. compute_policy with the lead-time mean and sd below, the review
//    period R, no costs and the target: s = mean demand over R + L plus
//    safety stock, S = s + EOQ = s (the (R, S) system), and the fill-rate Q
//    is R periods of demand. The replay orders S - position when position <=
//    s, i.e. compute_policy's recommended_qty without MOQ / pack rounding.
//  * Replay. simulate_review_policy over the second half, starting with net
//    stock S and nothing on order; review every R periods; the lead time of
//    each order is uniform on whole periods {lo..hi} (spread < R, so orders
//    never cross and each cycle's protection interval is exactly R + L):
//    car parts R = 3 months, L in {1, 2, 3} (mean 2, sd 0.816); daily data
//    R = 7 trading days, L in {3..9} (mean 6, sd 2, the README example). The
//    PRNG is seeded per data set, target and item.
//  * Measures, pooled over items: cycle service = cycles without a stockout /
//    cycles; fill rate = 1 - units short on arrival of demand / units demanded;
//    average on-hand stock per item-period, also in periods of mean demand.
//  * Rolling re-estimation (replay_adaptive; how the batch works: it re-runs
//    at every review on the data up to that day). The first half is history
//    only; at each review of the second half the policy is recomputed by
//    compute_policy from: the demand level = SES with alpha = 0.1 (fixed in
//    advance, not fitted), started as the running mean; the demand variance
//    from the level forecast's own out-of-sample one-step errors, each
//    scaled by 1 / (1 + c) for the variance of the level it came from; for
//    intermittent items (same ADI rule, over the history so far) the variance
//    follows the level (compound Poisson: Var = k x level, k from the same
//    errors); the per-period sd given to compute_policy carries the level's
//    estimation variance over the protection interval (Prak, Teunter &
//    Syntetos 2017): see core/inventory/demand_estimate.hpp. Intermittent
//    items also pass the demand probability, the indicator "period with
//    demand" smoothed with the same alpha (TSB: Teunter, Syntetos & Babai
//    2011), so that compute_policy models the demand over R + L as compound
//    binomial (Teunter, Syntetos & Babai 2010) with that mean and sd, which
//    keeps P(no demand in R + L) = (1 - p)^(R + L). The replay
//    starts with net stock S of the first review; the (R, S) system orders
//    at every review (a zero quantity when S fell below the position), so
//    every review opens a cycle as in the one-off replay.
// Targets: 95 % cycle service must be achieved within [93 %, 97 %] and a 98 %
// fill rate within 1.5 points. The synthetic data (one-off fit and rolling
// re-estimation) and model twins of the real series (the policy's own
// distribution with each series' mean and variance, 10x as long; one-off
// fit) prove the policy code calibrated and are asserted. On the real series the
// one-off fit misses the band (estimation noise of one short, lumpy training
// half, and drift; pinned, with diagnostics that separate the causes, see
// diagnose()). Rolling re-estimation meets it for the UCI top 100 (both
// targets) and car parts (both targets, asserted). With the negative binomial
// of the same mean and sd instead of the compound binomial, the car-parts
// cycle service lands 0.8 point above the band (pinned at that test).
#include "core/inventory/inventory.hpp"
#include "test_data.hpp"

#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace inv = salesflow::inventory;

namespace {

// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and the same on every platform.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }  // in (0, 1)
    int integer(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }

private:
    std::uint64_t state_;
};

std::uint64_t seed_of(const std::string& set, int item, double target) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the labels
    for (char c : set) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h = (h ^ static_cast<std::uint64_t>(item)) * 1099511628211ULL;
    return (h ^ static_cast<std::uint64_t>(std::llround(target * 1e6))) * 1099511628211ULL;
}

struct Design {
    std::string name;
    int review_period;
    int lead_lo, lead_hi;
    double lead_mean() const { return 0.5 * (lead_lo + lead_hi); }
    double lead_sd() const {
        const double n = lead_hi - lead_lo + 1;
        return std::sqrt((n * n - 1.0) / 12.0);  // discrete uniform
    }
};

struct Outcome {
    int items = 0, skipped = 0, intermittent = 0;
    inv::ReviewSimulation total;
    double mean_demand_sum = 0.0;   // per item, per period (replayed window)
    double train_demand_sum = 0.0;  // per item, per period (fitted window)
    double model_cycle_service_sum = 0.0;  // P(D(R+L) <= s) under the model, per item
    void add(const inv::ReviewSimulation& r) {
        total.periods += r.periods;
        total.orders += r.orders;
        total.cycles += r.cycles;
        total.cycles_without_stockout += r.cycles_without_stockout;
        total.demand += r.demand;
        total.demand_short += r.demand_short;
        total.on_hand_sum += r.on_hand_sum;
    }
    double average_on_hand() const { return total.average_on_hand(); }
    double days_of_stock() const { return total.on_hand_sum / total.demand; }
};

double mean_of(const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}

double sd_of(const std::vector<double>& v) {
    const double m = mean_of(v);
    double ss = 0.0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// How the replay departs from the asserted design (diagnostics, reported only).
struct Variant {
    bool first_sketch = false;  // S = s + max(EOQ, R-period demand), the rule compute_policy did not adopt
    bool oracle = false;  // estimate mean and sd on the replayed half itself (no forecast error at all)
};

// Train on the first half, replay the second.
Outcome replay(const std::string& set, const std::vector<std::vector<double>>& series, const Design& design,
               inv::ServiceType type, double target, Variant variant = {}) {
    Outcome out;
    for (std::size_t i = 0; i < series.size(); ++i) {
        const auto& y = series[i];
        const std::size_t half = y.size() / 2;
        const std::vector<double> train(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(half));
        const std::vector<double> test(y.begin() + static_cast<std::ptrdiff_t>(half), y.end());
        const auto& fit = variant.oracle ? test : train;
        const double d = mean_of(fit);
        if (d == 0.0 || mean_of(train) == 0.0) {
            ++out.skipped;
            continue;
        }
        const auto nonzero = std::count_if(fit.begin(), fit.end(), [](double x) { return x > 0.0; });
        inv::PolicyInput in{};
        in.daily_demand_mean = d;
        in.daily_demand_sd = sd_of(fit);
        in.intermittent = static_cast<double>(nonzero) < static_cast<double>(fit.size()) / 1.32;
        in.lead_time_days = design.lead_mean();
        in.lead_time_sd_days = design.lead_sd();
        in.review_period_days = design.review_period;
        in.service_type = type;
        in.service_level = target;
        const auto policy = inv::compute_policy(in);

        SplitMix64 rng(seed_of(set + design.name, static_cast<int>(i), target));
        std::vector<int> lead(test.size() / static_cast<std::size_t>(design.review_period) + 1);
        for (auto& l : lead) l = rng.integer(design.lead_lo, design.lead_hi);
        const double s = policy.reorder_point;
        const double S = variant.first_sketch ? s + policy.expected_order_qty : policy.order_up_to;
        out.add(inv::simulate_review_policy(test, s, S, design.review_period, lead, S));
        ++out.items;
        out.intermittent += in.intermittent ? 1 : 0;
        out.mean_demand_sum += mean_of(test);
        out.train_demand_sum += d;
        if (in.intermittent) out.model_cycle_service_sum += inv::discrete_demand_cdf(policy.lead_time_demand, s);
        else
            out.model_cycle_service_sum += boost::math::cdf(
                boost::math::normal_distribution<>(policy.lead_time_demand.mean,
                                                   std::max(policy.lead_time_demand.sd, 1e-300)),
                s);
    }
    return out;
}

// How the batch works: at every review the policy is recomputed from the
// demand up to that day. The level is SES (alpha fixed in advance, not fitted
// to these data) started as the running mean; the demand sd comes from the
// level forecast's own out-of-sample one-step errors, and the item is
// intermittent by the same ADI rule over the history so far.
struct Adaptive {
    double alpha = 0.1;
    // true: sd over the protection interval with the level's estimation
    // variance (Prak, Teunter & Syntetos 2017, see demand_estimate.hpp);
    // false: the textbook sigma_d = one-step forecast error rmse.
    bool estimation_variance = true;
    // Intermittent items: variance proportional to the level (compound
    // Poisson), the ratio from the out-of-sample errors; false: constant.
    bool scale_with_level = true;
    // Intermittent items: compound binomial demand with the smoothed demand
    // probability (TSB); false: the negative binomial of the same mean and sd.
    bool compound = true;
};

Outcome replay_adaptive(const std::string& set, const std::vector<std::vector<double>>& series, const Design& design,
                        inv::ServiceType type, double target, Adaptive a = {}) {
    Outcome out;
    const double horizon = design.review_period + design.lead_mean();
    for (std::size_t i = 0; i < series.size(); ++i) {
        const auto& y = series[i];
        const std::size_t half = y.size() / 2;
        const std::vector<double> train(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(half));
        const std::vector<double> test(y.begin() + static_cast<std::ptrdiff_t>(half), y.end());
        if (mean_of(train) == 0.0) {  // never sold before the replay: nothing is stocked, no service to measure
            ++out.skipped;
            continue;
        }
        // The same lead times as the one-off fit of replay().
        SplitMix64 rng(seed_of(set + design.name, static_cast<int>(i), target));
        std::vector<int> lead(test.size() / static_cast<std::size_t>(design.review_period) + 1);
        for (auto& l : lead) l = rng.integer(design.lead_lo, design.lead_hi);

        inv::LevelForecast level(a.alpha, 1);
        std::size_t seen = 0;
        int reviews = 0;
        double model_service = 0.0;
        bool intermittent = false;
        const inv::ReviewRule rule = [&](salesflow::span<double> history) {
            for (; seen < history.size(); ++seen) level.observe(history[seen]);
            inv::PolicyInput in{};
            in.daily_demand_mean = level.level();
            in.intermittent = static_cast<double>(level.nonzero_periods()) < level.periods() / 1.32;
            double variance = level.demand_variance();
            if (a.scale_with_level && in.intermittent) {
                try {
                    variance = level.variance_to_mean() * level.level();
                } catch (const std::domain_error&) {  // no positive forecast yet: constant variance
                }
            }
            in.daily_demand_sd = a.estimation_variance
                                     ? inv::forecast_error_demand_sd(variance, level.estimate_variance_ratio(),
                                                                     horizon, design.lead_sd())
                                     : std::sqrt(level.one_step_mse());
            in.lead_time_days = design.lead_mean();
            in.lead_time_sd_days = design.lead_sd();
            in.review_period_days = design.review_period;
            in.service_type = type;
            in.service_level = target;
            if (a.compound && in.intermittent && in.daily_demand_mean > 0.0)
                in.demand_probability = level.occurrence_probability();
            const auto policy = inv::compute_policy(in);
            intermittent = in.intermittent;
            ++reviews;
            const double s = policy.reorder_point;
            if (in.daily_demand_mean == 0.0) model_service += 1.0;
            else if (in.demand_probability > 0.0)
                model_service += inv::compound_demand_cdf(inv::compound_demand(in), horizon, design.lead_sd(), s);
            else if (in.intermittent) model_service += inv::discrete_demand_cdf(policy.lead_time_demand, s);
            else
                model_service += boost::math::cdf(
                    boost::math::normal_distribution<>(policy.lead_time_demand.mean,
                                                       std::max(policy.lead_time_demand.sd, 1e-300)),
                    s);
            return inv::ReviewLevels{s, policy.order_up_to};
        };
        out.add(inv::simulate_adaptive_policy(y, half, design.review_period, lead, rule));
        ++out.items;
        out.intermittent += intermittent ? 1 : 0;  // at the last review
        out.mean_demand_sum += mean_of(test);
        out.train_demand_sum += mean_of(train);
        out.model_cycle_service_sum += model_service / reviews;
    }
    return out;
}

void report(const std::string& label, const Outcome& o, inv::ServiceType type, double target) {
    std::cout << std::fixed << std::setprecision(2) << "[inventory simulation] " << std::left << std::setw(34)
              << label << " target " << (type == inv::ServiceType::cycle ? "CSL " : "fill ") << target * 100.0
              << "%: items " << o.items << " (" << o.intermittent << " intermittent, " << o.skipped
              << " skipped), cycles " << o.total.cycles << ", CSL " << 100.0 * o.total.cycle_service()
              << "% (model " << 100.0 * o.model_cycle_service_sum / o.items << "%), fill rate "
              << 100.0 * o.total.fill_rate() << "%, avg on hand " << o.average_on_hand() << " units = "
              << o.days_of_stock() << " periods of demand; replayed/fitted mean demand "
              << o.mean_demand_sum / o.train_demand_sum << std::endl;
}

// ------------------------------------------------------------------ data

std::vector<std::vector<double>> carparts_series() {
    std::istringstream in = test_data::stream(test_data::path("carparts/carparts_long.csv"));
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<double>> out;
    std::string last;
    std::vector<double> cur;
    while (std::getline(in, line)) {
        const auto c1 = line.find(','), c2 = line.rfind(',');
        const std::string part = line.substr(0, c1);
        if (part != last) {
            if (cur.size() == 51) out.push_back(cur);
            cur.clear();
            last = part;
        }
        cur.push_back(std::stod(line.substr(c2 + 1)));
    }
    if (cur.size() == 51) out.push_back(cur);
    return out;
}

std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char c : line) {
        if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) out.emplace_back();
        else out.back() += c;
    }
    return out;
}

std::vector<std::vector<double>> online_retail_series(std::size_t top) {
    std::istringstream in = test_data::stream(test_data::path("online_retail/online_retail_400customers.csv"));
    std::string line;
    std::getline(in, line);
    std::set<std::string> days;
    std::map<std::string, std::map<std::string, double>> by_code;  // code -> day -> quantity
    while (std::getline(in, line)) {
        const auto f = csv_fields(line);  // InvoiceNo, StockCode, Description, Quantity, InvoiceDate, ...
        if (f.size() < 5) continue;
        const std::string day = f[4].substr(0, 10);
        days.insert(day);
        const double q = std::stod(f[3]);
        if (q <= 0.0 || f[0].empty() || f[0][0] == 'C' || f[1].empty() || !std::isdigit(static_cast<unsigned char>(f[1][0])))
            continue;
        by_code[f[1]][day] += q;
    }
    std::vector<std::pair<double, std::string>> volume;
    for (const auto& [code, per_day] : by_code) {
        double v = 0.0;
        for (const auto& kv : per_day) v += kv.second;
        volume.emplace_back(-v, code);
    }
    std::sort(volume.begin(), volume.end());
    std::vector<std::vector<double>> out;
    for (std::size_t k = 0; k < std::min(top, volume.size()); ++k) {
        const auto& per_day = by_code[volume[k].second];
        std::vector<double> y;
        for (const auto& day : days) {
            const auto it = per_day.find(day);
            y.push_back(it == per_day.end() ? 0.0 : it->second);
        }
        out.push_back(std::move(y));
    }
    return out;
}

// Inverse-transform sampling of a negative binomial with the given mean and
// variance (> mean): the cdf table from Boost.Math's pdf, then the smallest k
// with P(X <= k) >= u by binary search (Boost's discrete quantile per draw is
// ~30 us; this is ~50 ns).
// Poisson when variance <= mean, as in the policy's model.
class DiscreteSampler {
public:
    DiscreteSampler(double mean, double variance) {
        const double p = mean / variance, r = mean * mean / (variance - mean);
        double cdf = 0.0;
        for (int k = 0; cdf < 1.0 - 1e-13 && k < 1000000; ++k) {
            cdf += variance > mean ? boost::math::pdf(boost::math::negative_binomial_distribution<>(r, p), k)
                                   : boost::math::pdf(boost::math::poisson_distribution<>(mean), k);
            cdf_.push_back(cdf);
        }
    }
    double draw(double u) const {
        const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
        return static_cast<double>(std::min<std::ptrdiff_t>(it - cdf_.begin(), static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
    }

private:
    std::vector<double> cdf_;
};

std::vector<std::vector<double>> synthetic_series(bool intermittent, int items, int periods) {
    SplitMix64 rng(intermittent ? 0x1D2E3F : 0xA1B2C3);
    std::vector<std::vector<double>> out;
    for (int i = 0; i < items; ++i) {
        std::vector<double> y(static_cast<std::size_t>(periods));
        if (!intermittent) {
            const double mean = 20.0 + 180.0 * rng.uniform(), cv = 0.1 + 0.2 * rng.uniform();
            const boost::math::normal_distribution<> dist(mean, cv * mean);
            for (auto& x : y) x = std::max(0.0, boost::math::quantile(dist, rng.uniform()));
        } else {
            const double mean = 0.3 + 5.7 * rng.uniform(), dispersion = 1.5 + 4.5 * rng.uniform();
            const DiscreteSampler sampler(mean, dispersion * mean);
            for (auto& x : y) x = sampler.draw(rng.uniform());
        }
        out.push_back(std::move(y));
    }
    return out;
}

// Twins of each real series drawn from the model the policy assumes
// (negative binomial, Poisson if not over-dispersed) with the series' own
// whole-sample mean and variance: i.i.d., stationary, no lumps beyond the
// fitted variance; one as long as the series and one 10x as long. Series
// without demand stay all zero.
struct Twins {
    std::vector<std::vector<double>> same_length, ten_times;
};

Twins model_twins(const std::vector<std::vector<double>>& series, std::uint64_t seed) {
    SplitMix64 rng(seed);
    Twins out;
    for (const auto& y : series) {
        const double m = mean_of(y), v = sd_of(y) * sd_of(y);
        std::vector<double> once(y.size(), 0.0), ten(10 * y.size(), 0.0);
        if (m > 0.0) {
            const DiscreteSampler sampler(m, v);  // the cdf table is the costly part: build it once
            for (auto& x : once) x = sampler.draw(rng.uniform());
            for (auto& x : ten) x = sampler.draw(rng.uniform());
        }
        out.same_length.push_back(std::move(once));
        out.ten_times.push_back(std::move(ten));
    }
    return out;
}

const Design kMonthly{"monthly", 3, 1, 3};
const Design kDaily{"daily", 7, 3, 9};

}  // namespace

// ------------------------------------------------------------------ mechanics

TEST(InventorySimulation, DeterministicDemandNeverStocksOut) {
    // 10/period, R = 2, L = 3: S = 10 * 5 covers each protection interval exactly.
    const std::vector<double> demand(40, 10.0);
    const std::vector<int> lead(20, 3);
    const auto r = inv::simulate_review_policy(demand, 50.0, 50.0, 2, lead, 50.0);
    EXPECT_EQ(r.cycles_without_stockout, r.cycles);
    EXPECT_GT(r.cycles, 10);
    EXPECT_EQ(r.demand_short, 0.0);
    EXPECT_DOUBLE_EQ(r.fill_rate(), 1.0);
    // One unit less and every cycle ends 1 short (after the first delivery).
    const auto tight = inv::simulate_review_policy(demand, 49.0, 49.0, 2, lead, 49.0);
    EXPECT_EQ(tight.cycles_without_stockout, 0);
    EXPECT_LT(tight.fill_rate(), 1.0);
}

TEST(InventorySimulation, HandCheckedTimeline) {
    // R = 1, L = 0: the order of each period's review arrives at the start of the next.
    const std::vector<double> demand{3.0, 5.0, 0.0, 4.0};
    const std::vector<int> lead(4, 0);
    const auto r = inv::simulate_review_policy(demand, 4.0, 4.0, 1, lead, 4.0);
    // Period 1: stock 4, demand 5 -> 1 short; every other period is covered.
    EXPECT_DOUBLE_EQ(r.demand_short, 1.0);
    EXPECT_DOUBLE_EQ(r.demand, 12.0);
    EXPECT_EQ(r.orders, 4);
    EXPECT_EQ(r.cycles, 3);  // arrivals at 1, 2, 3, 4: cycles ending before 2, 3, 4
    EXPECT_EQ(r.cycles_without_stockout, 2);
    EXPECT_DOUBLE_EQ(r.average_on_hand(), (1.0 + 0.0 + 4.0 + 0.0) / 4.0);
}

TEST(InventorySimulation, RejectsCrossingOrdersAndBadInput) {
    const std::vector<double> demand(10, 1.0);
    const auto empty = inv::simulate_review_policy(std::vector<double>{}, 5.0, 5.0, 1, std::vector<int>{}, 5.0);
    EXPECT_THROW(empty.cycle_service(), std::domain_error);
    EXPECT_THROW(empty.fill_rate(), std::domain_error);
    const std::vector<int> crossing{5, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_THROW(inv::simulate_review_policy(demand, 5.0, 5.0, 1, crossing, 5.0), std::invalid_argument);
    EXPECT_THROW(inv::simulate_review_policy(demand, 6.0, 5.0, 1, std::vector<int>(10, 0), 5.0), std::invalid_argument);
    EXPECT_THROW(inv::simulate_review_policy(demand, 5.0, 5.0, 0, std::vector<int>(10, 0), 5.0), std::invalid_argument);
    EXPECT_THROW(inv::simulate_review_policy(demand, 5.0, 5.0, 2, std::vector<int>(3, 0), 5.0), std::invalid_argument);
}

// ------------------------------------------------------------------ calibration on the assumed distributions

// Asserts the band for a replay of both targets.
void expect_band(const std::string& label, const Outcome& csl, const Outcome& fill) {
    EXPECT_GE(csl.total.cycle_service(), 0.93) << label;
    EXPECT_LE(csl.total.cycle_service(), 0.97) << label;
    EXPECT_NEAR(fill.total.fill_rate(), 0.98, 0.015) << label;
}

TEST(InventorySimulationSynthetic, NormalDemandMeetsCycleServiceAndFillRate) {
    const auto series = synthetic_series(false, 60, 1040);
    for (const auto& design : {kDaily, kMonthly}) {
        const auto csl = replay("synthetic-normal", series, design, inv::ServiceType::cycle, 0.95);
        report("synthetic normal, " + design.name, csl, inv::ServiceType::cycle, 0.95);
        EXPECT_EQ(csl.intermittent, 0);
        const auto fill = replay("synthetic-normal", series, design, inv::ServiceType::fill_rate, 0.98);
        report("synthetic normal, " + design.name, fill, inv::ServiceType::fill_rate, 0.98);
        expect_band("synthetic normal, one-off fit, " + design.name, csl, fill);
        Variant sketch;
        sketch.first_sketch = true;
        report("synthetic normal, S = s + R-demand, " + design.name,
               replay("synthetic-normal", series, design, inv::ServiceType::cycle, 0.95, sketch), inv::ServiceType::cycle,
               0.95);
        // Rolling re-estimation is calibrated on stationary demand too.
        const auto rcsl = replay_adaptive("synthetic-normal", series, design, inv::ServiceType::cycle, 0.95);
        report("synthetic normal, rolling, " + design.name, rcsl, inv::ServiceType::cycle, 0.95);
        const auto rfill = replay_adaptive("synthetic-normal", series, design, inv::ServiceType::fill_rate, 0.98);
        report("synthetic normal, rolling, " + design.name, rfill, inv::ServiceType::fill_rate, 0.98);
        expect_band("synthetic normal, rolling, " + design.name, rcsl, rfill);
    }
}

TEST(InventorySimulationSynthetic, NegativeBinomialDemandMeetsCycleServiceAndFillRate) {
    const auto series = synthetic_series(true, 60, 1040);
    for (const auto& design : {kDaily, kMonthly}) {
        const auto csl = replay("synthetic-nb", series, design, inv::ServiceType::cycle, 0.95);
        report("synthetic neg. binomial, " + design.name, csl, inv::ServiceType::cycle, 0.95);
        const auto fill = replay("synthetic-nb", series, design, inv::ServiceType::fill_rate, 0.98);
        report("synthetic neg. binomial, " + design.name, fill, inv::ServiceType::fill_rate, 0.98);
        expect_band("synthetic neg. binomial, one-off fit, " + design.name, csl, fill);
        const auto rcsl = replay_adaptive("synthetic-nb", series, design, inv::ServiceType::cycle, 0.95);
        report("synthetic neg. binomial, rolling, " + design.name, rcsl, inv::ServiceType::cycle, 0.95);
        const auto rfill = replay_adaptive("synthetic-nb", series, design, inv::ServiceType::fill_rate, 0.98);
        report("synthetic neg. binomial, rolling, " + design.name, rfill, inv::ServiceType::fill_rate, 0.98);
        expect_band("synthetic neg. binomial, rolling, " + design.name, rcsl, rfill);
        // Without the level's estimation variance (textbook sd = one-step rmse)
        // the rolling policy falls short even on the model's own data.
        Adaptive textbook;
        textbook.estimation_variance = false;
        const auto tcsl = replay_adaptive("synthetic-nb", series, design, inv::ServiceType::cycle, 0.95, textbook);
        report("synthetic neg. binomial, rolling, rmse sd, " + design.name, tcsl, inv::ServiceType::cycle, 0.95);
        EXPECT_LT(tcsl.total.cycle_service(), rcsl.total.cycle_service()) << design.name;
    }
}

// ------------------------------------------------------------------ real data

// The one-off fit (parameters from the first half, kept for the second) fails
// the band on the real series; these replays say why (all reported):
//  * fitted on the replayed half: mean and sd known exactly (no forecast
//    error, no drift) — what is left is the shape of real demand;
//  * model twins of the same length: the policy's own model with the series'
//    parameters, same short training window — what is left is estimation noise;
//  * model twins 10x as long (asserted): the policy's own model, long window —
//    the code is calibrated when the demand model is right;
//  * S = s + R-period demand: the order-up-to rule compute_policy did not adopt.
void diagnose(const std::string& set, const std::vector<std::vector<double>>& series, const Design& design) {
    Variant oracle;
    oracle.oracle = true;
    report(set + " fitted on replayed half", replay(set, series, design, inv::ServiceType::cycle, 0.95, oracle),
           inv::ServiceType::cycle, 0.95);
    report(set + " fitted on replayed half", replay(set, series, design, inv::ServiceType::fill_rate, 0.98, oracle),
           inv::ServiceType::fill_rate, 0.98);
    const auto all_twins = model_twins(series, seed_of(set, -1, 0.0));
    const auto& twins = all_twins.same_length;
    report(set + " model twin, same length", replay(set + "-twin", twins, design, inv::ServiceType::cycle, 0.95),
           inv::ServiceType::cycle, 0.95);
    report(set + " model twin, same length", replay(set + "-twin", twins, design, inv::ServiceType::fill_rate, 0.98),
           inv::ServiceType::fill_rate, 0.98);
    const auto& long_twins = all_twins.ten_times;
    const auto csl = replay(set + "-twin10", long_twins, design, inv::ServiceType::cycle, 0.95);
    report(set + " model twin, 10x length", csl, inv::ServiceType::cycle, 0.95);
    const auto fill = replay(set + "-twin10", long_twins, design, inv::ServiceType::fill_rate, 0.98);
    report(set + " model twin, 10x length", fill, inv::ServiceType::fill_rate, 0.98);
    expect_band(set + " model twin, 10x length", csl, fill);
    Variant sketch;
    sketch.first_sketch = true;
    report(set + ", S = s + R-demand", replay(set, series, design, inv::ServiceType::cycle, 0.95, sketch),
           inv::ServiceType::cycle, 0.95);
}

// The departures from the rolling design, reported: the textbook sd (one-step
// rmse, no estimation variance) and a variance that does not follow the level
// for intermittent items. Both blow up the fill-rate stock of the UCI items
// (7.8 and 11.7 million units on hand on average; with alpha 0.2 the s
// overflows): with a variance that stays while the level decays towards 0,
// the moment-fitted negative binomial has variance / mean -> infinity (ever
// rarer, ever larger lumps), and so has its fill-rate s.
void rolling_variants(const std::string& set, const std::vector<std::vector<double>>& series, const Design& design) {
    Adaptive textbook;
    textbook.estimation_variance = false;
    Adaptive constant;
    constant.scale_with_level = false;
    for (const auto& [label, a] : {std::make_pair(std::string(" rolling, rmse sd"), textbook),
                                   std::make_pair(std::string(" rolling, constant variance"), constant)}) {
        for (const auto& [type, target] : {std::make_pair(inv::ServiceType::cycle, 0.95),
                                           std::make_pair(inv::ServiceType::fill_rate, 0.98)}) {
            try {
                report(set + label, replay_adaptive(set, series, design, type, target, a), type, target);
            } catch (const std::overflow_error& e) {
                std::cout << "[inventory simulation] " << set << label << " target " << target * 100.0
                          << "%: overflow: " << e.what() << std::endl;
            }
        }
    }
}

// Rolling re-estimation, as the batch does it (see replay_adaptive): car
// parts meet both targets, 96.64 % at 95 % CSL (model 96.42 %) and 98.14 %
// at 98 % fill rate. The demand model matters: with the negative binomial of
// the same mean and sd (the earlier design, pinned) the cycle service is
// 97.81 %, 0.81 point above the band, while its own prediction is 96.3 %.
// The car-parts series are lumpier than a negative binomial: more months
// without demand and larger sizes when there is demand. The moment-fitted
// negative binomial of the same mean and sd puts too little weight on low
// demand over R + L; the compound binomial with the smoothed demand
// probability p keeps P(D = 0) = (1 - p)^(R + L). In a one-off diagnostic
// (not kept) the compound s was lower in about a quarter of the reviews
// (mostly by one unit: 2 -> 1, 3 -> 2, 4 -> 3), higher in about 7 %.
// Drift is still there (reported and asserted): parts that stopped selling
// keep 99.9 % (a cycle without demand never stocks out, whatever s), parts
// whose sales at least doubled reach only 87 % (92.9 % with the negative
// binomial: a slow part that takes off now starts at s = 0).
// The one-off fit, for comparison (pinned): 91.0 % CSL, 90.0 % fill rate —
// 25 training months of mostly zeros give poor per-part estimates and parts
// drift; the diagnostics below separate the two.
TEST(InventorySimulationRealData, CarPartsRollingReestimation) {
    const auto series = carparts_series();
    ASSERT_EQ(series.size(), 2509u);
    const auto csl = replay_adaptive("carparts", series, kMonthly, inv::ServiceType::cycle, 0.95);
    report("car parts rolling (R,S)", csl, inv::ServiceType::cycle, 0.95);
    const auto fill = replay_adaptive("carparts", series, kMonthly, inv::ServiceType::fill_rate, 0.98);
    report("car parts rolling (R,S)", fill, inv::ServiceType::fill_rate, 0.98);
    expect_band("car parts rolling", csl, fill);
    // The model's own prediction is within a point of what is achieved.
    EXPECT_NEAR(csl.total.cycle_service(), csl.model_cycle_service_sum / csl.items, 0.01);

    // The negative binomial of the same mean and sd (no demand probability)
    // overshoots: it puts too little weight on "no demand in R + L" for parts
    // whose demand probability has fallen (pinned).
    Adaptive nb;
    nb.compound = false;
    const auto nb_csl = replay_adaptive("carparts", series, kMonthly, inv::ServiceType::cycle, 0.95, nb);
    report("car parts rolling, neg. binomial", nb_csl, inv::ServiceType::cycle, 0.95);
    EXPECT_NEAR(nb_csl.total.cycle_service(), 0.9781, 0.005);
    EXPECT_GT(nb_csl.total.cycle_service(), 0.97);
    EXPECT_GT(nb_csl.average_on_hand(), csl.average_on_hand());
    const auto nb_fill = replay_adaptive("carparts", series, kMonthly, inv::ServiceType::fill_rate, 0.98, nb);
    report("car parts rolling, neg. binomial", nb_fill, inv::ServiceType::fill_rate, 0.98);

    // By drift: parts grouped by replayed / first-half mean demand.
    std::vector<std::vector<double>> groups[4];
    for (const auto& y : series) {
        const std::vector<double> first(y.begin(), y.begin() + 25), second(y.begin() + 25, y.end());
        if (mean_of(first) == 0.0) continue;
        const double ratio = mean_of(second) / mean_of(first);
        groups[ratio < 0.5 ? 0 : ratio < 1.0 ? 1 : ratio < 2.0 ? 2 : 3].push_back(y);
    }
    const char* names[4] = {"< 0.5", "0.5-1", "1-2", ">= 2"};
    std::vector<double> group_csl;
    for (int k = 0; k < 4; ++k) {
        const auto g = replay_adaptive("carparts", groups[k], kMonthly, inv::ServiceType::cycle, 0.95);
        report(std::string("car parts rolling, drift ") + names[k], g, inv::ServiceType::cycle, 0.95);
        group_csl.push_back(g.total.cycle_service());
    }
    EXPECT_GT(group_csl[0], 0.99);  // parts that stopped selling
    EXPECT_LT(group_csl[3], 0.90);  // parts that took off

    const auto once = replay("carparts", series, kMonthly, inv::ServiceType::cycle, 0.95);
    report("car parts one-off fit (R,S)", once, inv::ServiceType::cycle, 0.95);
    EXPECT_NEAR(once.total.cycle_service(), 0.9104, 0.005);
    const auto once_fill = replay("carparts", series, kMonthly, inv::ServiceType::fill_rate, 0.98);
    report("car parts one-off fit (R,S)", once_fill, inv::ServiceType::fill_rate, 0.98);
    EXPECT_NEAR(once_fill.total.fill_rate(), 0.8996, 0.005);
    rolling_variants("carparts", series, kMonthly);
    diagnose("car parts", series, kMonthly);
}

// Rolling re-estimation meets both targets on the UCI top 100: 95.75 % at
// 95 % CSL, 96.86 % at 98 % fill rate (negative binomial of the same mean
// and sd, reported: 95.64 % and 97.16 %). Every product is intermittent at the
// daily level (a wholesaler: few, large order lines). The one-off fit missed
// (pinned, 87.5 % / 90.7 %): 151 lumpy days pin a product's mean and sd down
// poorly — data drawn from the model itself, same length, fail alike — while
// long model twins meet the band.
TEST(InventorySimulationRealData, OnlineRetailRollingReestimation) {
    const auto series = online_retail_series(100);
    ASSERT_EQ(series.size(), 100u);
    ASSERT_EQ(series.front().size(), 303u);  // dates with any invoice line
    const auto csl = replay_adaptive("online-retail", series, kDaily, inv::ServiceType::cycle, 0.95);
    report("online retail top 100 rolling (R,S)", csl, inv::ServiceType::cycle, 0.95);
    const auto fill = replay_adaptive("online-retail", series, kDaily, inv::ServiceType::fill_rate, 0.98);
    report("online retail top 100 rolling (R,S)", fill, inv::ServiceType::fill_rate, 0.98);
    expect_band("online retail rolling", csl, fill);
    Adaptive nb;  // the negative binomial of the same mean and sd: the earlier design (reported)
    nb.compound = false;
    report("online retail rolling, neg. binomial",
           replay_adaptive("online-retail", series, kDaily, inv::ServiceType::cycle, 0.95, nb), inv::ServiceType::cycle,
           0.95);
    report("online retail rolling, neg. binomial",
           replay_adaptive("online-retail", series, kDaily, inv::ServiceType::fill_rate, 0.98, nb),
           inv::ServiceType::fill_rate, 0.98);

    const auto once = replay("online-retail", series, kDaily, inv::ServiceType::cycle, 0.95);
    report("online retail one-off fit (R,S)", once, inv::ServiceType::cycle, 0.95);
    EXPECT_NEAR(once.total.cycle_service(), 0.8751, 0.005);
    const auto once_fill = replay("online-retail", series, kDaily, inv::ServiceType::fill_rate, 0.98);
    report("online retail one-off fit (R,S)", once_fill, inv::ServiceType::fill_rate, 0.98);
    EXPECT_NEAR(once_fill.total.fill_rate(), 0.9071, 0.005);
    rolling_variants("online-retail", series, kDaily);
    diagnose("online retail", series, kDaily);
}

// Anomaly accuracy on real daily series with injected anomalies (issue #18).
// Not a Google Benchmark: one run prints the figures of the detectors side by
// side (the whole-history MAD detector of 0.1.0 = the baseline, the local
// detector = the default since #18, optionally forecast-interval scores), so
// every ratio is measured in the same run. Run through
// bench/anomaly_accuracy.sh, which decompresses the M5 file.
//
// Series (all real):
//   UCI Online Retail sample (400 customers, 2010-12-01..2011-12-09): the
//     store's daily revenue (product lines, no cancellations) and the daily
//     units of its 20 top products by revenue.
//   M5 (280 Walmart product x store series, last 730 days): the products, and
//     the 10 store totals (sum of the store's 28 products).
//   Twitter raw_data (minutely, period 1440): a store-like total.
// Injected (test/unit/anomaly_injection.hpp, fixed seeds): store-level drops
// to <= 10% and spikes >= 3x the local level, product points clearly outside
// the trailing 8-week range; 10 per year of series, >= 14 days apart; 10
// copies per store series, 2 per product series.
// Reported per detector: recall (store drops, store spikes, product points),
// precision (flags on injected copies that are injected days), false alarms
// on the clean series per series-quarter (raw flags, and alerts after the
// no-storm rule of alerts.hpp with its defaults), and the largest change of
// an untouched day's score when 20 points are injected.
#include "core/anomaly/anomaly.hpp"
#include "core/anomaly/local_detector.hpp"
#include "core/forecast/forecast.hpp"
#include "../test/unit/anomaly_injection.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace an = salesflow::anomaly;
using namespace salesflow::anomaly::injection;

namespace {

constexpr double kDaysPerQuarter = 91.3125;

struct Named {
    std::string name;
    Series y;
    std::size_t period = 7;
};

// ---------------------------------------------------------------- loading
std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (char ch : line) {
        if (ch == '"') quoted = !quoted;
        else if (ch == ',' && !quoted) {
            out.push_back(cur);
            cur.clear();
        } else if (ch != '\r') cur += ch;
    }
    out.push_back(cur);
    return out;
}

long days_from_civil(int y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<long>(doe) - 719468;
}

bool is_non_product(const std::string& code) {
    static const std::set<std::string> codes = {"POST", "M", "D", "C2", "DOT", "BANK CHARGES", "AMAZONFEE", "CRUK",
                                                "PADS", "B", "S", "m"};
    return codes.count(code) > 0;
}

// The store's revenue and its 20 top products' units per day.
std::vector<Named> load_uci(const std::string& path, Named& store) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string line;
    std::getline(in, line);
    struct Line {
        long day;
        std::string code;
        double qty, revenue;
    };
    std::vector<Line> lines;
    long first = 1L << 40, last = -(1L << 40);
    while (std::getline(in, line)) {
        const auto f = split_csv(line);
        if (f.size() < 8 || f[0].empty() || f[0][0] == 'C' || is_non_product(f[1])) continue;
        const double qty = std::atof(f[3].c_str()), price = std::atof(f[5].c_str());
        if (!(qty > 0) || !(price > 0)) continue;
        const long day = days_from_civil(std::atoi(f[4].substr(0, 4).c_str()),
                                         static_cast<unsigned>(std::atoi(f[4].substr(5, 2).c_str())),
                                         static_cast<unsigned>(std::atoi(f[4].substr(8, 2).c_str())));
        first = std::min(first, day);
        last = std::max(last, day);
        lines.push_back({day, f[1], qty, qty * price});
    }
    const std::size_t n = static_cast<std::size_t>(last - first + 1);
    store = {"uci store revenue", Series(n, 0.0), 7};
    std::map<std::string, double> by_product;
    for (const auto& l : lines) {
        store.y[static_cast<std::size_t>(l.day - first)] += l.revenue;
        by_product[l.code] += l.revenue;
    }
    std::vector<std::pair<double, std::string>> rank;
    for (const auto& [code, rev] : by_product) rank.push_back({-rev, code});
    std::sort(rank.begin(), rank.end());
    std::vector<Named> products;
    std::map<std::string, std::size_t> slot;
    for (std::size_t i = 0; i < 20 && i < rank.size(); ++i) {
        slot[rank[i].second] = i;
        products.push_back({"uci " + rank[i].second, Series(n, 0.0), 7});
    }
    for (const auto& l : lines) {
        const auto it = slot.find(l.code);
        if (it != slot.end()) products[it->second].y[static_cast<std::size_t>(l.day - first)] += l.qty;
    }
    return products;
}

// The 280 product x store series (last `days` days) and the 10 store totals.
std::vector<Named> load_m5(const std::string& path, std::size_t days, std::vector<Named>& stores) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string line;
    std::getline(in, line);
    std::vector<Named> products;
    std::map<std::string, std::size_t> store_slot;
    while (std::getline(in, line)) {
        const auto f = split_csv(line);
        if (f.size() < 6 + days) continue;
        Named p{"m5 " + f[1] + " " + f[4], Series(days), 7};
        for (std::size_t d = 0; d < days; ++d) p.y[d] = std::atof(f[f.size() - days + d].c_str());
        auto it = store_slot.find(f[4]);
        if (it == store_slot.end()) {
            it = store_slot.emplace(f[4], stores.size()).first;
            stores.push_back({"m5 store " + f[4], Series(days, 0.0), 7});
        }
        for (std::size_t d = 0; d < days; ++d) stores[it->second].y[d] += p.y[d];
        products.push_back(std::move(p));
    }
    return products;
}

Named load_twitter(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string line;
    std::getline(in, line);
    Named t{"twitter", {}, 1440};
    while (std::getline(in, line)) {
        const auto f = split_csv(line);
        if (f.size() >= 2) t.y.push_back(std::atof(f[1].c_str()));
    }
    return t;
}

// ---------------------------------------------------------------- detectors
struct Detector {
    std::string name;
    std::function<std::vector<an::Anomaly>(const Series&, std::size_t period)> detect;
    std::function<std::vector<double>(const Series&, std::size_t period)> scores;  // empty: no stability figure
};

// Forecast-interval scores: forecasts made every 28 days (28 days ahead) by
// the forecast module's "auto" method from the history so far; score = (y -
// point) / (95% half-width / 1.96), flagged beyond `z` (2.576 = the 99% interval).
std::vector<an::Anomaly> detect_forecast(const Series& y, std::size_t period, double z) {
    std::vector<an::Anomaly> out;
    constexpr std::size_t kHorizon = 28, kFirst = 56;
    for (std::size_t origin = kFirst; origin < y.size(); origin += kHorizon) {
        const std::size_t h = std::min(kHorizon, y.size() - origin);
        const salesflow::span<double> hist(y.data(), origin);
        const auto f = salesflow::forecast::forecast(hist, static_cast<int>(h), static_cast<int>(period), "auto");
        for (std::size_t k = 0; k < h; ++k) {
            const auto& iv = f.intervals[k];
            const double sd = std::max((iv.hi95 - iv.lo95) / (2 * 1.959964), 1e-9);
            const double score = (y[origin + k] - f.point[k]) / sd;
            if (std::fabs(score) > z) out.push_back({origin + k, y[origin + k], f.point[k], score});
        }
    }
    return out;
}

// The local detector's defaults, or the values of SF_ANOMALY_<OPTION>
// environment variables (for calibration runs).
an::LocalOptions local_options() {
    an::LocalOptions o;
    const auto env = [](const char* name, double& v) {
        if (const char* s = std::getenv(name)) v = std::atof(s);
    };
    env("SF_ANOMALY_ALARMS_PER_QUARTER", o.alarms_per_quarter);
    env("SF_ANOMALY_MIN_THRESHOLD", o.min_threshold);
    env("SF_ANOMALY_MAX_THRESHOLD", o.max_threshold);
    env("SF_ANOMALY_INTERMITTENT_SHARE", o.intermittent_share);
    env("SF_ANOMALY_POWER", o.power);
    return o;
}

// ---------------------------------------------------------------- tallies
struct Tally {
    long drops = 0, drops_found = 0, spikes = 0, spikes_found = 0, flags = 0, true_flags = 0;
    double recall() const { return drops + spikes ? double(drops_found + spikes_found) / double(drops + spikes) : 0; }
    double precision() const { return flags ? double(true_flags) / double(flags) : 1.0; }
};

void score_injected(const Injected& inj, const std::vector<an::Anomaly>& found, Tally& t) {
    for (const auto& [day, sign] : inj.sign) (sign < 0 ? t.drops : t.spikes)++;
    for (const auto& a : found) {
        ++t.flags;
        const auto it = inj.sign.find(a.index);
        if (it != inj.sign.end() && (it->second > 0) == (a.score > 0)) {
            ++t.true_flags;
            (it->second < 0 ? t.drops_found : t.spikes_found)++;
        }
    }
}

struct Clean {
    long flags = 0, alerts = 0;
    double quarters = 0;
    long series = 0, series_over_budget = 0;  // series with > 1 alert per quarter
};

void score_clean(const Series& y, const std::vector<an::Anomaly>& found, Clean& c) {
    std::vector<an::Alert> cand;
    for (const auto& a : found) cand.push_back({0, static_cast<std::int64_t>(a.index), a.score});
    const auto kept = an::suppress_storms(cand, {});
    const double q = static_cast<double>(y.size()) / kDaysPerQuarter;
    c.flags += static_cast<long>(found.size());
    c.alerts += static_cast<long>(kept.size());
    c.quarters += q;
    ++c.series;
    if (static_cast<double>(kept.size()) > q) ++c.series_over_budget;
}

struct Stability {
    double max_change = 0, sum_max = 0;
    long series = 0, series_over = 0;  // series whose largest change > 0.5
};

// Scores of untouched days, clean vs 20 injected points; days whose clean or
// injected |score| exceeds 6 (far beyond any threshold) are not counted.
void score_stability(const Series& clean, const Injected& inj, const Detector& d, std::size_t period, Stability& st) {
    const auto a = d.scores(clean, period), b = d.scores(inj.y, period);
    double worst = 0;
    for (std::size_t t = 0; t < a.size(); ++t) {
        if (inj.sign.count(t) || std::fabs(a[t]) > 6 || std::fabs(b[t]) > 6) continue;
        worst = std::max(worst, std::fabs(a[t] - b[t]));
    }
    st.max_change = std::max(st.max_change, worst);
    st.sum_max += worst;
    ++st.series;
    if (worst > 0.5) ++st.series_over;
}

struct Group {
    std::string label;
    std::vector<Named> series;
    bool store_level;
    std::size_t copies;
};

}  // namespace

int main(int argc, char** argv) {
    std::string uci, m5, twitter;
    bool with_forecast = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--uci") && i + 1 < argc) uci = argv[++i];
        else if (!std::strcmp(argv[i], "--m5") && i + 1 < argc) m5 = argv[++i];
        else if (!std::strcmp(argv[i], "--twitter") && i + 1 < argc) twitter = argv[++i];
        else if (!std::strcmp(argv[i], "--forecast")) with_forecast = true;
    }
    std::vector<Group> groups;
    if (!uci.empty()) {
        Named store;
        auto products = load_uci(uci, store);
        groups.push_back({"UCI store", {store}, true, 10});
        groups.push_back({"UCI products", products, false, 2});
    }
    if (!m5.empty()) {
        std::vector<Named> stores;
        auto products = load_m5(m5, 730, stores);
        groups.push_back({"M5 stores", stores, true, 10});
        groups.push_back({"M5 products", products, false, 2});
    }
    if (!twitter.empty()) groups.push_back({"Twitter", {load_twitter(twitter)}, true, 5});

    std::vector<Detector> detectors;
    detectors.push_back({"MAD (0.1.0, z>4)",
                         [](const Series& y, std::size_t p) {
                             an::MadOptions o;
                             o.decomposition.period = p;
                             return an::detect_mad(y, o);
                         },
                         [](const Series& y, std::size_t p) {
                             an::MadOptions o;
                             o.decomposition.period = p;
                             return an::mad_scores(y, o).score;
                         }});
    detectors.push_back({"local + budget",
                         [](const Series& y, std::size_t p) {
                             an::LocalOptions o = local_options();
                             o.period = p;
                             return an::detect_local(y, o);
                         },
                         [](const Series& y, std::size_t p) {
                             an::LocalOptions o = local_options();
                             o.period = p;
                             return an::local_scores(y, o).score;
                         }});
    const auto stable_mad = [](const Series& y, std::size_t p) { return an::mad_scores(y, an::stable_mad_options(p)); };
    detectors.push_back({"MAD + budget (#18)",
                         [stable_mad](const Series& y, std::size_t p) {
                             an::LocalOptions o = local_options();
                             o.period = p;
                             const auto s = stable_mad(y, p);
                             return an::flag_by_budget(y, s.score, s.expected, o);
                         },
                         [stable_mad](const Series& y, std::size_t p) { return stable_mad(y, p).score; }});
    if (with_forecast)
        for (double z : {2.576, 3.5})
            detectors.push_back({"forecast auto, |z|>" + std::to_string(z).substr(0, 5),
                                 [z](const Series& y, std::size_t p) {
                                     return p == 7 ? detect_forecast(y, p, z) : std::vector<an::Anomaly>{};
                                 },
                                 {}});

    std::printf("%-13s %-22s %8s %8s %8s %9s %10s %10s %9s %9s\n", "series", "detector", "drops", "spikes", "recall",
                "precision", "FA raw/q", "alerts/q", "maxdscore", "secs");
    for (const auto& g : groups) {
        for (const auto& d : detectors) {
            if (g.label == "Twitter" && !d.scores) continue;
            const auto t0 = std::chrono::steady_clock::now();
            Tally tally;
            Clean clean;
            Stability st;
            unsigned seed = 1;
            for (const auto& s : g.series) {
                score_clean(s.y, d.detect(s.y, s.period), clean);
                for (std::size_t k = 0; k < g.copies; ++k, ++seed) {
                    // 10 anomalies per year of series (the density)
                    const std::size_t count = std::max<std::size_t>(1, 10 * s.y.size() / (365 * s.period / 7));
                    const Injected inj = g.store_level ? inject_store(s.y, s.period, count, 14 * s.period / 7, seed)
                                                       : inject_product(s.y, count, 14, seed);
                    score_injected(inj, d.detect(inj.y, s.period), tally);
                }
                if (d.scores) {
                    const Injected twenty = g.store_level ? inject_store(s.y, s.period, 20, 7 * s.period / 7, 9999 + seed)
                                                          : inject_product(s.y, 20, 7, 9999 + seed);
                    score_stability(s.y, twenty, d, s.period, st);
                }
            }
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            char drops[32], spikes[32], stab[32];
            std::snprintf(drops, sizeof drops, "%.3f", tally.drops ? double(tally.drops_found) / tally.drops : 0.0);
            std::snprintf(spikes, sizeof spikes, "%.3f", tally.spikes ? double(tally.spikes_found) / tally.spikes : 0.0);
            if (d.scores) std::snprintf(stab, sizeof stab, "%.2f", st.max_change);
            else std::snprintf(stab, sizeof stab, "-");
            std::printf("%-13s %-22s %8s %8s %8.3f %9.3f %10.3f %10.3f %9s %9.1f\n", g.label.c_str(), d.name.c_str(),
                        drops, spikes, tally.recall(), tally.precision(), clean.flags / clean.quarters,
                        clean.alerts / clean.quarters, stab, secs);
            std::printf("%-13s %-22s   (%ld drops, %ld spikes injected; %ld of %ld clean series over 1 alert/quarter; "
                        "%ld of %ld series with a score change > 0.5, mean largest change %.2f)\n",
                        "", "", tally.drops, tally.spikes, clean.series_over_budget, clean.series, st.series_over,
                        st.series, st.series ? st.sum_max / st.series : 0.0);
            std::fflush(stdout);
        }
    }
    return 0;
}

// The no-storm rule (one alert per entity per day, per-direction cool-down with
// escalation; see alerts.hpp for the rule and its sources).
#include "core/anomaly/alerts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

namespace salesflow::anomaly {
namespace {

bool spike(double score) { return !(score < 0.0); }

}  // namespace

std::vector<Alert> suppress_storms(span<Alert> candidates, span<Alert> history, const StormOptions& o) {
    if (o.cooldown_days < 0) throw std::invalid_argument("cooldown_days must be >= 0");
    if (std::isnan(o.escalation) || o.escalation < 1.0) throw std::invalid_argument("escalation must be >= 1");
    for (const Alert& c : candidates)
        if (!std::isfinite(c.score)) throw std::invalid_argument("candidate scores must be finite");

    // Rule 1: best candidate per (entity, day); stable so the first wins ties.
    std::vector<Alert> cand(candidates.begin(), candidates.end());
    std::stable_sort(cand.begin(), cand.end(), [](const Alert& a, const Alert& b) {
        if (a.entity != b.entity) return a.entity < b.entity;
        if (a.day != b.day) return a.day < b.day;
        return std::fabs(a.score) > std::fabs(b.score);
    });
    cand.erase(std::unique(cand.begin(), cand.end(),
                           [](const Alert& a, const Alert& b) { return a.entity == b.entity && a.day == b.day; }),
               cand.end());

    // History per (entity, direction), by day; and the days already alerted.
    using Key = std::pair<std::int64_t, bool>;
    std::map<Key, std::vector<std::pair<std::int64_t, double>>> past;
    std::map<std::int64_t, std::vector<std::int64_t>> alerted_days;
    for (const Alert& h : history) {
        past[{h.entity, spike(h.score)}].push_back({h.day, h.score});
        alerted_days[h.entity].push_back(h.day);
    }
    for (auto& [key, v] : past) std::sort(v.begin(), v.end());
    for (auto& [key, v] : alerted_days) std::sort(v.begin(), v.end());

    std::vector<Alert> kept;
    std::map<Key, std::pair<std::int64_t, double>> last_kept;  // this call's latest alert
    for (const Alert& c : cand) {
        if (auto it = alerted_days.find(c.entity); it != alerted_days.end() &&
                                                   std::binary_search(it->second.begin(), it->second.end(), c.day))
            continue;  // already alerted that day

        const Key key{c.entity, spike(c.score)};
        bool have_last = false;
        std::pair<std::int64_t, double> last{0, 0.0};
        if (auto it = past.find(key); it != past.end()) {
            auto pos = std::lower_bound(it->second.begin(), it->second.end(),
                                        std::make_pair(c.day, -std::numeric_limits<double>::infinity()));
            if (pos != it->second.begin()) {
                last = *std::prev(pos);
                have_last = true;
            }
        }
        if (auto it = last_kept.find(key); it != last_kept.end() && (!have_last || it->second.first > last.first)) {
            last = it->second;
            have_last = true;
        }
        if (have_last && c.day - last.first <= o.cooldown_days &&
            std::fabs(c.score) < o.escalation * std::fabs(last.second))
            continue;  // within the cool-down and not clearly worse

        kept.push_back(c);
        last_kept[key] = {c.day, c.score};
    }
    return kept;
}

}  // namespace salesflow::anomaly

// Bounded-memory pair association rules; see associations.hpp.
#include "core/orders/associations.hpp"

#include "core/common/cancel.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace salesflow::orders {
namespace {

// Next threshold: the count of the item at rank F / sqrt(2) in the kept set,
// so ~F/sqrt(2) items stay (ties may keep more); always strictly higher.
std::uint32_t raise_threshold(std::vector<std::uint32_t> kept_counts, std::uint32_t current) {
    std::sort(kept_counts.begin(), kept_counts.end(), std::greater<>());
    const std::size_t keep = static_cast<std::size_t>(kept_counts.size() / std::sqrt(2.0));
    std::uint32_t next = keep < kept_counts.size() ? kept_counts[keep] + 1 : current + 1;
    return std::max(next, current + 1);
}

}  // namespace

AssociationResult mine_associations(const std::vector<std::vector<std::int64_t>>& baskets,
                                    const RuleOptions& o) {
    if (o.max_pairs == 0) throw std::invalid_argument("max_pairs must be > 0");
    if (!(o.min_confidence >= 0.0) || !(o.min_lift >= 0.0))
        throw std::invalid_argument("min_confidence and min_lift must be >= 0");

    // Pass 1: baskets per item.
    std::unordered_map<std::int64_t, std::uint32_t> item_count;
    std::vector<std::int64_t> items;
    for (std::size_t b = 0; b < baskets.size(); ++b) {
        if ((b & 0x3FFF) == 0) check_cancel();
        items.assign(baskets[b].begin(), baskets[b].end());
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
        for (auto id : items) ++item_count[id];
    }
    const double n_baskets = static_cast<double>(baskets.size());

    AssociationResult res{{}, std::max<std::uint32_t>(o.min_support_count, 1), baskets.size(), 0, 0, 0};
    std::vector<std::int64_t> kept_ids;  // dense index -> id (sorted)
    std::unordered_map<std::int64_t, std::uint32_t> dense;
    std::unordered_map<std::uint64_t, std::uint32_t> pairs;
    std::vector<std::uint32_t> idx;
    for (;;) {
        kept_ids.clear();
        for (const auto& [id, c] : item_count)
            if (c >= res.item_threshold) kept_ids.push_back(id);
        std::sort(kept_ids.begin(), kept_ids.end());
        dense.clear();
        for (std::size_t i = 0; i < kept_ids.size(); ++i) dense.emplace(kept_ids[i], std::uint32_t(i));
        const std::uint64_t F = kept_ids.size();

        // Pass 2: pairs among kept items, key = i * F + j with i < j.
        pairs.clear();
        bool overflow = false;
        for (std::size_t b = 0; b < baskets.size() && !overflow; ++b) {
            if ((b & 0x3FFF) == 0) check_cancel();
            idx.clear();
            for (auto id : baskets[b]) {
                const auto it = dense.find(id);
                if (it != dense.end()) idx.push_back(it->second);
            }
            std::sort(idx.begin(), idx.end());
            idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
            for (std::size_t i = 0; i < idx.size() && !overflow; ++i)
                for (std::size_t j = i + 1; j < idx.size(); ++j) {
                    ++pairs[idx[i] * F + idx[j]];
                    if (pairs.size() > o.max_pairs) { overflow = true; break; }
                }
        }
        if (!overflow) break;
        std::vector<std::uint32_t> counts;
        counts.reserve(kept_ids.size());
        for (auto id : kept_ids) counts.push_back(item_count[id]);
        res.item_threshold = raise_threshold(std::move(counts), res.item_threshold);
        ++res.recounts;
        std::unordered_map<std::uint64_t, std::uint32_t>().swap(pairs);  // give the memory back
    }
    res.frequent_items = kept_ids.size();
    res.pairs_counted = pairs.size();

    const std::uint64_t F = kept_ids.size();
    auto emit = [&](std::int64_t a, std::int64_t b, std::uint32_t nab) {
        const double na = item_count[a], nb = item_count[b];
        const double conf = nab / na, lift = n_baskets * nab / (na * nb);
        if (conf >= o.min_confidence && lift >= o.min_lift)
            res.rules.push_back({a, b, nab / n_baskets, conf, lift, nab});
    };
    for (const auto& [key, nab] : pairs) {
        if (nab < o.min_pair_count) continue;
        const std::int64_t a = kept_ids[key / F], b = kept_ids[key % F];
        emit(a, b, nab);
        emit(b, a, nab);
    }
    std::sort(res.rules.begin(), res.rules.end(), [](const Rule& x, const Rule& y) {
        if (x.lift != y.lift) return x.lift > y.lift;
        if (x.confidence != y.confidence) return x.confidence > y.confidence;
        if (x.antecedent != y.antecedent) return x.antecedent < y.antecedent;
        return x.consequent < y.consequent;
    });
    return res;
}

std::vector<Rule> association_rules(const std::vector<std::vector<std::int64_t>>& baskets,
                                    const RuleOptions& options) {
    return mine_associations(baskets, options).rules;
}

std::vector<Recommendation> recommend(span<std::int64_t> owned, const std::vector<Rule>& rules, int top_n) {
    if (top_n < 0) throw std::invalid_argument("top_n must be >= 0");
    const std::unordered_set<std::int64_t> have(owned.begin(), owned.end());
    std::unordered_map<std::int64_t, Recommendation> best;
    for (const Rule& r : rules) {
        if (!have.count(r.antecedent) || have.count(r.consequent)) continue;
        const double score = r.lift * r.confidence;
        auto it = best.find(r.consequent);
        if (it == best.end()) best.emplace(r.consequent, Recommendation{r.consequent, score, r});
        else if (score > it->second.score ||
                 (score == it->second.score && r.antecedent < it->second.because.antecedent))
            it->second = Recommendation{r.consequent, score, r};
    }
    std::vector<Recommendation> out;
    out.reserve(best.size());
    for (auto& [id, rec] : best) out.push_back(rec);
    std::sort(out.begin(), out.end(), [](const Recommendation& a, const Recommendation& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.product_id < b.product_id;
    });
    if (top_n > 0 && out.size() > std::size_t(top_n)) out.resize(top_n);
    return out;
}

}  // namespace salesflow::orders

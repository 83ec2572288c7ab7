// RFM quintile scores, the R × FM segment table, Pareto value tiers and churn
// risk labels. See rfm.hpp for the rules.
#include "core/segments/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>

namespace salesflow::segments {
namespace {

void check_finite(span<double> values, const char* what, bool non_negative) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]))
            throw std::invalid_argument(std::string(what) + " must be finite (row " + std::to_string(i + 1) + ")");
        if (non_negative && values[i] < 0.0)
            throw std::invalid_argument(std::string(what) + " must be >= 0 (row " + std::to_string(i + 1) + ")");
    }
}

// Mid-rank percentile scores; `better(a, b)` is true when a ranks above b.
template <typename Better>
std::vector<int> scores_by(span<double> values, Better better) {
    const std::size_t n = values.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Worst first; ties are contiguous after sorting, which is all we need.
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return better(values[j], values[i]); });
    std::vector<int> scores(n);
    std::size_t start = 0;
    while (start < n) {
        std::size_t end = start + 1;
        while (end < n && !better(values[order[end]], values[order[start]])) ++end;
        const std::int64_t below = static_cast<std::int64_t>(start);
        const std::int64_t equal = static_cast<std::int64_t>(end - start);
        // 1 + floor(5 (below + equal/2) / n), in integers to stay exact.
        const int score = 1 + static_cast<int>((10 * below + 5 * equal) / (2 * static_cast<std::int64_t>(n)));
        for (std::size_t k = start; k < end; ++k) scores[order[k]] = score;
        start = end;
    }
    return scores;
}

// The segment grid, [R − 1][FM − 1]; rfm.hpp shows it with R = 5 on top.
using S = RfmSegment;
constexpr RfmSegment kSegmentGrid[5][5] = {
    /* R=1 */ {S::lost, S::lost, S::at_risk, S::at_risk, S::cant_lose_them},
    /* R=2 */ {S::hibernating, S::hibernating, S::at_risk, S::at_risk, S::cant_lose_them},
    /* R=3 */ {S::about_to_sleep, S::about_to_sleep, S::need_attention, S::loyal_customers, S::loyal_customers},
    /* R=4 */ {S::promising, S::potential_loyalists, S::loyal_customers, S::champions, S::champions},
    /* R=5 */ {S::new_customers, S::potential_loyalists, S::loyal_customers, S::champions, S::champions},
};

void check_score(int s, const char* what) {
    if (s < 1 || s > 5) throw std::invalid_argument(std::string(what) + " score must be 1..5, got " + std::to_string(s));
}

}  // namespace

std::vector<int> quintile_scores(span<double> values) {
    check_finite(values, "values", false);
    return scores_by(values, [](double a, double b) { return a > b; });
}

std::vector<RfmScore> rfm_scores(span<double> recency, span<double> frequency, span<double> monetary) {
    if (recency.size() != frequency.size() || recency.size() != monetary.size())
        throw std::invalid_argument("rfm inputs recency, frequency and monetary must have the same length");
    check_finite(recency, "recency", true);
    check_finite(frequency, "frequency", true);
    check_finite(monetary, "monetary", false);
    const std::vector<int> r = scores_by(recency, [](double a, double b) { return a < b; });  // more recent is better
    const std::vector<int> f = scores_by(frequency, [](double a, double b) { return a > b; });
    const std::vector<int> m = scores_by(monetary, [](double a, double b) { return a > b; });
    std::vector<RfmScore> out(recency.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = RfmScore{r[i], f[i], m[i]};
    return out;
}

const char* rfm_segment_name(RfmSegment segment) {
    switch (segment) {
        case RfmSegment::champions: return "Champions";
        case RfmSegment::loyal_customers: return "Loyal Customers";
        case RfmSegment::potential_loyalists: return "Potential Loyalists";
        case RfmSegment::new_customers: return "New Customers";
        case RfmSegment::promising: return "Promising";
        case RfmSegment::need_attention: return "Need Attention";
        case RfmSegment::about_to_sleep: return "About to Sleep";
        case RfmSegment::at_risk: return "At Risk";
        case RfmSegment::cant_lose_them: return "Can't Lose Them";
        case RfmSegment::hibernating: return "Hibernating";
        case RfmSegment::lost: return "Lost";
    }
    throw std::invalid_argument("unknown rfm segment");
}

int rfm_fm_score(int frequency, int monetary) {
    check_score(frequency, "frequency");
    check_score(monetary, "monetary");
    return (frequency + monetary + 1) / 2;
}

RfmSegment rfm_segment(int recency, int frequency, int monetary) {
    check_score(recency, "recency");
    return kSegmentGrid[recency - 1][rfm_fm_score(frequency, monetary) - 1];
}

RfmSegment rfm_segment(const RfmScore& score) { return rfm_segment(score.recency, score.frequency, score.monetary); }

const char* value_tier_name(ValueTier tier) {
    switch (tier) {
        case ValueTier::high: return "high";
        case ValueTier::medium: return "medium";
        case ValueTier::low: return "low";
    }
    throw std::invalid_argument("unknown value tier");
}

std::vector<ValueTier> value_tiers(span<double> monetary, double high_share, double medium_share) {
    if (!(high_share > 0.0 && high_share <= medium_share && medium_share <= 1.0))
        throw std::invalid_argument("value tiers need 0 < high_share <= medium_share <= 1");
    check_finite(monetary, "monetary", false);
    const std::size_t n = monetary.size();
    std::vector<ValueTier> tiers(n, ValueTier::low);
    double total = 0.0;
    for (double m : monetary) total += std::max(m, 0.0);
    if (total <= 0.0) return tiers;

    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return monetary[i] > monetary[j]; });
    double before = 0.0;  // revenue of all customers ahead of the current tie group
    std::size_t start = 0;
    while (start < n && monetary[order[start]] > 0.0) {
        const double v = monetary[order[start]];
        std::size_t end = start;
        while (end < n && monetary[order[end]] == v) ++end;
        const double share = before / total;
        const ValueTier tier = share < high_share ? ValueTier::high : share < medium_share ? ValueTier::medium : ValueTier::low;
        for (std::size_t k = start; k < end; ++k) tiers[order[k]] = tier;
        before += v * static_cast<double>(end - start);
        start = end;
    }
    return tiers;
}

const char* churn_risk_name(ChurnRisk risk) {
    switch (risk) {
        case ChurnRisk::low: return "low";
        case ChurnRisk::medium: return "medium";
        case ChurnRisk::high: return "high";
    }
    throw std::invalid_argument("unknown churn risk");
}

ChurnRisk churn_risk(double p_alive, double high_below, double low_from) {
    if (!(high_below >= 0.0 && high_below <= low_from && low_from <= 1.0))
        throw std::invalid_argument("churn thresholds need 0 <= high_below <= low_from <= 1");
    if (!(p_alive >= 0.0 && p_alive <= 1.0)) throw std::invalid_argument("p_alive must be a probability in [0, 1]");
    if (p_alive < high_below) return ChurnRisk::high;
    if (p_alive >= low_from) return ChurnRisk::low;
    return ChurnRisk::medium;
}

}  // namespace salesflow::segments

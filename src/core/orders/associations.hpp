// Pairwise association rules over baskets (Agrawal, Imieliński & Swami 1993,
// "Mining association rules between sets of items in large databases";
// lift as in Brin, Motwani, Ullman & Tsur 1997), restricted to pairs A -> B,
// computed with bounded memory in the Apriori manner (Agrawal & Srikant
// 1994): a pair can only be frequent if both items are.
//
// Pass 1 counts baskets per item (duplicates within a basket count once).
// Items with count >= min_support_count are kept. Pass 2 counts pairs of kept
// items in a hash map. If the map would exceed max_pairs entries the pass is
// abandoned, the item threshold is raised so that the number of kept items
// falls by a factor sqrt(2) (pairs grow with its square; at least +1 so it
// always terminates) and pass 2 restarts. Counts of the pairs that survive
// are exact; what the bound costs is the pairs of the rarer items, and
// AssociationResult::item_threshold says where the cut ended up. Memory is
// O(distinct items + max_pairs), whatever the number of baskets.
//
// Measures, with N baskets, n(X) baskets containing X:
//   support(A,B) = n(AB) / N;  confidence(A->B) = n(AB) / n(A);
//   lift(A->B) = confidence(A->B) / (n(B) / N) = N n(AB) / (n(A) n(B)).
// Both directions are emitted when they pass min_confidence and min_lift.
#pragma once

#include "core/common/span.hpp"

#include <cstdint>
#include <vector>

namespace salesflow::orders {

struct RuleOptions {
    std::uint32_t min_support_count = 2;  // baskets an item needs to be considered
    std::uint32_t min_pair_count = 2;     // baskets a pair needs to give rules
    double min_confidence = 0.1;
    double min_lift = 1.0;
    std::size_t max_pairs = 4'000'000;    // pair-map entries (~100 MB worst case)
};

struct Rule {
    std::int64_t antecedent, consequent;
    double support, confidence, lift;
    std::uint32_t pair_count;
};

struct AssociationResult {
    std::vector<Rule> rules;               // by lift desc, confidence desc, ids
    std::uint32_t item_threshold;          // effective item threshold (>= min_support_count)
    std::size_t baskets, frequent_items, pairs_counted;
    int recounts;                          // times pass 2 restarted
};

// Throws std::invalid_argument: max_pairs == 0; min_confidence or min_lift
// NaN or negative.
AssociationResult mine_associations(const std::vector<std::vector<std::int64_t>>& baskets,
                                    const RuleOptions& options = {});
std::vector<Rule> association_rules(const std::vector<std::vector<std::int64_t>>& baskets,
                                    const RuleOptions& options = {});

struct Recommendation {
    std::int64_t product_id;
    double score;  // lift × confidence of the justifying rule
    Rule because;  // because.antecedent is in the customer's set
};

// Products not in `owned`, ranked by the best lift × confidence over rules
// whose antecedent the customer owns (ties by id); top_n of them (0: all).
std::vector<Recommendation> recommend(span<std::int64_t> owned, const std::vector<Rule>& rules, int top_n);

}  // namespace salesflow::orders

// The no-storm rule: which detected anomalies become alerts.
//
// A detector re-run every night over overlapping history, on tenant revenue,
// order count and every product, would otherwise report the same incident
// again and again: a week-long promotion gives seven "spikes", a broken feed
// a drop every day until it is fixed. Alert-fatigue practice in monitoring
// (Google SRE book, ch. 6 "Monitoring Distributed Systems": alert on
// symptoms, not on every sample; Prometheus Alertmanager's group_wait /
// repeat_interval) is to de-duplicate and rate-limit per entity. The rule:
//
//  1. One alert per entity per day: of the candidates for the same (entity,
//     day), only the largest |score| survives (first in input order on a tie),
//     and none if that (entity, day) was already alerted (history).
//  2. Cool-down per entity and direction: a candidate within cooldown_days
//     after the entity's last alert in the same direction (spike after spike,
//     drop after drop; day - last_day <= cooldown_days) is suppressed unless
//     |score| >= escalation * |last score| — "clearly higher": the incident got
//     worse. An escalated alert becomes the new reference, so each further
//     alert in the same run needs another factor of `escalation`.
//     The last alert is the most recent one before the candidate's day, from
//     the history or kept earlier in this call. A spike never silences a drop.
#pragma once

#include "core/common/span.hpp"

#include <cstdint>
#include <vector>

namespace salesflow::anomaly {

struct Alert {
    std::int64_t entity;  // caller's id of the series (product id, or a code for tenant revenue / orders)
    std::int64_t day;     // day number (e.g. days since an epoch); only differences matter
    double score;         // signed: > 0 spike, < 0 drop (0 counts as a spike)
};

struct StormOptions {
    std::int64_t cooldown_days = 7;  // >= 0; 0 = only the one-per-day rule
    double escalation = 1.5;         // >= 1; +infinity = never re-alert within the cool-down
};

// The candidates that become alerts, sorted by (entity, day). Throws
// std::invalid_argument on a non-finite candidate score or invalid options.
std::vector<Alert> suppress_storms(span<Alert> candidates, span<Alert> history, const StormOptions& options = {});

}  // namespace salesflow::anomaly

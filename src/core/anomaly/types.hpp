// Value types shared by the anomaly detectors (MAD robust z-score and
// seasonal hybrid ESD) and the alert (no-storm) rule.
#pragma once

#include <cstddef>

namespace salesflow::anomaly {

// Which departures to report: both (default), spikes only (above the expected
// value) or drops only (below it).
enum class Direction { both, spike, drop };

// Whether a departure with this signed score is one the caller asked for.
inline bool reports(Direction d, double score) {
    switch (d) {
        case Direction::both: return true;
        case Direction::spike: return score > 0.0;
        case Direction::drop: return score < 0.0;
    }
    return true;
}

// One flagged observation of a series.
struct Anomaly {
    std::size_t index;  // position in the input series
    double value;       // observed value
    double expected;    // the model's normal value (trend + seasonal)
    double score;       // signed: > 0 spike, < 0 drop. MAD detector: robust z;
                        // S-H-ESD: the test statistic R_i (deviations in MADs)
    bool is_spike() const { return score > 0.0; }
};

}  // namespace salesflow::anomaly

// Proleptic Gregorian dates from day numbers, after H. Hinnant,
// "chrono-Compatible Low-Level Date Algorithms" (civil_from_days).
#pragma once

#include <cstdint>

namespace salesflow {

struct Civil {
    std::int64_t year;
    int month, day;  // 1-12, 1-31
};

// The date of day z counted from 1970-01-01 (day 0).
inline Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {yoe + era * 400 + (m <= 2), m, d};
}

}  // namespace salesflow

// Cron expressions for recurring reports: the five fields of Vixie cron and
// pg_cron (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC,
// day of week 0-7 or SUN-SAT, 0 and 7 both Sunday), each a comma list of `*`,
// `n`, `a-b`, with an optional `/step`. As in Vixie cron, when both the day of
// month and the day of week are restricted a day matching either fires.
//
// Times are naive local minutes counted from 2000-01-01 00:00 (the caller
// converts from and to the tenant's time zone).
#pragma once

#include <bitset>
#include <cstdint>
#include <string_view>

namespace salesflow::dashboards {

struct CronSchedule {
    std::bitset<60> minute;
    std::bitset<24> hour;
    std::bitset<32> day;    // 1-31
    std::bitset<13> month;  // 1-12
    std::bitset<7> weekday; // 0-6, Sunday 0
    bool day_restricted = false, weekday_restricted = false;
};

// Throws std::invalid_argument with a message naming the bad field.
CronSchedule parse_cron(std::string_view expression);

// The first minute strictly after `after` that the schedule fires (minutes
// since 2000-01-01 00:00, naive local time); throws std::invalid_argument
// when it never fires (e.g. "0 0 31 2 *").
std::int64_t next_cron_minute(const CronSchedule& schedule, std::int64_t after);

}  // namespace salesflow::dashboards

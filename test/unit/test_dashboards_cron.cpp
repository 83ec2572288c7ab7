// Tests of the cron expressions of recurring reports: fields, names, ranges,
// steps, the day-of-month / day-of-week rule of Vixie cron, month ends and
// leap days, and bad expressions.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/dashboards/cron.hpp"

namespace {

namespace dash = salesflow::dashboards;

// minutes since 2000-01-01 00:00 for a date and time (days from a table of
// known dates: 2024-01-01 is day 8766, a Monday)
constexpr std::int64_t at(std::int64_t day, int h, int m) { return day * 1440 + h * 60 + m; }
constexpr std::int64_t jan1_2024 = 8766;

std::int64_t next(const char* e, std::int64_t after) { return dash::next_cron_minute(dash::parse_cron(e), after); }

TEST(DashboardsCron, EveryMinuteAndFixedTimes) {
    EXPECT_EQ(next("* * * * *", at(jan1_2024, 10, 0)), at(jan1_2024, 10, 1));
    EXPECT_EQ(next("30 8 * * *", at(jan1_2024, 8, 30)), at(jan1_2024 + 1, 8, 30));  // strictly after
    EXPECT_EQ(next("30 8 * * *", at(jan1_2024, 8, 29)), at(jan1_2024, 8, 30));
    EXPECT_EQ(next("*/15 * * * *", at(jan1_2024, 9, 1)), at(jan1_2024, 9, 15));
    EXPECT_EQ(next("5-10/2 * * * *", at(jan1_2024, 9, 7)), at(jan1_2024, 9, 9));
    EXPECT_EQ(next("0 9,17 * * *", at(jan1_2024, 9, 0)), at(jan1_2024, 17, 0));
}

TEST(DashboardsCron, WeekdaysAndMonths) {
    // 2024-01-01 is a Monday: Friday 08:00 is 2024-01-05
    EXPECT_EQ(next("0 8 * * FRI", at(jan1_2024, 0, 0)), at(jan1_2024 + 4, 8, 0));
    EXPECT_EQ(next("0 8 * * 5", at(jan1_2024, 0, 0)), at(jan1_2024 + 4, 8, 0));
    EXPECT_EQ(next("0 8 * * 7", at(jan1_2024, 0, 0)), at(jan1_2024 + 6, 8, 0));  // 7 is Sunday too
    EXPECT_EQ(next("0 8 * * mon-wed", at(jan1_2024, 9, 0)), at(jan1_2024 + 1, 8, 0));
    EXPECT_EQ(next("0 0 1 mar *", at(jan1_2024, 0, 0)), at(jan1_2024 + 31 + 29, 0, 0));  // leap year
    // day of month and day of week both restricted: either fires (the 15th, or a Sunday)
    EXPECT_EQ(next("0 0 15 * sun", at(jan1_2024, 0, 0)), at(jan1_2024 + 6, 0, 0));
    EXPECT_EQ(next("0 0 31 * *", at(jan1_2024 + 31, 0, 0)), at(jan1_2024 + 31 + 29 + 30, 0, 0));  // 2024-03-31
    EXPECT_EQ(next("0 0 29 2 *", at(jan1_2024 + 60, 0, 0)), at(jan1_2024 + 366 + 365 + 365 + 365 + 31 + 28, 0, 0));  // 2028-02-29
}

TEST(DashboardsCron, BadExpressions) {
    for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                            "* * * * 8", "* * * * funday", "5-1 * * * *", "*/0 * * * *", "a * * * *", "1,,2 * * * *"})
        EXPECT_THROW(dash::parse_cron(bad), std::invalid_argument) << bad;
    EXPECT_THROW(next("0 0 31 2 *", 0), std::invalid_argument);  // never fires
}

}  // namespace

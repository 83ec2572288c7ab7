// Numbers and dates as people write them in invoice exports.
//
// Numbers: "1,234.56", "1.234,56" (decimal ','), " 12 ", "£1,000", "EUR 5",
// "(12.50)" for a negative, "1e3". The separator that is not the decimal one
// may only group thousands (groups of three digits), so "1,5" with decimal
// '.' is an error rather than a silent 15. NaN, infinities and values beyond
// double's range are rejected.
//
// Dates: ISO 8601 ("2024-03-15", "2024-03-15 14:30[:05[.123]]",
// "2024-03-15T14:30:05Z" / "+02:00" — the offset is ignored: we keep the
// wall-clock time as written, because the tenant's timezone is applied on the
// SQL side and shop exports write local time with the shop's offset),
// "15/03/2024" or "03/15/2024" (also with '.' or '-', 2-digit years mean
// 20yy, optional time and AM/PM), "20240315", and Excel serial day numbers
// (20000-80000, the fraction is the time of day; 1900 date system, whose
// fictitious 1900-02-29 is why serial 45000 is 1899-12-30 + 45000 days).
// Whether "03/04/2024" is 3 April or 4 March is decided for the whole column
// by the caller (see invoice.hpp), so reading and resolving are two steps.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace salesflow::ingest {

enum class DateOrder { automatic, dmy, mdy, ymd };

enum class NumberError { none, empty, not_a_number, not_finite, out_of_range, bad_grouping };

struct ParsedNumber {
    double value = 0;
    NumberError error = NumberError::none;
};

// decimal is '.' or ','.
ParsedNumber parse_number(std::string_view text, char decimal);

// The predicate of a sentence: "is not a number", "is too large to represent", ...
const char* describe(NumberError error) noexcept;

// A date-time as written, before the column's day/month order is applied.
struct DateReading {
    enum class Status { ok, empty, unrecognised, bad_time };
    Status status = Status::unrecognised;
    // true for a/b/c forms (year last, or 2-digit year anywhere): which part is
    // the day depends on the DateOrder.
    bool order_dependent = false;
    int a = 0, b = 0, c = 0;       // order-dependent parts as written
    bool c_is_long_year = false;   // c was written with 4 digits
    int year = 0, month = 0, day = 0;  // order-independent dates
    std::int64_t time_of_day_us = 0;
};

DateReading read_date(std::string_view text);

// Evidence a value gives about the column's order: a first part of 13-31
// means day-first, a second part of 13-31 month-first.
enum class OrderEvidence { none, day_first, month_first };
OrderEvidence order_evidence(const DateReading& reading) noexcept;

enum class DateError { none, does_not_exist, out_of_range, not_in_order };

struct ResolvedDate {
    std::int64_t us_since_2000 = 0;  // naive local time, PostgreSQL timestamp epoch
    DateError error = DateError::none;
};

// order must not be automatic for order-dependent readings.
ResolvedDate resolve_date(const DateReading& reading, DateOrder order);

// Days since 1970-01-01 of a proleptic Gregorian date (valid or not; callers
// validate first).
std::int64_t days_from_civil(int year, int month, int day) noexcept;
bool is_valid_calendar_date(int year, int month, int day) noexcept;

// Microseconds between PostgreSQL's epoch (2000-01-01) and the given instant.
std::int64_t timestamp_us(int year, int month, int day, std::int64_t time_of_day_us) noexcept;

}  // namespace salesflow::ingest

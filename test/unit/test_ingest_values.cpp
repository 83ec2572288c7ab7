// Tests of number and date parsing for invoice fields.
#include <gtest/gtest.h>

#include "core/ingest/values.hpp"

namespace {

using namespace salesflow::ingest;

double number(std::string_view text, char decimal = '.') {
    const ParsedNumber n = parse_number(text, decimal);
    EXPECT_EQ(n.error, NumberError::none) << text;
    return n.value;
}

NumberError number_error(std::string_view text, char decimal = '.') { return parse_number(text, decimal).error; }

TEST(IngestNumbers, AcceptsCommonForms) {
    EXPECT_DOUBLE_EQ(number("1,234.56"), 1234.56);
    EXPECT_DOUBLE_EQ(number("1.234,56", ','), 1234.56);
    EXPECT_DOUBLE_EQ(number("\xC2\xA3" "1,000"), 1000);
    EXPECT_DOUBLE_EQ(number(" 12 "), 12);
    EXPECT_DOUBLE_EQ(number("-3"), -3);
    EXPECT_DOUBLE_EQ(number("+2.5"), 2.5);
    EXPECT_DOUBLE_EQ(number("(12.50)"), -12.5);
    EXPECT_DOUBLE_EQ(number("USD 5"), 5);
    EXPECT_DOUBLE_EQ(number("5 eur"), 5);
    EXPECT_DOUBLE_EQ(number("\xE2\x82\xAC" "-4,5", ','), -4.5);
    EXPECT_DOUBLE_EQ(number("-$1,234,567.5"), -1234567.5);
    EXPECT_DOUBLE_EQ(number(".5"), 0.5);
    EXPECT_DOUBLE_EQ(number("1e3"), 1000);
    EXPECT_DOUBLE_EQ(number("1\xC2\xA0"), 1);  // no-break space from a spreadsheet
}

TEST(IngestNumbers, RejectsWhatIsNotANumber) {
    EXPECT_EQ(number_error("abc"), NumberError::not_a_number);
    EXPECT_EQ(number_error("NaN"), NumberError::not_finite);
    EXPECT_EQ(number_error("-inf"), NumberError::not_finite);
    EXPECT_EQ(number_error("1e309"), NumberError::out_of_range);
    EXPECT_EQ(number_error(""), NumberError::empty);
    EXPECT_EQ(number_error("  "), NumberError::empty);
    EXPECT_EQ(number_error("1,5"), NumberError::bad_grouping);           // decimal comma in a '.' file
    EXPECT_EQ(number_error("1.234,56"), NumberError::bad_grouping);      // European number, decimal '.'
    EXPECT_EQ(number_error("12,34,567"), NumberError::bad_grouping);
    EXPECT_EQ(number_error("1.5", ','), NumberError::bad_grouping);
    EXPECT_EQ(number_error("1..2"), NumberError::not_a_number);
    EXPECT_EQ(number_error("--1"), NumberError::not_a_number);
    EXPECT_EQ(number_error("1e"), NumberError::not_a_number);
    EXPECT_EQ(number_error("$"), NumberError::not_a_number);
    EXPECT_STREQ(describe(NumberError::not_a_number), "is not a number");
}

std::int64_t at(int y, int m, int d, int hh = 0, int mi = 0, int ss = 0) {
    return timestamp_us(y, m, d, ((hh * 60LL + mi) * 60 + ss) * 1000000LL);
}

std::int64_t date(std::string_view text, DateOrder order = DateOrder::dmy) {
    const DateReading r = read_date(text);
    EXPECT_EQ(r.status, DateReading::Status::ok) << text;
    const ResolvedDate d = resolve_date(r, order);
    EXPECT_EQ(d.error, DateError::none) << text;
    return d.us_since_2000;
}

TEST(IngestDates, EpochIsPostgres) {
    EXPECT_EQ(timestamp_us(2000, 1, 1, 0), 0);
    EXPECT_EQ(timestamp_us(2000, 1, 2, 0), 86400LL * 1000000);
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
}

TEST(IngestDates, ReadsEachFormat) {
    EXPECT_EQ(date("2024-03-15"), at(2024, 3, 15));
    EXPECT_EQ(date("2024-03-15 14:30"), at(2024, 3, 15, 14, 30));
    EXPECT_EQ(date("2024-03-15 14:30:05"), at(2024, 3, 15, 14, 30, 5));
    EXPECT_EQ(date("2024-03-15 14:30:05.25"), at(2024, 3, 15, 14, 30, 5) + 250000);
    EXPECT_EQ(date("2024-03-15T14:30:05Z"), at(2024, 3, 15, 14, 30, 5));
    // Offsets are ignored: the wall-clock time is kept as written.
    EXPECT_EQ(date("2024-03-15T14:30:05+02:00"), at(2024, 3, 15, 14, 30, 5));
    EXPECT_EQ(date("2025-10-07 09:50:26 +0200"), at(2025, 10, 7, 9, 50, 26));  // Shopify
    EXPECT_EQ(date("15/03/2024"), at(2024, 3, 15));
    EXPECT_EQ(date("15/03/2024 9:05", DateOrder::dmy), at(2024, 3, 15, 9, 5));
    EXPECT_EQ(date("03/15/2024 2:30 PM", DateOrder::mdy), at(2024, 3, 15, 14, 30));
    EXPECT_EQ(date("12/1/2010 8:26", DateOrder::mdy), at(2010, 12, 1, 8, 26));  // the original UCI layout
    EXPECT_EQ(date("15.03.2024"), at(2024, 3, 15));
    EXPECT_EQ(date("15-03-24"), at(2024, 3, 15));  // 2-digit year -> 20yy
    EXPECT_EQ(date("24/03/15", DateOrder::ymd), at(2024, 3, 15));
    EXPECT_EQ(date("20240315"), at(2024, 3, 15));
    EXPECT_EQ(date("2024/03/15"), at(2024, 3, 15));
    EXPECT_EQ(date("03/15/2024 12:05 AM", DateOrder::mdy), at(2024, 3, 15, 0, 5));
}

TEST(IngestDates, ExcelSerialDays) {
    EXPECT_EQ(date("45000"), at(2023, 3, 15));
    EXPECT_EQ(date("45000.5"), at(2023, 3, 15, 12));
    EXPECT_EQ(date("45000,25"), at(2023, 3, 15, 6));
    EXPECT_EQ(read_date("19999").status, DateReading::Status::unrecognised);
    EXPECT_EQ(read_date("123456").status, DateReading::Status::unrecognised);
}

TEST(IngestDates, RejectsImpossibleDates) {
    EXPECT_EQ(resolve_date(read_date("31/02/2024"), DateOrder::dmy).error, DateError::does_not_exist);
    EXPECT_EQ(resolve_date(read_date("29/02/2024"), DateOrder::dmy).error, DateError::none);  // leap year
    EXPECT_EQ(resolve_date(read_date("29/02/2023"), DateOrder::dmy).error, DateError::does_not_exist);
    EXPECT_EQ(resolve_date(read_date("2100-02-29"), DateOrder::dmy).error, DateError::does_not_exist);
    EXPECT_EQ(resolve_date(read_date("2000-02-29"), DateOrder::dmy).error, DateError::none);
    EXPECT_EQ(resolve_date(read_date("1850-01-01"), DateOrder::dmy).error, DateError::out_of_range);
    EXPECT_EQ(resolve_date(read_date("15/03/2024"), DateOrder::ymd).error, DateError::not_in_order);
    EXPECT_EQ(read_date("2024-03-15 25:00").status, DateReading::Status::bad_time);
    EXPECT_EQ(read_date("2024-03-15 13:00 PM").status, DateReading::Status::bad_time);
    EXPECT_EQ(read_date("yesterday").status, DateReading::Status::unrecognised);
    EXPECT_EQ(read_date("2024-03").status, DateReading::Status::unrecognised);
    EXPECT_EQ(read_date("").status, DateReading::Status::empty);
}

TEST(IngestDates, OrderEvidence) {
    EXPECT_EQ(order_evidence(read_date("25/03/2024")), OrderEvidence::day_first);
    EXPECT_EQ(order_evidence(read_date("03/25/2024")), OrderEvidence::month_first);
    EXPECT_EQ(order_evidence(read_date("03/04/2024")), OrderEvidence::none);
    EXPECT_EQ(order_evidence(read_date("2024-03-25")), OrderEvidence::none);  // ISO says nothing
}

}  // namespace

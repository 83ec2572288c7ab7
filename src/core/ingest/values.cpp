// Number and date parsing for invoice fields; the accepted forms are listed
// in values.hpp. Calendar arithmetic uses the days-from-civil construction
// over 400-year eras (proleptic Gregorian), as in H. Hinnant, "chrono-
// Compatible Low-Level Date Algorithms", so no libc time function (and no
// timezone) is involved.
#include "core/ingest/values.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace salesflow::ingest {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// Spaces people and spreadsheets put around and inside numbers: ASCII
// blanks, NO-BREAK SPACE (C2 A0) and NARROW NO-BREAK SPACE (E2 80 AF).
std::size_t space_length_at(std::string_view s, std::size_t i) noexcept {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') return 1;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) return 2;
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        static_cast<unsigned char>(s[i + 2]) == 0xAF)
        return 3;
    return 0;
}

void trim_left(std::string_view& s) noexcept {
    std::size_t n;
    while (!s.empty() && (n = space_length_at(s, 0)) != 0) s.remove_prefix(n);
}

void trim_right(std::string_view& s) noexcept {
    for (;;) {
        if (s.empty()) return;
        const unsigned char last = static_cast<unsigned char>(s.back());
        if (last == ' ' || last == '\t' || last == '\r' || last == '\n' || last == '\v' || last == '\f') {
            s.remove_suffix(1);
        } else if (s.size() >= 2 && last == 0xA0 && static_cast<unsigned char>(s[s.size() - 2]) == 0xC2) {
            s.remove_suffix(2);
        } else if (s.size() >= 3 && last == 0xAF && static_cast<unsigned char>(s[s.size() - 2]) == 0x80 &&
                   static_cast<unsigned char>(s[s.size() - 3]) == 0xE2) {
            s.remove_suffix(3);
        } else {
            return;
        }
    }
}

void trim(std::string_view& s) noexcept {
    trim_left(s);
    trim_right(s);
}

// Currency markers: the symbols of the currencies our users sell in (UTF-8)
// and their ISO codes.
constexpr std::string_view currency_markers[] = {"\xC2\xA3", "$", "\xE2\x82\xAC", "\xC2\xA5", "USD", "EUR", "GBP"};

bool strip_currency_prefix(std::string_view& s) noexcept {
    for (std::string_view m : currency_markers) {
        if (istarts_with(s, m)) {
            s.remove_prefix(m.size());
            return true;
        }
    }
    return false;
}

bool strip_currency_suffix(std::string_view& s) noexcept {
    for (std::string_view m : currency_markers) {
        if (iends_with(s, m)) {
            s.remove_suffix(m.size());
            return true;
        }
    }
    return false;
}

// Reads a run of digits; returns its length (at most max_len digits taken).
std::size_t read_digits(std::string_view s, std::size_t& i, int& value, std::size_t max_len) noexcept {
    std::size_t start = i;
    value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < max_len) {
        value = value * 10 + (s[i] - '0');
        ++i;
    }
    return i - start;
}

}  // namespace

ParsedNumber parse_number(std::string_view s, char decimal) {
    ParsedNumber out;
    trim(s);
    if (s.empty()) {
        out.error = NumberError::empty;
        return out;
    }
    bool negative = false, sign_seen = false, currency_seen = false;
    // Plain numbers (the vast majority) skip the sign and currency handling.
    const bool plain = is_digit(s.back()) && (is_digit(s.front()) || s.front() == '.');
    if (!plain && s.size() >= 2 && s.front() == '(' && s.back() == ')') {
        // Accountants' negative.
        negative = true;
        sign_seen = true;
        s = s.substr(1, s.size() - 2);
        trim(s);
    }
    for (int step = 0; step < 3 && !plain && !s.empty(); ++step) {
        if (!sign_seen && (s.front() == '+' || s.front() == '-')) {
            negative = s.front() == '-';
            sign_seen = true;
            s.remove_prefix(1);
            trim_left(s);
        } else if (!currency_seen && strip_currency_prefix(s)) {
            currency_seen = true;
            trim_left(s);
        } else {
            break;
        }
    }
    if (!plain && !currency_seen && strip_currency_suffix(s)) trim_right(s);
    if (!plain && (iequals(s, "nan") || iequals(s, "inf") || iequals(s, "infinity"))) {
        out.error = NumberError::not_finite;
        return out;
    }
    if (s.empty()) {
        out.error = NumberError::not_a_number;
        return out;
    }

    const char thousands = decimal == ',' ? '.' : ',';
    // One pass validates the layout and accumulates the digits; the clean
    // "-123.45e6" text is only built for from_chars when the fast path below
    // does not apply.
    std::size_t i = 0;
    std::size_t digits = 0, significant = 0, fraction_digits = 0;
    std::uint64_t mantissa = 0;
    std::size_t group = 0;  // digits since the last thousands separator
    bool grouped = false;
    auto take_digit = [&](char c) {
        ++digits;
        if (significant > 0 || c != '0') ++significant;
        if (significant <= 15) mantissa = mantissa * 10 + static_cast<std::uint64_t>(c - '0');
    };
    while (i < s.size() && (is_digit(s[i]) || s[i] == thousands)) {
        if (s[i] == thousands) {
            // First group 1-3 digits, every later group exactly 3.
            if (group == 0 || group > 3 || (grouped && group != 3)) {
                out.error = NumberError::bad_grouping;
                return out;
            }
            grouped = true;
            group = 0;
        } else {
            take_digit(s[i]);
            ++group;
        }
        ++i;
    }
    if (grouped && group != 3) {
        out.error = NumberError::bad_grouping;
        return out;
    }
    const std::size_t integer_end = i;
    std::size_t fraction_begin = i;
    if (i < s.size() && s[i] == decimal) {
        fraction_begin = ++i;
        while (i < s.size() && is_digit(s[i])) {
            take_digit(s[i]);
            ++fraction_digits;
            ++i;
        }
    }
    const std::size_t fraction_end = i;
    if (digits == 0) {
        out.error = NumberError::not_a_number;
        return out;
    }
    std::size_t exponent_begin = i;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exp_digits = 0;
        while (i < s.size() && is_digit(s[i])) {
            ++i;
            ++exp_digits;
        }
        if (exp_digits == 0) {
            out.error = NumberError::not_a_number;
            return out;
        }
    }
    if (i != s.size()) {
        // A thousands separator after the decimal part usually means the file
        // uses the other decimal convention.
        out.error = s[i] == thousands ? NumberError::bad_grouping : NumberError::not_a_number;
        return out;
    }
    // Clinger's fast path: with at most 15 significant digits and no
    // exponent, the integer and the power of ten are exact doubles, so one
    // IEEE division is correctly rounded and equals what from_chars returns.
    if (significant <= 15 && fraction_digits <= 22 && exponent_begin == s.size()) {
        static constexpr double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        const double magnitude = static_cast<double>(mantissa) / powers_of_ten[fraction_digits];
        out.value = (negative ? -magnitude : magnitude) + 0.0;  // -0 becomes +0 so amounts hash alike
        return out;
    }
    std::string clean;
    clean.reserve(s.size() + 1);
    if (negative) clean.push_back('-');
    for (std::size_t k = 0; k < integer_end; ++k)
        if (s[k] != thousands) clean.push_back(s[k]);
    clean.push_back('.');
    clean.append(s.data() + fraction_begin, fraction_end - fraction_begin);
    if (exponent_begin < s.size()) {
        clean.push_back('e');
        clean.append(s.data() + exponent_begin + 1, s.size() - exponent_begin - 1);
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), value);
    if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
        out.error = NumberError::out_of_range;
        return out;
    }
    if (ec != std::errc() || end != clean.data() + clean.size()) {
        out.error = NumberError::not_a_number;
        return out;
    }
    out.value = value + 0.0;  // -0 becomes +0 so identical amounts hash alike
    return out;
}

const char* describe(NumberError error) noexcept {
    switch (error) {
        case NumberError::none: return "is a number";
        case NumberError::empty: return "is empty";
        case NumberError::not_a_number: return "is not a number";
        case NumberError::not_finite: return "is not a finite number";
        case NumberError::out_of_range: return "is out of range";
        case NumberError::bad_grouping:
            return "has a misplaced thousands or decimal separator (check the decimal option)";
    }
    return "is not a number";
}

std::int64_t days_from_civil(int year, int month, int day) noexcept {
    // Count from 0000-03-01 so the leap day ends each cycle.
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t year_of_era = y - era * 400;
    const std::int64_t shifted_month = month > 2 ? month - 3 : month + 9;
    const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

namespace {

void civil_from_days(std::int64_t days, int& year, int& month, int& day) noexcept {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t day_of_era = days - era * 146097;
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
    day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    year = static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
}

constexpr std::int64_t us_per_day = 86400LL * 1000000LL;
constexpr std::int64_t pg_epoch_days = 10957;  // 2000-01-01 - 1970-01-01
constexpr int min_year = 1900, max_year = 2200;

// Parses "HH:MM[:SS[.ffffff]][ AM|PM][ Z|UTC|GMT|+hh[:mm]]" from s[i..].
DateReading::Status read_time(std::string_view s, std::size_t i, std::int64_t& time_us) {
    int hour = 0, minute = 0, second = 0;
    if (read_digits(s, i, hour, 2) == 0) return DateReading::Status::unrecognised;
    if (i >= s.size() || s[i] != ':') return DateReading::Status::unrecognised;
    ++i;
    if (read_digits(s, i, minute, 2) != 2) return DateReading::Status::bad_time;
    std::int64_t micros = 0;
    if (i < s.size() && s[i] == ':') {
        ++i;
        if (read_digits(s, i, second, 2) != 2) return DateReading::Status::bad_time;
        if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
            ++i;
            std::size_t n = 0;
            std::int64_t scale = 100000;
            while (i < s.size() && is_digit(s[i])) {
                if (n < 6) micros += (s[i] - '0') * scale;  // digits beyond microseconds are dropped
                scale /= 10;
                ++n;
                ++i;
            }
            if (n == 0) return DateReading::Status::bad_time;
        }
    }
    std::string_view rest = s.substr(i);
    trim_left(rest);
    // 12-hour clock.
    int meridiem = 0;  // 1 am, 2 pm
    for (auto [word, kind] : {std::pair<std::string_view, int>{"a.m.", 1}, {"p.m.", 2}, {"am", 1}, {"pm", 2}}) {
        if (istarts_with(rest, word)) {
            meridiem = kind;
            rest.remove_prefix(word.size());
            trim_left(rest);
            break;
        }
    }
    // Time zone designators are accepted and ignored: the time stays as written.
    if (!rest.empty()) {
        if (iequals(rest, "z") || iequals(rest, "utc") || iequals(rest, "gmt")) {
            rest = {};
        } else if (rest.front() == '+' || rest.front() == '-') {
            std::size_t k = 1;
            int hh = 0, mm = 0;
            if (read_digits(rest, k, hh, 2) != 2) return DateReading::Status::bad_time;
            if (k < rest.size() && rest[k] == ':') ++k;
            if (k < rest.size() && read_digits(rest, k, mm, 2) != 2) return DateReading::Status::bad_time;
            if (k != rest.size() || hh > 14 || mm > 59) return DateReading::Status::bad_time;
            rest = {};
        }
    }
    if (!rest.empty()) return DateReading::Status::bad_time;
    if (meridiem != 0) {
        if (hour < 1 || hour > 12) return DateReading::Status::bad_time;
        hour = hour % 12 + (meridiem == 2 ? 12 : 0);
    }
    if (hour > 23 || minute > 59 || second > 59) return DateReading::Status::bad_time;
    time_us = ((hour * 60LL + minute) * 60LL + second) * 1000000LL + micros;
    return DateReading::Status::ok;
}

// The time after a date, if any: separated by spaces or 'T'.
DateReading::Status read_optional_time(std::string_view s, std::size_t i, std::int64_t& time_us) {
    time_us = 0;
    if (i == s.size()) return DateReading::Status::ok;
    if (s[i] == 'T' || s[i] == 't') {
        ++i;
    } else if (s[i] == ' ') {
        while (i < s.size() && s[i] == ' ') ++i;
    } else {
        return DateReading::Status::unrecognised;
    }
    return read_time(s, i, time_us);
}

}  // namespace

bool is_valid_calendar_date(int year, int month, int day) noexcept {
    static constexpr int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1) return false;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int limit = days_in_month[month - 1] + (month == 2 && leap ? 1 : 0);
    return day <= limit;
}

std::int64_t timestamp_us(int year, int month, int day, std::int64_t time_of_day_us) noexcept {
    return (days_from_civil(year, month, day) - pg_epoch_days) * us_per_day + time_of_day_us;
}

DateReading read_date(std::string_view s) {
    DateReading r;
    trim(s);
    if (s.empty()) {
        r.status = DateReading::Status::empty;
        return r;
    }
    std::size_t i = 0;
    int first = 0;
    const std::size_t first_len = read_digits(s, i, first, 9);
    if (first_len == 0) return r;  // unrecognised

    // A plain number: YYYYMMDD or an Excel serial day.
    if (i == s.size() || s[i] == ' ' || s[i] == 'T' ||
        ((s[i] == '.' || s[i] == ',') && first_len == 5)) {
        if (first_len == 8 && (i == s.size() || s[i] != '.')) {
            r.year = first / 10000;
            r.month = first / 100 % 100;
            r.day = first % 100;
            r.status = read_optional_time(s, i, r.time_of_day_us);
            return r;
        }
        if (first_len == 5 && first >= 20000 && first <= 80000) {
            double fraction = 0;
            if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
                ++i;
                double scale = 0.1;
                std::size_t n = 0;
                while (i < s.size() && is_digit(s[i])) {
                    if (n < 12) fraction += (s[i] - '0') * scale;
                    scale /= 10;
                    ++n;
                    ++i;
                }
                if (n == 0) return r;
            }
            if (i != s.size()) return r;
            // 1900 date system: Lotus' fictitious 1900-02-29 makes every serial
            // after February 1900 count from 1899-12-30.
            civil_from_days(days_from_civil(1899, 12, 30) + first, r.year, r.month, r.day);
            r.time_of_day_us = std::llround(fraction * static_cast<double>(us_per_day));
            if (r.time_of_day_us >= us_per_day) r.time_of_day_us = us_per_day - 1;
            r.status = DateReading::Status::ok;
            return r;
        }
        return r;
    }

    const char sep = s[i];
    if (sep != '-' && sep != '/' && sep != '.') return r;
    ++i;
    int second = 0, third = 0;
    const std::size_t second_len = read_digits(s, i, second, 3);
    if (second_len == 0 || second_len > 2 || i >= s.size() || s[i] != sep) return r;
    ++i;
    const std::size_t third_len = read_digits(s, i, third, 5);
    if (first_len == 4) {
        if (third_len == 0 || third_len > 2) return r;
        r.year = first;
        r.month = second;
        r.day = third;
    } else if (first_len <= 2) {
        if (third_len != 2 && third_len != 4) return r;
        r.order_dependent = true;
        r.a = first;
        r.b = second;
        r.c = third;
        r.c_is_long_year = third_len == 4;
    } else {
        return r;
    }
    r.status = read_optional_time(s, i, r.time_of_day_us);
    return r;
}

OrderEvidence order_evidence(const DateReading& r) noexcept {
    if (r.status != DateReading::Status::ok || !r.order_dependent) return OrderEvidence::none;
    if (r.a >= 13 && r.a <= 31 && r.b >= 1 && r.b <= 12) return OrderEvidence::day_first;
    if (r.b >= 13 && r.b <= 31 && r.a >= 1 && r.a <= 12) return OrderEvidence::month_first;
    return OrderEvidence::none;
}

ResolvedDate resolve_date(const DateReading& r, DateOrder order) {
    ResolvedDate out;
    int year = r.year, month = r.month, day = r.day;
    if (r.order_dependent) {
        const int written_year = r.c_is_long_year ? r.c : 2000 + r.c;
        switch (order) {
            case DateOrder::automatic:
            case DateOrder::dmy:
                day = r.a;
                month = r.b;
                year = written_year;
                break;
            case DateOrder::mdy:
                month = r.a;
                day = r.b;
                year = written_year;
                break;
            case DateOrder::ymd:
                if (r.c_is_long_year) {
                    out.error = DateError::not_in_order;
                    return out;
                }
                year = 2000 + r.a;
                month = r.b;
                day = r.c;
                break;
        }
    }
    if (!is_valid_calendar_date(year, month, day)) {
        out.error = DateError::does_not_exist;
        return out;
    }
    if (year < min_year || year > max_year) {
        out.error = DateError::out_of_range;
        return out;
    }
    out.us_since_2000 = timestamp_us(year, month, day, r.time_of_day_us);
    return out;
}

}  // namespace salesflow::ingest

// Cron expressions: parsing and the next firing minute (see cron.hpp).
#include "core/dashboards/cron.hpp"

#include <array>
#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/common/civil.hpp"

namespace salesflow::dashboards {

namespace {

struct Field {
    const char* name;
    int lo, hi;
    std::array<const char*, 12> names;  // accepted names for lo, lo+1, ...
};

const Field fields[5] = {
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
};

int parse_value(std::string_view s, const Field& f) {
    if (s.empty()) throw std::invalid_argument(std::string("empty value in the ") + f.name + " field");
    if (std::isalpha(static_cast<unsigned char>(s[0]))) {
        std::string lower;
        for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (int i = 0; i < 12 && f.names[i] != nullptr; ++i)
            if (lower == f.names[i]) return f.lo + i;
        throw std::invalid_argument("\"" + std::string(s) + "\" is not a " + f.name);
    }
    int v = 0;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000)
            throw std::invalid_argument("\"" + std::string(s) + "\" is not a number in the " + f.name + " field");
        v = v * 10 + (c - '0');
    }
    if (v < f.lo || v > f.hi)
        throw std::invalid_argument(std::string(f.name) + " " + std::to_string(v) + " is outside " + std::to_string(f.lo) +
                                    "-" + std::to_string(f.hi));
    return v;
}

// The values a field allows, as a bit per value (index = value); true when restricted (not `*`).
bool parse_field(std::string_view text, const Field& f, std::vector<bool>& allowed) {
    allowed.assign(static_cast<std::size_t>(f.hi + 1), false);
    bool restricted = true;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        int step = 1;
        std::size_t slash = item.find('/');
        if (slash != std::string_view::npos) {
            step = parse_value(item.substr(slash + 1), Field{f.name, 1, f.hi + 1, {}});
            item = item.substr(0, slash);
        }
        int a, b;
        if (item == "*") {
            a = f.lo;
            b = f.hi;
            if (slash == std::string_view::npos) restricted = false;
        } else if (std::size_t dash = item.find('-'); dash != std::string_view::npos) {
            a = parse_value(item.substr(0, dash), f);
            b = parse_value(item.substr(dash + 1), f);
            if (b < a) throw std::invalid_argument(std::string("range ") + std::string(item) + " runs backwards in the " + f.name + " field");
        } else {
            a = parse_value(item, f);
            b = slash == std::string_view::npos ? a : f.hi;
        }
        for (int v = a; v <= b; v += step) allowed[static_cast<std::size_t>(v)] = true;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return restricted;
}

}  // namespace

CronSchedule parse_cron(std::string_view expression) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < expression.size()) {
        while (i < expression.size() && std::isspace(static_cast<unsigned char>(expression[i]))) ++i;
        std::size_t j = i;
        while (j < expression.size() && !std::isspace(static_cast<unsigned char>(expression[j]))) ++j;
        if (j > i) parts.push_back(expression.substr(i, j - i));
        i = j;
    }
    if (parts.size() != 5)
        throw std::invalid_argument("a cron expression has 5 fields (minute hour day-of-month month day-of-week), not " +
                                    std::to_string(parts.size()));
    CronSchedule s;
    std::vector<bool> allowed;
    parse_field(parts[0], fields[0], allowed);
    for (int v = 0; v < 60; ++v) s.minute[v] = allowed[v];
    parse_field(parts[1], fields[1], allowed);
    for (int v = 0; v < 24; ++v) s.hour[v] = allowed[v];
    s.day_restricted = parse_field(parts[2], fields[2], allowed);
    for (int v = 1; v <= 31; ++v) s.day[v] = allowed[v];
    parse_field(parts[3], fields[3], allowed);
    for (int v = 1; v <= 12; ++v) s.month[v] = allowed[v];
    s.weekday_restricted = parse_field(parts[4], fields[4], allowed);
    for (int v = 0; v <= 7; ++v)
        if (allowed[v]) s.weekday[v % 7] = true;
    return s;
}

std::int64_t next_cron_minute(const CronSchedule& s, std::int64_t after) {
    constexpr std::int64_t days_2000 = 10957;  // 2000-01-01 in days since 1970-01-01
    std::int64_t start = after + 1;
    std::int64_t first_day = start >= 0 ? start / 1440 : -((-start + 1439) / 1440);
    // a date that exists fires within 8 years (29 February), or never
    for (std::int64_t d = first_day; d < first_day + 366 * 8 + 2; ++d) {
        Civil c = civil_from_days(d + days_2000);
        int weekday = static_cast<int>(((d + days_2000) % 7 + 11) % 7);  // 1970-01-01 was a Thursday (4)
        bool day_ok = s.day[c.day], weekday_ok = s.weekday[weekday];
        bool fires = s.day_restricted && s.weekday_restricted ? (day_ok || weekday_ok) : (day_ok && weekday_ok);
        if (!s.month[c.month] || !fires) continue;
        for (int h = 0; h < 24; ++h) {
            if (!s.hour[h]) continue;
            for (int m = 0; m < 60; ++m) {
                std::int64_t t = d * 1440 + h * 60 + m;
                if (s.minute[m] && t >= start) return t;
            }
        }
    }
    throw std::invalid_argument("the cron expression never fires");
}

}  // namespace salesflow::dashboards

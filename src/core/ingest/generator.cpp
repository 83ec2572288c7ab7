// Deterministic invoice CSV generator; see generator.hpp for what it models.
// splitmix64 is Steele, Lea & Flood, "Fast splittable pseudorandom number
// generators" (OOPSLA 2014).
#include "core/ingest/generator.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <string_view>
#include <vector>

#include "core/common/cancel.hpp"

namespace salesflow::ingest {
namespace {

class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n); the modulo bias is below 2^-40 for our n.
    std::uint64_t below(std::uint64_t n) { return n <= 1 ? 0 : next() % n; }
    int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint64_t>(hi - lo + 1))); }
    bool chance(std::uint64_t per_million) { return below(1000000) < per_million; }

private:
    std::uint64_t state_;
};

// Sampling from integer weights by binary search over the running sums.
class WeightedTable {
public:
    void add(std::uint64_t weight) { cumulative_.push_back(total() + weight); }
    std::uint64_t total() const { return cumulative_.empty() ? 0 : cumulative_.back(); }
    std::size_t sample(SplitMix64& rng) const {
        const std::uint64_t r = rng.below(total());
        return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) -
                                        cumulative_.begin());
    }
    void reserve(std::size_t n) { cumulative_.reserve(n); }

private:
    std::vector<std::uint64_t> cumulative_;
};

constexpr std::string_view adjectives[] = {
    "VINTAGE", "RETRO", "JUMBO", "REGENCY", "VICTORIAN", "RUSTIC", "FRENCH", "ENGLISH", "SCANDINAVIAN",
    "PAPER", "GLASS", "WOODEN", "ENAMEL", "CERAMIC", "ZINC", "KNITTED", "SMALL", "LARGE", "MINI", "DOLLY GIRL"};
constexpr std::string_view patterns[] = {
    "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "WHITE", "RETROSPOT", "POLKADOT", "SPOTTY", "STRIPE",
    "FLORAL", "HEART", "STAR", "PAISLEY", "BIRD", "BUNNY", "CHRISTMAS", "SKULL", "ROSE"};
constexpr std::string_view nouns[] = {
    "LUNCH BAG", "TEA CUP AND SAUCER", "CAKE STAND", "LANTERN", "CANDLE HOLDER", "NOTEBOOK", "PHOTO FRAME",
    "DOORSTOP", "WATER BOTTLE", "BUNTING", "CUSHION COVER", "TEA TOWEL", "PARTY BAG", "GIFT WRAP",
    "STORAGE TIN", "CLOCK", "MUG", "COAT HANGER", "JAM JAR", "HOT WATER BOTTLE", "SHOPPER BAG", "NAPKINS",
    "PLATE", "BOWL", "GARLAND"};
constexpr std::string_view sizes[] = {"", "", "", " SET OF 3", " SET OF 6", " LARGE", " SMALL"};

// Typical wholesale price points, in pence.
constexpr int price_points[] = {29, 39, 42, 55, 65, 72, 85, 125, 145, 165, 195, 210, 250, 255, 295,
                                375, 425, 495, 595, 795, 995, 1275, 1695, 2495};

struct CountryShare {
    std::string_view name;
    int weight;  // per thousand customers
};
constexpr CountryShare countries[] = {
    {"United Kingdom", 870}, {"Germany", 25}, {"France", 22}, {"EIRE", 15}, {"Spain", 9}, {"Netherlands", 8},
    {"Belgium", 8}, {"Switzerland", 7}, {"Portugal", 7}, {"Australia", 5}, {"Norway", 5}, {"Italy", 5},
    {"Channel Islands", 4}, {"Finland", 3}, {"Sweden", 3}, {"Denmark", 2}, {"Japan", 2}};

// Pack sizes customers order and how often (weights).
constexpr std::array<std::pair<int, int>, 15> pack_sizes = {{{1, 10}, {2, 12}, {3, 6}, {4, 10}, {6, 14}, {8, 5},
                                                            {10, 8}, {12, 16}, {24, 9}, {25, 3}, {36, 2}, {48, 3},
                                                            {72, 1}, {96, 1}, {144, 1}}};

// Day weights: Monday..Sunday (Saturday almost closed), months (autumn peak).
constexpr int weekday_weight[7] = {100, 105, 110, 120, 90, 10, 55};
constexpr int month_weight[12] = {70, 75, 85, 85, 90, 85, 80, 85, 110, 125, 160, 110};

constexpr int first_year = 2023;
constexpr int days_covered = 731;  // 2023-01-01 .. 2024-12-31

struct Product {
    std::string code;
    std::string description;  // already CSV-escaped
    int price_pence;
};

struct Customer {
    int id;
    std::uint16_t country;
    int start_day, end_day;
    int preferred_weekday;  // 0 = Monday
    int basket_mean;
    std::vector<std::uint32_t> favourites;
};

struct Invoice {
    int day;
    int minute;
    int customer;  // -1 anonymous
    int lines;
    bool is_return;
    std::uint64_t seed;
};

std::string csv_escape(const std::string& s) {
    if (s.find_first_of(",\"") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

void append_int(std::string& out, long long v) {
    char buf[24];
    int n = 0;
    const bool negative = v < 0;
    unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
        buf[n++] = static_cast<char>('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (negative) out.push_back('-');
    while (n > 0) out.push_back(buf[--n]);
}

void append_two_digits(std::string& out, int v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

// Pence as the shortest decimal, the way the UCI file writes prices: 2.1, 0.85, 18.
void append_price(std::string& out, int pence) {
    append_int(out, pence / 100);
    const int cents = pence % 100;
    if (cents == 0) return;
    out.push_back('.');
    out.push_back(static_cast<char>('0' + cents / 10));
    if (cents % 10 != 0) out.push_back(static_cast<char>('0' + cents % 10));
}

std::vector<std::string> day_labels() {
    static constexpr int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    std::vector<std::string> labels;
    labels.reserve(days_covered);
    int year = first_year, month = 1, day = 1;
    for (int d = 0; d < days_covered; ++d) {
        std::string s;
        append_int(s, year);
        s.push_back('-');
        append_two_digits(s, month);
        s.push_back('-');
        append_two_digits(s, day);
        labels.push_back(std::move(s));
        const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        const int length = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
        if (++day > length) {
            day = 1;
            if (++month > 12) {
                month = 1;
                ++year;
            }
        }
    }
    return labels;
}

int weekday_of(int day) { return (day + 6) % 7; }  // 2023-01-01 was a Sunday

}  // namespace

std::string generate_invoice_csv(std::int64_t lines, std::uint64_t seed) {
    std::string out = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    if (lines <= 0) return out;
    SplitMix64 rng(seed ^ 0x6A09E667F3BCC908ULL);

    // Products, in popularity rank order (rank 0 sells most).
    const std::int64_t product_count = std::max<std::int64_t>(50, lines / 300);
    std::vector<Product> products;
    products.reserve(static_cast<std::size_t>(product_count));
    WeightedTable popularity;
    popularity.reserve(static_cast<std::size_t>(product_count));
    for (std::int64_t i = 0; i < product_count; ++i) {
        Product p;
        // Five-digit codes in a scattered but collision-free order (3 is coprime
        // to 89999); beyond 89999 products a 100000s block is added.
        p.code = std::to_string(10000 + (i % 89999) * 3 % 89999 + (i / 89999) * 100000);
        if (rng.chance(150000)) p.code.push_back(static_cast<char>('A' + rng.below(5)));
        // One draw per statement: the order in which operands of one
        // expression are evaluated is unspecified, and compilers differ.
        std::string description;
        if (rng.chance(25000)) {
            // Some catalogue names carry commas: the CSV must quote them.
            description = nouns[rng.below(std::size(nouns))];
            description += ", ";
            description += patterns[rng.below(std::size(patterns))];
        } else {
            description = adjectives[rng.below(std::size(adjectives))];
            description += ' ';
            description += patterns[rng.below(std::size(patterns))];
            description += ' ';
            description += nouns[rng.below(std::size(nouns))];
            description += sizes[rng.below(std::size(sizes))];
        }
        p.description = csv_escape(description);
        p.price_pence = price_points[rng.below(std::size(price_points))];
        products.push_back(std::move(p));
        popularity.add(1000000000ULL / static_cast<std::uint64_t>(i + 2));  // Zipf, exponent 1
    }

    WeightedTable country_table;
    for (const CountryShare& c : countries) country_table.add(static_cast<std::uint64_t>(c.weight));

    // Customers.
    const std::int64_t customer_count = std::max<std::int64_t>(1, lines / 80);
    std::vector<Customer> customers;
    customers.reserve(static_cast<std::size_t>(customer_count));
    WeightedTable activity;
    activity.reserve(static_cast<std::size_t>(customer_count));
    for (std::int64_t i = 0; i < customer_count; ++i) {
        Customer c;
        c.id = static_cast<int>(12346 + i);
        c.country = static_cast<std::uint16_t>(country_table.sample(rng));
        c.start_day = rng.chance(350000) ? 0 : rng.between(0, 600);
        c.end_day = rng.chance(700000) ? days_covered - 1
                                      : std::min(days_covered - 1, c.start_day + rng.between(60, 730));
        c.preferred_weekday = rng.between(0, 4);
        c.basket_mean = rng.between(3, 25);
        const int favourites = rng.between(4, 16);
        for (int f = 0; f < favourites; ++f) c.favourites.push_back(static_cast<std::uint32_t>(popularity.sample(rng)));
        const std::uint64_t u = rng.below(100);
        activity.add(1 + u * u * u / 2500);  // a few wholesalers buy far more than most
        customers.push_back(std::move(c));
    }

    WeightedTable calendar;
    {
        static constexpr int month_starts[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
        for (int d = 0; d < days_covered; ++d) {
            int day_of_year = d < 365 ? d : d - 365;
            const bool second_year_leap = d >= 365;  // 2024 is a leap year
            int month = 11;
            for (int m = 11; m >= 0; --m) {
                const int start = month_starts[m] + (second_year_leap && m >= 2 ? 1 : 0);
                if (day_of_year >= start) {
                    month = m;
                    day_of_year -= start;
                    break;
                }
            }
            std::uint64_t w = static_cast<std::uint64_t>(weekday_weight[weekday_of(d)]) *
                              static_cast<std::uint64_t>(month_weight[month]) *
                              static_cast<std::uint64_t>(100 + d * 40 / days_covered);
            if (month == 11 && day_of_year >= 20) w /= 6;  // closed over Christmas
            calendar.add(w);
        }
    }

    // Invoices until the line budget is spent. Every customer first makes one
    // purchase inside their active period (a customer with no purchase would
    // not be in an export at all); later invoices go to customers in
    // proportion to their activity.
    std::vector<Invoice> invoices;
    invoices.reserve(static_cast<std::size_t>(lines / 10 + 16));
    std::int64_t remaining = lines;
    std::size_t first_purchases = 0;
    while (remaining > 0) {
        Invoice inv;
        inv.day = static_cast<int>(calendar.sample(rng));
        inv.customer = -1;
        if (first_purchases < customers.size()) {
            const Customer& who = customers[first_purchases];
            inv.customer = static_cast<int>(first_purchases++);
            for (int attempt = 0; attempt < 16 && (inv.day < who.start_day || inv.day > who.end_day); ++attempt)
                inv.day = static_cast<int>(calendar.sample(rng));
            if (inv.day < who.start_day || inv.day > who.end_day) inv.day = who.start_day;
        } else if (!rng.chance(23000)) {  // ~2% of lines are anonymous
            std::size_t c = activity.sample(rng);
            for (int attempt = 0; attempt < 8; ++attempt) {
                const Customer& candidate = customers[c];
                if (inv.day >= candidate.start_day && inv.day <= candidate.end_day) break;
                c = activity.sample(rng);
            }
            inv.customer = static_cast<int>(c);
            const Customer& who = customers[c];
            if (rng.chance(500000)) {
                // Habit: the same weekday each time.
                const int moved = inv.day - weekday_of(inv.day) + who.preferred_weekday;
                if (moved >= 0 && moved < days_covered) inv.day = moved;
            }
        }
        const bool first_purchase = inv.customer >= 0 && static_cast<std::size_t>(inv.customer) + 1 == first_purchases &&
                                    invoices.size() < customers.size();
        inv.is_return = inv.customer >= 0 && !first_purchase && rng.chance(120000);
        const int mean = inv.customer >= 0 ? customers[static_cast<std::size_t>(inv.customer)].basket_mean : 12;
        const int basket = inv.is_return ? rng.between(1, 3) : std::min(30, 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(2 * mean))));
        inv.lines = static_cast<int>(std::min<std::int64_t>(basket, remaining));
        // Opening hours 8:00-19:59, busiest around midday.
        const int opening_hour = rng.between(8, 13);
        const int hour = opening_hour + rng.between(0, 6);
        inv.minute = hour * 60 + rng.between(0, 59);
        inv.seed = rng.next();
        remaining -= inv.lines;
        invoices.push_back(inv);
    }
    std::stable_sort(invoices.begin(), invoices.end(), [](const Invoice& a, const Invoice& b) {
        return a.day != b.day ? a.day < b.day : a.minute < b.minute;
    });

    const std::vector<std::string> days = day_labels();
    WeightedTable packs;
    for (const auto& [size, weight] : pack_sizes) packs.add(static_cast<std::uint64_t>(weight));

    out.reserve(out.size() + static_cast<std::size_t>(lines) * 88);
    std::string prefix;  // "invoice," for the current invoice
    std::string suffix;  // ",date,"... pieces shared by its lines
    for (std::size_t n = 0; n < invoices.size(); ++n) {
        if ((n & 0x3FFF) == 0) check_cancel();
        const Invoice& inv = invoices[n];
        SplitMix64 line_rng(inv.seed);
        const Customer* who = inv.customer >= 0 ? &customers[static_cast<std::size_t>(inv.customer)] : nullptr;
        const std::string_view country = who ? countries[who->country].name : std::string_view("United Kingdom");

        prefix.clear();
        if (inv.is_return) prefix.push_back('C');
        append_int(prefix, 536365 + static_cast<long long>(n));
        prefix.push_back(',');
        std::string when = days[static_cast<std::size_t>(inv.day)] + " ";
        append_two_digits(when, inv.minute / 60);
        when.push_back(':');
        append_two_digits(when, inv.minute % 60);
        when += ":00";
        suffix.clear();
        if (who) append_int(suffix, who->id);
        suffix.push_back(',');
        suffix.append(country);
        suffix.push_back('\n');

        const bool charge_line = !inv.is_return && line_rng.chance(70000);
        for (int l = 0; l < inv.lines; ++l) {
            out += prefix;
            long long quantity;
            int price;
            if (charge_line && l == 0) {
                const bool abroad = country != "United Kingdom";
                if (abroad || line_rng.chance(300000)) {
                    out += "POST,POSTAGE,";
                    quantity = line_rng.between(1, 3);
                    price = abroad ? 1800 : 1500;
                } else {
                    out += "M,Manual,";
                    quantity = 1;
                    price = price_points[line_rng.below(std::size(price_points))];
                    price *= line_rng.between(1, 4);
                }
            } else {
                std::size_t p;
                if (who && line_rng.chance(550000))
                    p = who->favourites[line_rng.below(who->favourites.size())];
                else
                    p = popularity.sample(line_rng);
                const Product& product = products[p];
                out += product.code;
                out.push_back(',');
                out += product.description;
                out.push_back(',');
                quantity = pack_sizes[packs.sample(line_rng)].first;
                price = product.price_pence;
                if (quantity >= 24) price = (price * 85 + 50) / 100;  // wholesale price break
                if (inv.is_return) quantity = -std::min<long long>(quantity, line_rng.between(1, 12));
                else if (line_rng.chance(500)) price = 0;  // free samples and goodwill
            }
            append_int(out, quantity);
            out.push_back(',');
            out += when;
            out.push_back(',');
            append_price(out, price);
            out.push_back(',');
            out += suffix;
        }
    }
    return out;
}

}  // namespace salesflow::ingest

// Header mapping, date-order inference, row validation and business rules for
// uploaded invoice lines; the contract is in invoice.hpp.
//
// Header names are compared after normalisation (lower-case ASCII, only
// letters and digits kept), so "Invoice No.", "invoice_no" and "INVOICENO"
// are the same column. Three sources decide which column feeds a field, in
// this order: the explicit `mapping` option, the preset (recognised from the
// headers when not given), then the generic aliases below. Two columns
// claiming one field through the aliases is an error the user resolves with
// `mapping`; we never pick one silently.
//
// Preset column names were taken from the exporters' own field labels:
// Shopify's orders export (Name, Email, Created at, Lineitem quantity/name/
// price/sku, Billing Name/City/Country, Vendor; order-level values are only on
// an order's first row, so they are filled down within an order) and the
// "Advanced Order Export For WooCommerce" plugin's defaults (Order Number,
// Order Date, Email (Billing), SKU, Item Name, Quantity, Item Cost, Order Line
// Total, City (Billing), Country Code (Billing)). Shopify's "Total" is the
// order total, not the line's, so the shopify preset never maps line_total.
#include "core/ingest/invoice.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/common/cancel.hpp"
#include "core/ingest/csv.hpp"
#include "core/ingest/encoding.hpp"

namespace salesflow::ingest {
namespace {

constexpr std::size_t max_report_bytes = 4096;  // PostgreSQL-bound reject texts
constexpr std::size_t max_quoted_value = 200;   // a value quoted inside a reason
constexpr double max_abs_quantity = 1e7;
constexpr double max_abs_price = 1e9;
constexpr double max_abs_line_total = 1e15;
constexpr int cancel_check_interval = 16384;

constexpr std::array<const char*, field_count> field_names = {
    "invoice", "customer", "customer_name", "sku", "description", "quantity", "unit_price",
    "invoiced_at", "line_total", "category", "brand", "city", "country", "location"};

// Words for fields in sentences.
constexpr std::array<const char*, field_count> field_words = {
    "invoice", "customer", "customer name", "sku", "description", "quantity", "unit price",
    "invoice date", "line total", "category", "brand", "city", "country", "location"};

std::size_t index(Field f) noexcept { return static_cast<std::size_t>(f); }

char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper_ascii(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Lower-case ASCII letters and digits only; bytes >= 0x80 (letters of other
// scripts, in UTF-8) are kept as they are.
std::string normalise_header(std::string_view header) {
    std::string out;
    out.reserve(header.size());
    for (char c : header) {
        const unsigned char u = static_cast<unsigned char>(c);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || u >= 0x80)
            out.push_back(c);
        else if (c >= 'A' && c <= 'Z')
            out.push_back(lower_ascii(c));
    }
    return out;
}

// ---------------------------------------------------------------- aliases

// tier orders the candidates of one field: for customer, an id column (0)
// beats an e-mail column (1); a name column goes to customer_name and
// becomes the customer only when there is neither.
struct Alias {
    const char* header;
    Field field;
    int tier;
};

constexpr Alias generic_aliases[] = {
    {"InvoiceNo", Field::invoice, 0}, {"Invoice", Field::invoice, 0}, {"Invoice ID", Field::invoice, 0},
    {"Invoice Number", Field::invoice, 0}, {"Invoice Num", Field::invoice, 0}, {"Order ID", Field::invoice, 0},
    {"Order Number", Field::invoice, 0}, {"Order No", Field::invoice, 0}, {"Order #", Field::invoice, 0},
    {"Order Num", Field::invoice, 0}, {"Receipt No", Field::invoice, 0}, {"Receipt Number", Field::invoice, 0},
    {"Transaction ID", Field::invoice, 0},

    {"CustomerID", Field::customer, 0}, {"Customer", Field::customer, 0}, {"Customer No", Field::customer, 0},
    {"Customer Number", Field::customer, 0}, {"Customer Code", Field::customer, 0}, {"Cust ID", Field::customer, 0},
    {"Client", Field::customer, 0}, {"Client ID", Field::customer, 0}, {"Store", Field::customer, 0},
    {"Store ID", Field::customer, 0}, {"Buyer ID", Field::customer, 0}, {"Customer User ID", Field::customer, 0},
    {"Account ID", Field::customer, 0},
    {"Email", Field::customer, 1}, {"Customer Email", Field::customer, 1}, {"Email Address", Field::customer, 1},
    {"Billing Email", Field::customer, 1}, {"Email (Billing)", Field::customer, 1},

    {"Customer Name", Field::customer_name, 0}, {"Client Name", Field::customer_name, 0},
    {"Store Name", Field::customer_name, 0}, {"Buyer Name", Field::customer_name, 0},
    {"Billing Name", Field::customer_name, 0}, {"Full Name (Billing)", Field::customer_name, 0},

    {"StockCode", Field::sku, 0}, {"SKU", Field::sku, 0}, {"Product ID", Field::sku, 0},
    {"Product Code", Field::sku, 0}, {"Item Code", Field::sku, 0}, {"Item ID", Field::sku, 0},
    {"Item No", Field::sku, 0}, {"Item Number", Field::sku, 0}, {"Article Number", Field::sku, 0},
    {"Lineitem sku", Field::sku, 0}, {"Product SKU", Field::sku, 0}, {"Variant SKU", Field::sku, 0},

    {"Description", Field::description, 0}, {"Item Name", Field::description, 0},
    {"Product Name", Field::description, 0}, {"Product", Field::description, 0}, {"Item", Field::description, 0},
    {"Lineitem name", Field::description, 0}, {"Product Description", Field::description, 0},
    {"Item Description", Field::description, 0}, {"Product Title", Field::description, 0},

    {"Quantity", Field::quantity, 0}, {"Qty", Field::quantity, 0}, {"Units", Field::quantity, 0},
    {"Lineitem quantity", Field::quantity, 0}, {"Quantity Ordered", Field::quantity, 0},
    {"Qty Ordered", Field::quantity, 0}, {"Units Sold", Field::quantity, 0},

    {"UnitPrice", Field::unit_price, 0}, {"Price", Field::unit_price, 0}, {"Lineitem price", Field::unit_price, 0},
    {"Item Cost", Field::unit_price, 0}, {"Item Price", Field::unit_price, 0}, {"Price Each", Field::unit_price, 0},
    {"Price Per Unit", Field::unit_price, 0}, {"Sale Price", Field::unit_price, 0},

    {"InvoiceDate", Field::invoiced_at, 0}, {"Invoiced At", Field::invoiced_at, 0}, {"Date", Field::invoiced_at, 0}, {"Order Date", Field::invoiced_at, 0},
    {"Created At", Field::invoiced_at, 0}, {"Timestamp", Field::invoiced_at, 0}, {"Paid At", Field::invoiced_at, 0},
    {"Datetime", Field::invoiced_at, 0}, {"Transaction Date", Field::invoiced_at, 0},
    {"Sale Date", Field::invoiced_at, 0}, {"Purchase Date", Field::invoiced_at, 0},
    {"Order Datetime", Field::invoiced_at, 0},

    {"Total", Field::line_total, 0}, {"Line Total", Field::line_total, 0}, {"Amount", Field::line_total, 0},
    {"Line Amount", Field::line_total, 0}, {"Item Total", Field::line_total, 0},
    {"Total Price", Field::line_total, 0}, {"Line Value", Field::line_total, 0},
    {"Extended Price", Field::line_total, 0},

    {"Category", Field::category, 0}, {"Product Category", Field::category, 0},
    {"Item Category", Field::category, 0}, {"Department", Field::category, 0},
    {"Product Group", Field::category, 0}, {"Product Type", Field::category, 0},

    {"Brand", Field::brand, 0}, {"Vendor", Field::brand, 0}, {"Manufacturer", Field::brand, 0},

    {"City", Field::city, 0}, {"Billing City", Field::city, 0}, {"City (Billing)", Field::city, 0},
    {"Town", Field::city, 0}, {"Customer City", Field::city, 0},

    {"Country", Field::country, 0}, {"Billing Country", Field::country, 0}, {"Country Code", Field::country, 0},
    {"Country (Billing)", Field::country, 0}, {"Country Code (Billing)", Field::country, 0},
    {"Customer Country", Field::country, 0}, {"Country Name", Field::country, 0},

    // ("Store" alone stays the customer: in wholesale files the stores are the buyers.)
    {"Location", Field::location, 0}, {"Location Name", Field::location, 0}, {"Location ID", Field::location, 0},
    {"Store Location", Field::location, 0}, {"Warehouse", Field::location, 0}, {"Warehouse Code", Field::location, 0},
    {"Branch", Field::location, 0}, {"Outlet", Field::location, 0}, {"Depot", Field::location, 0},
};

const std::unordered_map<std::string, const Alias*>& alias_index() {
    static const std::unordered_map<std::string, const Alias*> index = [] {
        std::unordered_map<std::string, const Alias*> m;
        for (const Alias& a : generic_aliases) m.emplace(normalise_header(a.header), &a);
        return m;
    }();
    return index;
}

// A preset lists, per field, the headers to use in order of preference. A
// field listed with no header is never mapped by aliases under this preset.
struct PresetField {
    Field field;
    std::vector<const char*> headers;
};
struct Preset {
    const char* name;
    std::vector<PresetField> fields;
    bool fill_down_order_fields;  // order-level values only on an order's first row
};

const std::vector<Preset>& presets() {
    static const std::vector<Preset> all = {
        {"online_retail",
         {{Field::invoice, {"InvoiceNo", "Invoice"}},
          {Field::sku, {"StockCode"}},
          {Field::description, {"Description"}},
          {Field::quantity, {"Quantity"}},
          {Field::invoiced_at, {"InvoiceDate"}},
          {Field::unit_price, {"UnitPrice", "Price"}},
          {Field::customer, {"CustomerID", "Customer ID"}},
          {Field::country, {"Country"}},
          {Field::line_total, {}}},
         false},
        {"woocommerce",
         {{Field::invoice, {"Order Number", "Order ID"}},
          {Field::invoiced_at, {"Order Date", "Paid Date"}},
          // Guests have no user id (WooCommerce writes 0), but every order has
          // a billing e-mail: it identifies guests and members alike.
          {Field::customer, {"Email (Billing)", "Customer User Email", "Customer User ID", "Customer Username"}},
          {Field::customer_name, {"Full Name (Billing)", "Company (Billing)"}},
          {Field::sku, {"SKU"}},
          {Field::description, {"Item Name", "Product Name", "Name"}},
          {Field::quantity, {"Quantity"}},
          {Field::unit_price, {"Item Cost"}},
          {Field::line_total, {"Order Line Total", "Order Line (w/o tax)"}},
          {Field::category, {"Category"}},
          {Field::city, {"City (Billing)"}},
          {Field::country, {"Country Code (Billing)", "Country Name (Billing)"}}},
         false},
        {"shopify",
         {{Field::invoice, {"Name"}},
          {Field::customer, {"Email"}},
          {Field::customer_name, {"Billing Name"}},
          {Field::invoiced_at, {"Created at"}},
          {Field::quantity, {"Lineitem quantity"}},
          {Field::description, {"Lineitem name"}},
          {Field::unit_price, {"Lineitem price"}},
          {Field::sku, {"Lineitem sku"}},
          {Field::city, {"Billing City"}},
          {Field::country, {"Billing Country"}},
          {Field::brand, {"Vendor"}},
          {Field::location, {"Location"}},
          {Field::line_total, {}}},
         true},
    };
    return all;
}

const Preset* find_preset(std::string_view name) {
    for (const Preset& p : presets())
        if (name == p.name) return &p;
    return nullptr;
}

// Recognises an export by headers no hand-made file would combine.
const Preset* recognise_preset(const std::vector<std::string>& normalised) {
    auto has = [&](const char* h) {
        return std::find(normalised.begin(), normalised.end(), h) != normalised.end();
    };
    if (has("name") && has("lineitemquantity") && has("lineitemname") && has("createdat"))
        return find_preset("shopify");
    if (has("ordernumber") && has("itemcost") && (has("emailbilling") || has("citybilling") || has("countrycodebilling")))
        return find_preset("woocommerce");
    return nullptr;
}

std::string join_headers(const std::vector<std::string>& headers) {
    std::string out;
    const std::size_t shown = std::min<std::size_t>(headers.size(), 40);
    for (std::size_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        out += headers[i].empty() ? std::string("(empty)") : headers[i];
    }
    if (shown < headers.size()) out += ", ... (" + std::to_string(headers.size()) + " in all)";
    if (headers.empty()) out = "(none)";
    return out;
}

std::string accepted_names(Field f) {
    std::string out;
    for (const Alias& a : generic_aliases) {
        if (a.field != f) continue;
        if (!out.empty()) out += ", ";
        out += a.header;
    }
    return out;
}

// Which column (index into the header) feeds each field; -1 when none.
struct ColumnMap {
    std::array<int, field_count> column;
    bool fill_down = false;
    std::string preset;
};

ColumnMap map_columns(const std::vector<std::string>& headers, const ParseOptions& options) {
    ColumnMap map;
    map.column.fill(-1);
    std::vector<std::string> normalised;
    normalised.reserve(headers.size());
    for (const std::string& h : headers) normalised.push_back(normalise_header(h));
    std::vector<bool> taken(headers.size(), false);
    std::array<bool, field_count> settled{};  // decided by mapping or preset (possibly "unmapped")

    // 1. Explicit mapping.
    std::array<bool, field_count> explicitly{};
    for (const auto& [field, header] : options.mapping) {
        const std::size_t f = index(field);
        if (explicitly[f])
            throw std::invalid_argument(std::string("field ") + field_names[f] + " is given twice in the mapping");
        explicitly[f] = true;
        settled[f] = true;
        const std::string wanted = std::string(trim(header));
        if (wanted.empty()) continue;  // explicitly unmapped
        int found = -1;
        for (std::size_t i = 0; i < headers.size() && found < 0; ++i)
            if (headers[i] == wanted) found = static_cast<int>(i);
        const std::string wanted_norm = normalise_header(wanted);
        for (std::size_t i = 0; i < headers.size() && found < 0; ++i)
            if (!wanted_norm.empty() && normalised[i] == wanted_norm) found = static_cast<int>(i);
        if (found < 0)
            throw std::invalid_argument(printable_text(
                std::string("mapping for field ") + field_names[f] + " names column \"" + wanted +
                    "\", which is not in the file; headers found: " + join_headers(headers),
                max_report_bytes));
        map.column[f] = found;
        taken[static_cast<std::size_t>(found)] = true;
    }

    // 2. Preset, given or recognised.
    const Preset* preset = nullptr;
    if (!options.preset.empty()) {
        preset = find_preset(options.preset);
        if (preset == nullptr)
            throw std::invalid_argument(printable_text(
                "unknown preset \"" + options.preset + "\"; expected online_retail, woocommerce or shopify",
                max_report_bytes));
    } else {
        preset = recognise_preset(normalised);
    }
    if (preset != nullptr) {
        map.preset = preset->name;
        map.fill_down = preset->fill_down_order_fields;
        for (const PresetField& pf : preset->fields) {
            const std::size_t f = index(pf.field);
            if (settled[f]) continue;
            settled[f] = true;
            for (const char* candidate : pf.headers) {
                const std::string norm = normalise_header(candidate);
                for (std::size_t i = 0; i < headers.size(); ++i) {
                    if (!taken[i] && normalised[i] == norm) {
                        map.column[f] = static_cast<int>(i);
                        taken[i] = true;
                        break;
                    }
                }
                if (map.column[f] >= 0) break;
            }
        }
    }

    // 3. Generic aliases for the fields still open.
    const auto& aliases = alias_index();
    std::array<int, field_count> best_tier;
    best_tier.fill(1 << 30);
    std::array<std::vector<std::size_t>, field_count> claims;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (taken[i] || normalised[i].empty()) continue;
        const auto it = aliases.find(normalised[i]);
        if (it == aliases.end()) continue;
        const std::size_t f = index(it->second->field);
        if (settled[f]) continue;
        const int tier = it->second->tier;
        if (tier < best_tier[f]) {
            best_tier[f] = tier;
            claims[f].clear();
        }
        if (tier == best_tier[f]) claims[f].push_back(i);
    }
    for (std::size_t f = 0; f < field_count; ++f) {
        if (claims[f].empty()) continue;
        if (claims[f].size() > 1)
            throw std::invalid_argument(printable_text(
                "columns \"" + headers[claims[f][0]] + "\" and \"" + headers[claims[f][1]] +
                    "\" both map to field " + field_names[f] + "; choose one with the mapping option",
                max_report_bytes));
        map.column[f] = static_cast<int>(claims[f][0]);
    }
    // A customer name is the customer when nothing identifies customers
    // better (unless the mapping said to leave customers out).
    if (map.column[index(Field::customer)] < 0 && !explicitly[index(Field::customer)])
        map.column[index(Field::customer)] = map.column[index(Field::customer_name)];
    return map;
}

void require_columns(const ColumnMap& map, const std::vector<std::string>& headers) {
    auto has = [&](Field f) { return map.column[index(f)] >= 0; };
    auto missing = [&](std::string what, std::string names) {
        throw std::invalid_argument(printable_text(
            "required column " + what + " not found; headers found: " + join_headers(headers) +
                "; accepted names: " + names + " (or name the column with the mapping option)",
            max_report_bytes));
    };
    for (Field f : {Field::invoice, Field::invoiced_at, Field::quantity})
        if (!has(f)) missing(std::string("\"") + field_names[index(f)] + "\"", accepted_names(f));
    if (!has(Field::sku) && !has(Field::description))
        missing("\"sku\" or \"description\"", accepted_names(Field::sku) + "; " + accepted_names(Field::description));
    if (!has(Field::unit_price) && !has(Field::line_total))
        missing("\"unit_price\" or \"line_total\"",
                accepted_names(Field::unit_price) + "; " + accepted_names(Field::line_total));
}

// ---------------------------------------------------------------- identity

// Word-at-a-time multiply-xorshift hash with explicit little-endian loads,
// finished with the splitmix64 finaliser: the same bytes give the same key on
// every platform and compiler.
struct KeyHasher {
    std::uint64_t h = 0x5A1E5F10A7C0FFEEULL;

    static std::uint64_t mix(std::uint64_t x) noexcept {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBULL;
        x ^= x >> 31;
        return x;
    }
    static std::uint64_t load_little_endian(const unsigned char* p) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
#else
        std::uint64_t w = 0;
        for (int b = 7; b >= 0; --b) w = (w << 8) | p[b];
        return w;
#endif
    }
    void add_word(std::uint64_t w) noexcept {
        h ^= w;
        h *= 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    void add_bytes(std::string_view s) noexcept {
        add_word(s.size());  // length first, so field boundaries cannot shift
        const auto* p = reinterpret_cast<const unsigned char*>(s.data());
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) add_word(load_little_endian(p + i));
        std::uint64_t tail = 0;
        for (std::size_t b = s.size(); b > i; --b) tail = (tail << 8) | p[b - 1];
        if (i < s.size()) add_word(tail);
    }
    void add_double(double d) noexcept {
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);  // IEEE 754 binary64
        add_word(bits);
    }
    std::uint64_t finish() const noexcept { return mix(h); }
};

// Counts how often each key has been seen so far (open addressing; keys are
// already well mixed). Key and count share a slot so a probe costs one cache
// miss: at a million lines the table is far larger than the cache.
class OccurrenceCounter {
public:
    explicit OccurrenceCounter(std::size_t expected) {
        std::size_t capacity = 16;
        while (capacity < expected * 2) capacity <<= 1;
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
    }
    void prefetch(std::uint64_t key) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(&slots_[static_cast<std::size_t>(key) & mask_], 1);
#else
        (void)key;
#endif
    }
    std::int32_t next(std::uint64_t key) {
        std::size_t i = static_cast<std::size_t>(key) & mask_;
        while (slots_[i].count != 0 && slots_[i].key != key) i = (i + 1) & mask_;
        slots_[i].key = key;
        return ++slots_[i].count;
    }

private:
    struct Slot {
        std::uint64_t key = 0;
        std::int32_t count = 0;  // 0 = empty
    };
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

// ---------------------------------------------------------------- rules

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
    return true;
}

// Stock codes of lines that are not goods, from the UCI Online Retail data
// (POST postage, DOT dotcom postage, M manual, BANK CHARGES, C2 carriage,
// AMAZONFEE, CRUK commission, D discount, S samples, PADS, B bad-debt
// adjustment) and its 2009-2011 sequel (ADJUST, ADJUST2).
constexpr std::string_view non_product_skus[] = {
    "POST", "DOT", "M", "BANK CHARGES", "C2", "AMAZONFEE", "CRUK", "D", "S", "PADS", "B", "ADJUST", "ADJUST2"};

// A description is a non-product line when every word is in `service_words`
// and at least one is in `charge_words`: "Next Day Carriage" and "POSTAGE"
// are charges, "FRENCH CARRIAGE LANTERN" is a product.
constexpr std::string_view charge_words[] = {
    "postage", "carriage", "shipping", "delivery", "freight", "courier", "manual", "adjustment", "adjust",
    "discount", "fee", "fees", "commission", "charge", "charges", "surcharge", "samples", "handling"};
constexpr std::string_view service_words[] = {
    "next", "day", "bank", "amazon", "dotcom", "cruk", "bad", "debt", "express", "standard", "international",
    "uk", "eu", "and", "of", "the", "for", "cost", "costs", "service", "payment", "card", "credit", "processing",
    "paypal", "order", "flat", "rate", "tracked", "priority"};

bool in_list(std::string_view word, const std::string_view* begin, const std::string_view* end) {
    return std::any_of(begin, end, [&](std::string_view w) { return w == word; });
}

// Bit (length, first letter) is set when some vocabulary word has that length
// and initial: most product descriptions fail this test on their first word,
// which keeps the check cheap for a million lines.
struct VocabularyFilter {
    std::array<std::uint32_t, 24> initials_by_length{};
    VocabularyFilter() {
        for (std::string_view w : charge_words) add(w);
        for (std::string_view w : service_words) add(w);
    }
    void add(std::string_view w) { initials_by_length[w.size()] |= 1u << (w[0] - 'a'); }
    bool may_contain(const char* word, std::size_t len) const {
        return len < initials_by_length.size() && (initials_by_length[len] >> (word[0] - 'a') & 1u) != 0;
    }
};

}  // namespace

bool is_non_product(std::string_view sku, std::string_view description) noexcept {
    static const VocabularyFilter vocabulary;
    sku = trim(sku);
    // All listed codes start with a letter; most real codes start with a digit.
    if (!sku.empty() && !(sku[0] >= '0' && sku[0] <= '9')) {
        for (std::string_view code : non_product_skus)
            if (iequals(sku, code)) return true;
        if (sku.size() > 5 && iequals(sku.substr(0, 5), "gift_")) return true;  // gift vouchers
    }

    auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    bool any_charge = false;
    std::size_t i = 0;
    char word[24];
    while (i < description.size()) {
        while (i < description.size() && !is_letter(description[i])) {
            if (static_cast<unsigned char>(description[i]) >= 0x80) return false;  // not our vocabulary
            ++i;
        }
        std::size_t len = 0;
        while (i < description.size() && is_letter(description[i])) {
            if (len == sizeof word) return false;
            word[len++] = lower_ascii(description[i++]);
        }
        if (len == 0) break;
        if (!vocabulary.may_contain(word, len)) return false;
        const std::string_view w(word, len);
        if (in_list(w, std::begin(charge_words), std::end(charge_words)))
            any_charge = true;
        else if (!in_list(w, std::begin(service_words), std::end(service_words)))
            return false;
    }
    return any_charge;
}

std::string sku_from_description(std::string_view description) {
    std::string out;
    out.reserve(description.size());
    bool pending_space = false;
    for (char c : trim(description)) {
        if (is_space(c)) {
            pending_space = true;
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(upper_ascii(c));
    }
    if (out.size() <= 64) return out;
    KeyHasher hasher;
    hasher.add_bytes(out);
    const std::uint64_t h = hasher.finish();
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string shortened(cut_utf8(out, 47));
    shortened.push_back('~');
    for (int shift = 60; shift >= 0; shift -= 4) shortened.push_back(hex[(h >> shift) & 0xF]);
    return shortened;
}

std::uint64_t invoice_content_key(const InvoiceLine& line) noexcept {
    KeyHasher hasher;
    hasher.add_bytes(line.invoice);
    hasher.add_bytes(line.customer);
    hasher.add_bytes(line.sku);
    hasher.add_bytes(line.description);
    hasher.add_double(line.quantity + 0.0);
    hasher.add_double(line.unit_price + 0.0);
    hasher.add_word(static_cast<std::uint64_t>(line.invoiced_at_us));
    return hasher.finish();
}

const char* field_name(Field field) noexcept { return field_names[index(field)]; }

std::optional<Field> field_from_name(std::string_view name) noexcept {
    for (std::size_t f = 0; f < field_count; ++f)
        if (iequals(name, field_names[f])) return static_cast<Field>(f);
    // Also "unit price", "Unit-Price", ...
    std::string wanted;
    for (char c : name)
        if (std::isalnum(static_cast<unsigned char>(c))) wanted.push_back(lower_ascii(c));
    for (std::size_t f = 0; f < field_count; ++f) {
        std::string candidate;
        for (const char* p = field_names[f]; *p; ++p)
            if (*p != '_') candidate.push_back(*p);
        if (!wanted.empty() && wanted == candidate) return static_cast<Field>(f);
    }
    return std::nullopt;
}

const char* encoding_name(Encoding encoding) noexcept {
    switch (encoding) {
        case Encoding::automatic: return "automatic";
        case Encoding::utf8: return "utf8";
        case Encoding::win1252: return "win1252";
        case Encoding::latin1: return "latin1";
    }
    return "automatic";
}

std::optional<Encoding> encoding_from_name(std::string_view name) noexcept {
    std::string n;
    for (char c : name)
        if (std::isalnum(static_cast<unsigned char>(c))) n.push_back(lower_ascii(c));
    if (n == "automatic" || n == "auto" || n.empty()) return Encoding::automatic;
    if (n == "utf8") return Encoding::utf8;
    if (n == "win1252" || n == "windows1252" || n == "cp1252") return Encoding::win1252;
    if (n == "latin1" || n == "iso88591") return Encoding::latin1;
    return std::nullopt;
}

const char* date_order_name(DateOrder order) noexcept {
    switch (order) {
        case DateOrder::automatic: return "automatic";
        case DateOrder::dmy: return "dmy";
        case DateOrder::mdy: return "mdy";
        case DateOrder::ymd: return "ymd";
    }
    return "automatic";
}

std::optional<DateOrder> date_order_from_name(std::string_view name) noexcept {
    if (iequals(name, "automatic") || iequals(name, "auto") || name.empty()) return DateOrder::automatic;
    if (iequals(name, "dmy")) return DateOrder::dmy;
    if (iequals(name, "mdy")) return DateOrder::mdy;
    if (iequals(name, "ymd")) return DateOrder::ymd;
    return std::nullopt;
}

namespace {

std::string quoted(std::string_view value) {
    std::string out = "'";
    const std::string_view cut = cut_utf8(value, max_quoted_value);
    out += cut;
    if (cut.size() < value.size()) out += "...";
    out += "'";
    return out;
}

// One row's field values, whichever path it came from.
struct RowValues {
    std::int64_t line_no = 0;
    std::array<std::string_view, field_count> value{};  // "" when absent
};

// A line whose date awaits the column's day/month order.
struct PendingDate {
    std::size_t line_index;
    DateReading reading;
    std::string text;
    std::string_view raw;  // CSV path: the record, a view of the decoded input
    std::size_t source;    // staging path: the row index
};

// Validation shared by the CSV and the staging-table paths: turns one row's
// field texts into an InvoiceLine or a Reject, and at the end settles what
// needs the whole input (the date order, identities).
class RowValidator {
public:
    RowValidator(const ParseOptions& options, ParseResult& result, std::array<std::string, field_count> labels,
                 bool fill_down)
        : options_(options), result_(result), labels_(std::move(labels)), fill_down_(fill_down) {
        keys_.reserve(result.lines.capacity());
    }

    void reject(std::int64_t line_no, std::string_view column, std::string_view value, std::string_view raw,
                const std::string& reason) {
        Reject r;
        r.line_no = line_no;
        r.column = printable_text(column, max_report_bytes);
        r.value = printable_text(value, max_report_bytes);
        r.raw_line = printable_text(raw, max_report_bytes);
        r.reason = printable_text(reason, max_report_bytes);
        ++result_.rejected;
        if (sink_ != nullptr)
            (*sink_)(r);
        else
            result_.rejects.push_back(std::move(r));
    }

    // Rejects go to the caller's sink instead of result.rejects (CSV path).
    void stream_rejects_to(const std::function<void(const Reject&)>* sink) { sink_ = sink; }

    void field_reject(std::int64_t line_no, Field f, std::string_view value, std::string_view raw,
                      const std::string& reason) {
        reject(line_no, labels_[index(f)], value, raw, reason);
    }

    // Returns false when the number made the line a reject.
    bool read_amount(const RowValues& row, Field f, std::string_view raw, double limit, double& out) {
        const std::string_view text = row.value[index(f)];
        const ParsedNumber n = parse_number(text, options_.decimal);
        const char* word = field_words[index(f)];
        if (n.error == NumberError::empty) {
            field_reject(row.line_no, f, text, raw, std::string(word) + " is empty");
            return false;
        }
        if (n.error != NumberError::none) {
            field_reject(row.line_no, f, text, raw, std::string(word) + " " + quoted(trim(text)) + " " + describe(n.error));
            return false;
        }
        if (std::fabs(n.value) > limit) {
            char limit_text[32];
            std::snprintf(limit_text, sizeof limit_text, "%.0f", limit);
            field_reject(row.line_no, f, text, raw,
                         std::string(word) + " " + quoted(trim(text)) + " is implausibly large (more than " +
                             limit_text + " in absolute value)");
            return false;
        }
        out = n.value;
        return true;
    }

    void validate(RowValues row, std::string_view raw, std::size_t source) {
        // raw is only read when the line is rejected.
        if (fill_down_) fill_down(row);
        std::array<std::string_view, field_count> trimmed;
        for (std::size_t f = 0; f < field_count; ++f) trimmed[f] = trim(row.value[f]);
        auto text = [&](Field f) { return trimmed[index(f)]; };
        const auto line_no = row.line_no;

        const std::string_view invoice = text(Field::invoice);
        if (invoice.empty()) return field_reject(line_no, Field::invoice, "", raw, "invoice is empty");

        double quantity = 0;
        if (!read_amount(row, Field::quantity, raw, max_abs_quantity, quantity)) return;
        if (quantity == 0) return field_reject(line_no, Field::quantity, row.value[index(Field::quantity)], raw, "quantity is zero");

        const bool has_price = !text(Field::unit_price).empty();
        const bool has_total = !text(Field::line_total).empty();
        double unit_price = 0, line_total = 0;
        if (has_price && !read_amount(row, Field::unit_price, raw, max_abs_price, unit_price)) return;
        if (has_total && !read_amount(row, Field::line_total, raw, max_abs_line_total, line_total)) return;
        if (!has_price && !has_total) {
            const Field f = labels_[index(Field::unit_price)].empty() ? Field::line_total : Field::unit_price;
            return field_reject(line_no, f, "", raw, "unit price and line total are both empty");
        }
        if (!has_price) unit_price = line_total / quantity;
        if (!has_total) line_total = quantity * unit_price;

        const std::string_view date_text = text(Field::invoiced_at);
        const DateReading reading = read_date(date_text);
        std::int64_t invoiced_at = 0;
        bool deferred = false;
        switch (reading.status) {
            case DateReading::Status::empty:
                return field_reject(line_no, Field::invoiced_at, "", raw, "invoice date is empty");
            case DateReading::Status::unrecognised:
                return field_reject(line_no, Field::invoiced_at, date_text, raw,
                                    "date " + quoted(date_text) +
                                        " is not a recognised date (use YYYY-MM-DD, DD/MM/YYYY or MM/DD/YYYY, "
                                        "optionally with HH:MM[:SS])");
            case DateReading::Status::bad_time:
                return field_reject(line_no, Field::invoiced_at, date_text, raw,
                                    "date " + quoted(date_text) + " has an invalid time of day");
            case DateReading::Status::ok:
                break;
        }
        if (reading.order_dependent && options_.date_order == DateOrder::automatic) {
            deferred = true;
            note_evidence(reading, date_text, line_no);
        } else {
            const ResolvedDate resolved = resolve_date(reading, options_.date_order);
            if (resolved.error != DateError::none)
                return field_reject(line_no, Field::invoiced_at, date_text, raw, date_problem(date_text, resolved.error));
            invoiced_at = resolved.us_since_2000;
        }

        const std::string_view sku = text(Field::sku);
        const std::string_view description = text(Field::description);
        if (sku.empty() && description.empty()) {
            const Field f = labels_[index(Field::sku)].empty() ? Field::description : Field::sku;
            return field_reject(line_no, f, "", raw, "sku and description are both empty");
        }
        for (const Field key : {Field::invoice, Field::customer, Field::sku, Field::location}) {
            if (text(key).size() > max_key_bytes)
                return field_reject(line_no, key, text(key), raw,
                                    std::string(field_words[index(key)]) + " is longer than " +
                                        std::to_string(max_key_bytes) + " bytes (" + std::to_string(text(key).size()) +
                                        " bytes)");
        }

        // Strings are constructed, not assigned: construction takes the
        // cheaper path in libstdc++ and this runs a million times per upload.
        InvoiceLine& line = result_.lines.emplace_back();
        line.line_no = line_no;
        line.invoice = std::string(invoice);
        line.customer = std::string(text(Field::customer));
        if (const std::string_view name = text(Field::customer_name); !name.empty()) line.customer_name = std::string(name);
        line.sku = sku.empty() ? sku_from_description(description) : std::string(sku);
        line.description = std::string(description);
        if (const std::string_view v = text(Field::category); !v.empty()) line.category = std::string(v);
        if (const std::string_view v = text(Field::brand); !v.empty()) line.brand = std::string(v);
        if (const std::string_view v = text(Field::city); !v.empty()) line.city = std::string(v);
        line.country = std::string(text(Field::country));
        if (const std::string_view v = text(Field::location); !v.empty()) line.location = std::string(v);
        line.quantity = quantity;
        line.unit_price = unit_price + 0.0;
        line.line_total = line_total + 0.0;
        line.invoiced_at_us = invoiced_at;
        line.is_return = quantity < 0 || (invoice.size() >= 2 && (invoice[0] == 'C' || invoice[0] == 'c') &&
                                          invoice[1] >= '0' && invoice[1] <= '9');
        line.non_product = is_non_product(line.sku, description);
        line.zero_price = unit_price == 0;
        // The identity is hashed now, while the line's text is in cache; a
        // deferred date is patched in (and the key recomputed) by finish().
        line.content_key = deferred ? 0 : invoice_content_key(line);
        keys_.push_back(line.content_key);
        if (deferred) pending_.push_back({result_.lines.size() - 1, reading, std::string(date_text), raw, source});
    }

    // Decides the column's order, resolves deferred dates, removes lines whose
    // date turned out not to exist, and assigns identities. raw_of(PendingDate)
    // gives the raw record of a deferred line.
    template <typename RawOf>
    void finish(const RawOf& raw_of) {
        DateOrder order = options_.date_order;
        result_.date_order_ambiguous = false;
        if (order == DateOrder::automatic) {
            if (!day_first_example_.empty() && !month_first_example_.empty())
                throw std::invalid_argument(printable_text(
                    "column \"" + labels_[index(Field::invoiced_at)] + "\" mixes day-first dates (e.g. " +
                        quoted(day_first_example_) + " on line " + std::to_string(day_first_line_) +
                        ") and month-first dates (e.g. " + quoted(month_first_example_) + " on line " +
                        std::to_string(month_first_line_) + "); pass date_order dmy or mdy",
                    max_report_bytes));
            if (!month_first_example_.empty()) {
                order = DateOrder::mdy;
            } else if (!day_first_example_.empty()) {
                order = DateOrder::dmy;
            } else if (!pending_.empty()) {
                order = DateOrder::dmy;
                result_.date_order_ambiguous = true;
            } else {
                order = DateOrder::ymd;  // nothing depended on the order
            }
        }
        result_.date_order = order;

        if (!pending_.empty()) {
            std::vector<bool> drop;
            for (const PendingDate& p : pending_) {
                const ResolvedDate resolved = resolve_date(p.reading, order);
                InvoiceLine& line = result_.lines[p.line_index];
                if (resolved.error == DateError::none) {
                    line.invoiced_at_us = resolved.us_since_2000;
                    line.content_key = invoice_content_key(line);
                    keys_[p.line_index] = line.content_key;
                    continue;
                }
                if (drop.empty()) drop.assign(result_.lines.size(), false);
                drop[p.line_index] = true;
                field_reject(line.line_no, Field::invoiced_at, p.text, raw_of(p),
                             date_problem(p.text, resolved.error));
            }
            if (!drop.empty()) {
                std::size_t kept = 0;
                for (std::size_t i = 0; i < result_.lines.size(); ++i)
                    if (!drop[i]) {
                        if (kept != i) {
                            result_.lines[kept] = std::move(result_.lines[i]);
                            keys_[kept] = keys_[i];
                        }
                        ++kept;
                    }
                result_.lines.resize(kept);
                keys_.resize(kept);
            }
        }
        // Deferred date rejects (and staging rows in any order) arrive late.
        std::stable_sort(result_.rejects.begin(), result_.rejects.end(),
                         [](const Reject& a, const Reject& b) { return a.line_no < b.line_no; });

        // Keys first, then counting with the table slot of a line a few
        // places ahead already requested: the table outgrows the cache, and
        // overlapping those misses halves this step.
        std::vector<InvoiceLine>& lines = result_.lines;
        OccurrenceCounter counter(lines.size());
        constexpr std::size_t lookahead = 16;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (i + lookahead < keys_.size()) counter.prefetch(keys_[i + lookahead]);
            lines[i].occurrence = counter.next(keys_[i]);
        }
    }

private:
    static std::string date_problem(std::string_view text, DateError error) {
        switch (error) {
            case DateError::does_not_exist: return "date " + quoted(text) + " does not exist";
            case DateError::out_of_range: return "date " + quoted(text) + " is outside the years 1900 to 2200";
            case DateError::not_in_order: return "date " + quoted(text) + " is not in year-month-day order";
            case DateError::none: break;
        }
        return "date " + quoted(text) + " is not valid";
    }

    void note_evidence(const DateReading& reading, std::string_view text, std::int64_t line_no) {
        switch (order_evidence(reading)) {
            case OrderEvidence::day_first:
                if (day_first_example_.empty()) {
                    day_first_example_.assign(text);
                    day_first_line_ = line_no;
                }
                break;
            case OrderEvidence::month_first:
                if (month_first_example_.empty()) {
                    month_first_example_.assign(text);
                    month_first_line_ = line_no;
                }
                break;
            case OrderEvidence::none:
                break;
        }
    }

    // Shopify writes order-level values only on an order's first row.
    void fill_down(RowValues& row) {
        static constexpr Field order_fields[] = {Field::customer, Field::customer_name, Field::invoiced_at,
                                                 Field::city, Field::country, Field::location};
        const std::string_view invoice = trim(row.value[index(Field::invoice)]);
        const bool same_order = !invoice.empty() && invoice == previous_invoice_;
        if (!same_order) previous_invoice_.assign(invoice);
        for (Field f : order_fields) {
            std::string& kept = previous_[index(f)];
            if (trim(row.value[index(f)]).empty()) {
                if (same_order) row.value[index(f)] = kept;
            } else {
                kept.assign(row.value[index(f)]);
            }
            if (!same_order && trim(row.value[index(f)]).empty()) kept.clear();
        }
    }

    const ParseOptions& options_;
    ParseResult& result_;
    std::array<std::string, field_count> labels_;
    bool fill_down_;
    std::vector<PendingDate> pending_;
    std::vector<std::uint64_t> keys_;  // content keys of result_.lines, packed for the counting pass
    std::string day_first_example_, month_first_example_;
    std::int64_t day_first_line_ = 0, month_first_line_ = 0;
    std::string previous_invoice_;
    std::array<std::string, field_count> previous_;
    const std::function<void(const Reject&)>* sink_ = nullptr;
};

void check_options(const ParseOptions& options) {
    if (options.decimal != '.' && options.decimal != ',')
        throw std::invalid_argument("decimal must be '.' or ','");
    if (options.delimiter != 0 && !is_supported_delimiter(options.delimiter))
        throw std::invalid_argument("delimiter must be one of ',', ';', tab or '|'");
    if (options.max_field_bytes == 0 || options.max_field_bytes > max_field_bytes_limit)
        throw std::invalid_argument("max_field_bytes must be between 1 and " + std::to_string(max_field_bytes_limit));
}

bool all_blank(const std::vector<std::string_view>& fields) {
    return std::all_of(fields.begin(), fields.end(), [](std::string_view f) { return trim(f).empty(); });
}

// Asks the kernel to back a large buffer we are about to fill with huge pages:
// a million invoice lines are ~350 MB, and faulting that in 4 kB pages costs
// a fifth of the parse. Only advice; without Linux (or THP) nothing happens.
void advise_huge_pages(const void* data, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t huge = 2u << 20;
    if (bytes < 4 * huge) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)data;
    (void)bytes;
#endif
}

std::size_t count_newlines(std::string_view text) {
    std::size_t n = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr) {
        ++n;
        ++p;
    }
    return n;
}

}  // namespace

ParseResult parse_invoice_csv(std::string_view bytes, const ParseOptions& options) {
    check_options(options);
    ParseResult result;

    if (bytes.size() >= 2 && ((static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xFE) ||
                              (static_cast<unsigned char>(bytes[0]) == 0xFE && static_cast<unsigned char>(bytes[1]) == 0xFF)))
        throw std::invalid_argument("file is UTF-16 encoded; save it as CSV UTF-8 (or Windows-1252) and upload again");

    const bool had_bom = strip_utf8_bom(bytes).size() != bytes.size();
    const std::string_view text = strip_utf8_bom(bytes);

    // Decode. A file that announces UTF-8 with a BOM but has a few broken
    // bytes is treated as UTF-8 with bad lines, not re-read as Windows-1252
    // (which would garble every accented letter of the good lines).
    std::string decoded;
    std::string_view work = text;
    bool check_utf8_per_record = false;
    switch (options.encoding) {
        case Encoding::automatic:
            if (is_valid_utf8(text)) {
                result.encoding = Encoding::utf8;
            } else if (had_bom) {
                result.encoding = Encoding::utf8;
                check_utf8_per_record = true;
            } else {
                result.encoding = Encoding::win1252;
                decoded = win1252_to_utf8(text);
                work = decoded;
            }
            break;
        case Encoding::utf8:
            result.encoding = Encoding::utf8;
            check_utf8_per_record = true;
            break;
        case Encoding::win1252:
            result.encoding = Encoding::win1252;
            decoded = win1252_to_utf8(text);
            work = decoded;
            break;
        case Encoding::latin1:
            result.encoding = Encoding::latin1;
            decoded = latin1_to_utf8(text);
            work = decoded;
            break;
    }

    if (std::all_of(work.begin(), work.end(), [](char c) { return is_space(c); }))
        throw std::invalid_argument("file is empty");

    result.delimiter = options.delimiter != 0 ? options.delimiter : detect_delimiter(work);
    CsvReader reader(work, result.delimiter);
    CsvRecord record;
    bool have_header = false;
    while (reader.next(record)) {
        if (!record.unterminated_quote && all_blank(record.fields)) continue;
        have_header = true;
        break;
    }
    if (!have_header) throw std::invalid_argument("file is empty");
    if (record.unterminated_quote)
        throw std::invalid_argument("the header line (line " + std::to_string(record.line_no) +
                                    ") has a quote that is never closed");

    result.headers.reserve(record.fields.size());
    for (std::string_view h : record.fields) result.headers.push_back(printable_text(trim(h), max_report_bytes));
    std::size_t expected_fields = result.headers.size();
    while (expected_fields > 0 && result.headers[expected_fields - 1].empty()) --expected_fields;

    const ColumnMap map = map_columns(result.headers, options);
    require_columns(map, result.headers);
    result.preset = map.preset;
    std::array<std::string, field_count> labels;
    for (std::size_t f = 0; f < field_count; ++f) {
        if (map.column[f] < 0) continue;
        labels[f] = result.headers[static_cast<std::size_t>(map.column[f])];
        result.columns_used.emplace_back(static_cast<Field>(f), labels[f]);
    }

    result.lines.reserve(count_newlines(work) + 1);
    advise_huge_pages(result.lines.data(), result.lines.capacity() * sizeof(InvoiceLine));
    RowValidator validator(options, result, labels, map.fill_down);
    if (options.on_reject) validator.stream_rejects_to(&options.on_reject);
    RowValues row;

    while (reader.next(record)) {
        if (!record.unterminated_quote && all_blank(record.fields)) continue;
        ++result.records;
        if (result.records % cancel_check_interval == 0) check_cancel();
        const std::int64_t line_no = record.line_no;
        const std::string_view raw = record.raw;

        if (record.unterminated_quote) {
            validator.reject(line_no, "", "", raw,
                             "unterminated quoted field starting on line " + std::to_string(line_no) +
                                 ": the closing quote is missing, so the rest of the file was read as part of this line");
            continue;
        }
        if (const std::size_t nul = raw.find('\0'); nul != std::string_view::npos) {
            validator.reject(line_no, "", "", raw, "line contains a NUL byte at byte " + std::to_string(nul + 1));
            continue;
        }
        if (check_utf8_per_record) {
            if (const std::size_t bad = find_invalid_utf8(raw); bad != no_position) {
                validator.reject(line_no, "", "", raw,
                                 "invalid UTF-8 byte sequence at byte " + std::to_string(bad + 1));
                continue;
            }
        }
        const std::size_t found = record.fields.size();
        bool ragged = found < expected_fields;
        for (std::size_t i = expected_fields; i < found && !ragged; ++i) ragged = !trim(record.fields[i]).empty();
        if (ragged) {
            validator.reject(line_no, "", "", raw,
                             "expected " + std::to_string(expected_fields) + " fields, found " + std::to_string(found));
            continue;
        }
        bool too_long = false;
        for (std::size_t i = 0; i < found && !too_long; ++i) {
            if (record.fields[i].size() > options.max_field_bytes) {
                too_long = true;
                validator.reject(line_no, i < result.headers.size() ? result.headers[i] : std::string(),
                                 record.fields[i], raw,
                                 "field is longer than " + std::to_string(options.max_field_bytes) + " bytes");
            }
        }
        if (too_long) continue;

        row.line_no = line_no;
        for (std::size_t f = 0; f < field_count; ++f)
            row.value[f] = map.column[f] >= 0 ? record.fields[static_cast<std::size_t>(map.column[f])] : std::string_view();
        validator.validate(row, raw, 0);
    }
    validator.finish([](const PendingDate& p) { return p.raw; });
    return result;
}

namespace {

// A staging row shown as a CSV line of its non-NULL fields, in Field order.
std::string describe_row(const RawRow& row) {
    std::string out;
    bool first = true;
    for (const auto& value : row.fields) {
        if (!value) continue;
        if (!first) out.push_back(',');
        first = false;
        const bool quote = value->find_first_of(",\"\r\n") != std::string::npos;
        if (!quote) {
            out += *value;
            continue;
        }
        out.push_back('"');
        for (char c : *value) {
            if (c == '"') out.push_back('"');
            out.push_back(c);
        }
        out.push_back('"');
    }
    return out;
}

}  // namespace

ParseResult parse_invoice_rows(const std::vector<RawRow>& rows, const ParseOptions& options) {
    check_options(options);
    ParseResult result;
    result.delimiter = options.delimiter;
    result.encoding = Encoding::utf8;

    // A field is a column when some row has a value for it (NULL everywhere
    // means the app did not send it).
    ColumnMap map;
    map.column.fill(-1);
    for (std::size_t f = 0; f < field_count; ++f) {
        const bool present = std::any_of(rows.begin(), rows.end(), [&](const RawRow& r) { return r.fields[f].has_value(); });
        if (present) {
            map.column[f] = static_cast<int>(result.headers.size());
            result.headers.emplace_back(field_names[f]);
        }
    }
    if (rows.empty()) return result;
    if (map.column[index(Field::customer)] < 0) map.column[index(Field::customer)] = map.column[index(Field::customer_name)];
    require_columns(map, result.headers);
    std::array<std::string, field_count> labels;
    std::array<std::size_t, field_count> source_field{};
    for (std::size_t f = 0; f < field_count; ++f) {
        if (map.column[f] < 0) continue;
        labels[f] = result.headers[static_cast<std::size_t>(map.column[f])];
        source_field[f] = static_cast<std::size_t>(field_from_name(labels[f]).value_or(static_cast<Field>(f)));
        result.columns_used.emplace_back(static_cast<Field>(f), labels[f]);
    }
    result.preset = options.preset;
    const Preset* preset = options.preset.empty() ? nullptr : find_preset(options.preset);
    if (!options.preset.empty() && preset == nullptr)
        throw std::invalid_argument(printable_text(
            "unknown preset \"" + options.preset + "\"; expected online_retail, woocommerce or shopify",
            max_report_bytes));

    result.lines.reserve(rows.size());
    RowValidator validator(options, result, labels, preset != nullptr && preset->fill_down_order_fields);
    RowValues values;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const RawRow& row = rows[r];
        const bool blank = std::all_of(row.fields.begin(), row.fields.end(),
                                       [](const auto& v) { return !v || trim(*v).empty(); });
        if (blank) continue;
        ++result.records;
        if (result.records % cancel_check_interval == 0) check_cancel();

        bool bad = false;
        for (std::size_t f = 0; f < field_count && !bad; ++f) {
            if (!row.fields[f]) continue;
            const std::string& v = *row.fields[f];
            const char* name = field_names[f];
            if (const std::size_t nul = v.find('\0'); nul != std::string::npos) {
                validator.reject(row.line_no, name, v, describe_row(row),
                                 std::string("field ") + name + " contains a NUL byte at byte " + std::to_string(nul + 1));
                bad = true;
            } else if (const std::size_t inv = find_invalid_utf8(v); inv != no_position) {
                validator.reject(row.line_no, name, v, describe_row(row),
                                 "invalid UTF-8 byte sequence at byte " + std::to_string(inv + 1) + " of field " + name);
                bad = true;
            } else if (v.size() > options.max_field_bytes) {
                validator.reject(row.line_no, name, v, describe_row(row),
                                 "field is longer than " + std::to_string(options.max_field_bytes) + " bytes");
                bad = true;
            }
        }
        if (bad) continue;
        values.line_no = row.line_no;
        for (std::size_t f = 0; f < field_count; ++f) {
            const std::optional<std::string>* v = map.column[f] >= 0 ? &row.fields[source_field[f]] : nullptr;
            values.value[f] = v != nullptr && v->has_value() ? std::string_view(**v) : std::string_view();
        }
        // The raw line is described only when the row is rejected: describing
        // every row would cost an allocation each.
        const std::size_t before = result.rejects.size();
        validator.validate(values, std::string_view(), r);
        if (result.rejects.size() != before)
            result.rejects.back().raw_line = printable_text(describe_row(row), max_report_bytes);
    }
    validator.finish([&](const PendingDate& p) { return describe_row(rows[p.source]); });
    return result;
}

}  // namespace salesflow::ingest

// Invoice-line ingestion: from an uploaded CSV (or rows already split into
// named text fields) to validated invoice lines plus a list of rejected lines
// a person can act on.
//
// Steps: decode (UTF-8, else Windows-1252), tokenize (csv.hpp), map headers to
// fields (aliases, presets for the UCI Online Retail, WooCommerce and Shopify
// exports, explicit mapping), infer the day/month order of the date column
// from the whole column, validate each row and apply the business rules
// (returns, non-product lines, zero prices, anonymous customers), and give
// each line a content identity (content_key, occurrence) so re-uploading the
// same file is idempotent. Problems with a single line never abort the load:
// the line goes to `rejects`. Problems with the file as a whole (no header, a
// required column missing, an ambiguous mapping, a date column mixing day-first
// and month-first values) throw std::invalid_argument with a message meant
// for the user.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ingest/values.hpp"

namespace salesflow::ingest {

enum class Encoding { automatic, utf8, win1252, latin1 };

enum class Field {
    invoice, customer, customer_name, sku, description, quantity, unit_price,
    invoiced_at, line_total, category, brand, city, country, location
};
inline constexpr std::size_t field_count = 14;

const char* field_name(Field field) noexcept;               // the keys of the `mapping` option
std::optional<Field> field_from_name(std::string_view name) noexcept;
const char* encoding_name(Encoding encoding) noexcept;      // "automatic", "utf8", "win1252", "latin1"
std::optional<Encoding> encoding_from_name(std::string_view name) noexcept;
const char* date_order_name(DateOrder order) noexcept;      // "automatic", "dmy", "mdy", "ymd"
std::optional<DateOrder> date_order_from_name(std::string_view name) noexcept;

struct Reject {
    std::int64_t line_no = 0;
    std::string column;    // header text of the offending column ("" when the whole line is bad)
    std::string value;     // the offending raw value
    std::string raw_line;  // the whole raw record
    std::string reason;    // a sentence a person understands
};

// The longest invoice number, customer reference, SKU or location a line may
// carry, in bytes. These are keys of unique indexes, and PostgreSQL refuses an
// index entry above about a third of a page (2.7 kB, less if incompressible):
// a longer key rejects its line instead of aborting the upload.
inline constexpr std::size_t max_key_bytes = 256;

// The largest max_field_bytes an upload may ask for (1 MiB): a field is held
// whole while its line is parsed. salesflow._max_field_bytes_limit() in
// src/sql/10_ingest.sql says the same to the option check.
inline constexpr std::size_t max_field_bytes_limit = 1048576;

struct ParseOptions {
    char delimiter = 0;        // 0 = auto-detect among , ; \t |
    char decimal = '.';        // '.' or ','
    DateOrder date_order = DateOrder::automatic;
    Encoding encoding = Encoding::automatic;
    std::string preset;        // "", "online_retail", "woocommerce", "shopify"
    // Explicit header for a field; overrides aliases and presets. An empty
    // header means "do not map this field at all".
    std::vector<std::pair<Field, std::string>> mapping;
    std::size_t max_field_bytes = 65536;  // a longer field rejects its line
    // Where rejected lines go while parse_invoice_csv runs. Unset: they are
    // collected in ParseResult::rejects. Set: each is handed over as soon as
    // it is found and not kept, so a file of millions of bad lines needs no
    // memory per bad line (the server writes them straight to its table).
    std::function<void(const Reject&)> on_reject;
};

struct InvoiceLine {
    std::int64_t line_no = 0;  // 1-based physical line where the record starts (header is line 1)
    std::string invoice, customer, customer_name, sku, description, category, brand, city, country;
    std::string location;      // store, warehouse or branch of the sale ("" when the file has none)
    double quantity = 0, unit_price = 0, line_total = 0;  // line_total given, else quantity*unit_price
    std::int64_t invoiced_at_us = 0;  // naive local time, microseconds since 2000-01-01 00:00:00
    bool is_return = false;    // invoice 'C'/'c' + digit, or quantity < 0
    bool non_product = false;  // postage, carriage, fees, manual lines, ... (see invoice.cpp)
    bool zero_price = false;   // unit_price == 0
    std::uint64_t content_key = 0;  // hash of invoice, customer, sku, description, quantity, unit_price, invoiced_at
    std::int32_t occurrence = 0;    // 1 for the first line with this key in this input, 2 for the next, ...
};


struct ParseResult {
    std::vector<InvoiceLine> lines;
    std::vector<Reject> rejects;  // ordered by line_no (empty when ParseOptions::on_reject is set)
    std::int64_t rejected = 0;    // rejected lines, however they were delivered
    std::vector<std::string> headers;                         // as found (UTF-8)
    std::vector<std::pair<Field, std::string>> columns_used;  // which header each field came from
    char delimiter = ',';      // detected or given (parse_invoice_rows: as given, 0 if none)
    Encoding encoding = Encoding::utf8;      // detected or given (utf8 / win1252 / latin1)
    DateOrder date_order = DateOrder::dmy;   // inferred or given (never automatic)
    bool date_order_ambiguous = false;       // whole column fitted DMY and MDY; DMY was used
    std::int64_t records = 0;  // data records seen (accepted + rejected); blank lines not counted
    std::string preset;        // preset applied: as given, or recognised from the headers ("" = none)
};

ParseResult parse_invoice_csv(std::string_view bytes, const ParseOptions& options);

// Same validation for rows already split into named fields (the SQL staging
// table path). A field that is NULL in every row counts as a missing column.
struct RawRow {
    std::int64_t line_no = 0;
    std::array<std::optional<std::string>, field_count> fields;  // indexed by Field
};
ParseResult parse_invoice_rows(const std::vector<RawRow>& rows, const ParseOptions& options);

// The identity hash used for content_key (exposed for tests and for the SQL
// side, which must never recompute it differently). Version 1; changing it
// changes the identity of every stored line.
std::uint64_t invoice_content_key(const InvoiceLine& line) noexcept;

// The SKU given to a line that has a description but no SKU: the description
// with runs of white space collapsed, ASCII letters upper-cased; longer than
// 64 bytes it is cut to 47 bytes + "~" + 16 hex digits of its hash so that
// distinct long descriptions stay distinct.
std::string sku_from_description(std::string_view description);

// True for postage, carriage, bank charges, fees, manual entries, discounts
// and adjustments: by SKU code or by a description made only of such words.
bool is_non_product(std::string_view sku, std::string_view description) noexcept;

}  // namespace salesflow::ingest

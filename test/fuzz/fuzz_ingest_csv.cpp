// libFuzzer target for invoice ingestion: arbitrary bytes through
// parse_invoice_csv (options chosen by the first two bytes), through
// parse_invoice_rows (the same bytes cut into rows and fields), and through
// the number and date readers. Besides crashes and sanitizer reports it
// checks the promises the binding layer relies on: every text bound for a
// PostgreSQL text column is valid UTF-8 without NUL, reject texts stay within
// 4096 bytes, line numbers ascend, identities count up from 1, and the only
// exception is std::invalid_argument.
//
// Input layout: byte 0 = delimiter / decimal / date order / encoding,
// byte 1 = preset / field limit / mapping, the rest = the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ingest/encoding.hpp"
#include "core/ingest/invoice.hpp"
#include "core/ingest/values.hpp"

namespace {

using namespace salesflow::ingest;

[[noreturn]] void broken(const char* promise) {
    std::fprintf(stderr, "ingest fuzz: broken promise: %s\n", promise);
    std::abort();
}

void check_text(const std::string& s, bool bounded, const char* what) {
    if (!is_valid_utf8(s)) broken(what);
    if (s.find('\0') != std::string::npos) broken(what);
    if (bounded && s.size() > 4096) broken(what);
}

void check_result(const ParseResult& r) {
    for (const std::string& h : r.headers) check_text(h, true, "header text");
    for (const auto& [field, header] : r.columns_used) check_text(header, true, "column used");
    if (r.date_order == DateOrder::automatic) broken("date order decided");
    if (r.encoding == Encoding::automatic) broken("encoding decided");
    if (static_cast<std::int64_t>(r.lines.size() + r.rejects.size()) != r.records) broken("records = lines + rejects");
    std::int64_t previous = 0;
    for (const InvoiceLine& l : r.lines) {
        if (l.line_no <= previous) broken("line numbers ascend");
        previous = l.line_no;
        for (const std::string* s : {&l.invoice, &l.customer, &l.customer_name, &l.sku, &l.description, &l.category,
                                     &l.brand, &l.city, &l.country})
            check_text(*s, false, "line text");
        if (l.invoice.empty() || l.sku.empty()) broken("invoice and sku present");
        if (!(l.quantity != 0 && l.quantity <= 1e7 && l.quantity >= -1e7)) broken("quantity in range");
        if (!(l.unit_price == l.unit_price) || !(l.line_total == l.line_total)) broken("amounts are numbers");
        if (l.occurrence < 1) broken("occurrence counts from 1");
        if (l.content_key != invoice_content_key(l)) broken("content key");
    }
    previous = 0;
    for (const Reject& j : r.rejects) {
        if (j.line_no < previous) broken("rejects ordered by line");
        previous = j.line_no;
        check_text(j.column, true, "reject column");
        check_text(j.value, true, "reject value");
        check_text(j.raw_line, true, "reject raw line");
        check_text(j.reason, true, "reject reason");
        if (j.reason.empty()) broken("reject has a reason");
    }
}

ParseOptions options_from(std::uint8_t a, std::uint8_t b) {
    static constexpr char delimiters[] = {0, ',', ';', '\t', '|'};
    static const char* const presets[] = {"", "online_retail", "woocommerce", "shopify"};
    ParseOptions o;
    o.delimiter = delimiters[a % 5];
    o.decimal = (a & 0x08) ? ',' : '.';
    o.date_order = static_cast<DateOrder>((a >> 4) & 3);
    o.encoding = static_cast<Encoding>((a >> 6) & 3);
    o.preset = presets[b & 3];
    o.max_field_bytes = (b & 0x04) ? 16 : 65536;
    if (b & 0x08) o.mapping.emplace_back(Field::quantity, "q");
    if (b & 0x10) o.mapping.emplace_back(Field::line_total, "");
    return o;
}

// Rows: lines split on '\n', fields on '\x1f'; a field "\x1e" is NULL.
std::vector<RawRow> rows_from(std::string_view text) {
    std::vector<RawRow> rows;
    std::int64_t line_no = 1;
    while (!text.empty() && rows.size() < 64) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, end);
        RawRow row;
        row.line_no = ++line_no;
        for (std::size_t f = 0; f < field_count && !line.empty(); ++f) {
            const std::size_t cut = std::min(line.find('\x1f'), line.size());
            const std::string_view value = line.substr(0, cut);
            if (value != "\x1e") row.fields[f] = std::string(value);
            line.remove_prefix(std::min(cut + 1, line.size()));
        }
        rows.push_back(std::move(row));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return rows;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const ParseOptions options = options_from(data[0], data[1]);
    const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);

    try {
        check_result(parse_invoice_csv(text, options));
    } catch (const std::invalid_argument& e) {
        check_text(e.what(), false, "error message");
    }
    try {
        ParseOptions row_options = options;
        row_options.mapping.clear();
        check_result(parse_invoice_rows(rows_from(text), row_options));
    } catch (const std::invalid_argument& e) {
        check_text(e.what(), false, "error message");
    }

    const std::string_view head = text.substr(0, 64);
    const ParsedNumber n = parse_number(head, options.decimal);
    if (n.error == NumberError::none && !(n.value - n.value == 0)) broken("numbers are finite");
    const DateReading d = read_date(head);
    if (d.status == DateReading::Status::ok)
        for (DateOrder order : {DateOrder::dmy, DateOrder::mdy, DateOrder::ymd}) (void)resolve_date(d, order);
    check_text(printable_text(head, 16), true, "printable text");
    return 0;
}

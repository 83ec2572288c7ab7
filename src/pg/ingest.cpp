// Ingest bindings: invoice CSV bytes in, parsed lines and rejects out.
//
// salesflow._parse_invoices() is the one C entry point of the upload path. It
// parses and validates in the C++ core (src/core/ingest) and returns one set
// of rows: kind 'M' (one row: what was detected, as JSON), 'L' (an accepted
// line) and 'R' (a rejected line with its reason). The SQL side
// (src/sql/10_ingest.sql) stores rejects and normalises the lines.
#include "pg/pg.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "core/ingest/generator.hpp"
#include "core/ingest/invoice.hpp"
#include "core/ingest/summary.hpp"
#include "core/ingest/xlsx.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace {

namespace ingest = salesflow::ingest;

// Columns of salesflow._parsed_line, in order.
enum col {
    c_kind, c_line_no, c_invoice, c_customer, c_customer_name, c_sku, c_description, c_category, c_brand, c_city,
    c_country, c_quantity, c_unit_price, c_line_total, c_invoiced_at, c_is_return, c_non_product, c_zero_price,
    c_content_key, c_occurrence, c_reject_column, c_reject_value, c_reject_raw, c_reject_reason, c_meta, c_last_at,
    c_lines, c_first_in_invoice, c_invoice_idx, c_product_idx, c_returned_units, c_returned_revenue, c_location, n_cols
};

// Text argument as a palloc'd C string ("" for NULL): read in phase 1.
const char* optional_cstring(FunctionCallInfo fcinfo, int argno) {
    return PG_ARGISNULL(argno) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

const char* sql_encoding_name(ingest::Encoding e) {
    switch (e) {
        case ingest::Encoding::utf8: return "UTF8";
        case ingest::Encoding::win1252: return "WIN1252";
        case ingest::Encoding::latin1: return "LATIN1";
        default: return "auto";
    }
}

const char* sql_date_order_name(ingest::DateOrder d) {
    switch (d) {
        case ingest::DateOrder::dmy: return "DMY";
        case ingest::DateOrder::mdy: return "MDY";
        case ingest::DateOrder::ymd: return "YMD";
        default: return "auto";
    }
}

void append_json_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char ch : s) {
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (ch < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof buf, "\\u%04x", ch);
                    out += buf;
                } else {
                    out += static_cast<char>(ch);
                }
        }
    }
    out += '"';
}

std::string meta_json(const ingest::ParseResult& r) {
    std::string j = "{\"delimiter\": ";
    append_json_string(j, std::string(1, r.delimiter));
    j += ", \"encoding\": ";
    append_json_string(j, sql_encoding_name(r.encoding));
    j += ", \"date_order\": ";
    append_json_string(j, sql_date_order_name(r.date_order));
    j += ", \"date_order_ambiguous\": ";
    j += r.date_order_ambiguous ? "true" : "false";
    j += ", \"records\": " + std::to_string(r.records);
    std::int64_t returns = 0, non_product = 0, zero_price = 0, anonymous = 0;
    for (const ingest::InvoiceLine& l : r.lines) {
        returns += l.is_return;
        non_product += l.non_product;
        zero_price += l.zero_price;
        anonymous += l.customer.empty();
    }
    j += ", \"accepted\": " + std::to_string(r.lines.size());
    j += ", \"returns\": " + std::to_string(returns);
    j += ", \"non_product\": " + std::to_string(non_product);
    j += ", \"zero_price\": " + std::to_string(zero_price);
    j += ", \"anonymous\": " + std::to_string(anonymous);
    j += ", \"rejected\": " + std::to_string(r.rejected);
    j += ", \"headers\": [";
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
        if (i) j += ", ";
        append_json_string(j, r.headers[i]);
    }
    j += "], \"columns\": {";
    for (std::size_t i = 0; i < r.columns_used.size(); ++i) {
        if (i) j += ", ";
        append_json_string(j, ingest::field_name(r.columns_used[i].first));
        j += ": ";
        append_json_string(j, r.columns_used[i].second);
    }
    j += "}}";
    return j;
}

ingest::DateOrder parse_date_order(const std::string& s) {
    if (s.empty() || s == "auto") return ingest::DateOrder::automatic;
    if (s == "DMY" || s == "dmy") return ingest::DateOrder::dmy;
    if (s == "MDY" || s == "mdy") return ingest::DateOrder::mdy;
    if (s == "YMD" || s == "ymd") return ingest::DateOrder::ymd;
    throw std::invalid_argument("date_order must be DMY, MDY, YMD or auto, not \"" + s + "\"");
}

ingest::Encoding parse_encoding(std::string s) {
    for (char& ch : s) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    if (s.empty() || s == "AUTO") return ingest::Encoding::automatic;
    if (s == "UTF8" || s == "UTF-8") return ingest::Encoding::utf8;
    if (s == "WIN1252" || s == "WINDOWS-1252" || s == "CP1252") return ingest::Encoding::win1252;
    if (s == "LATIN1" || s == "ISO-8859-1" || s == "ISO88591") return ingest::Encoding::latin1;
    throw std::invalid_argument("encoding must be UTF8, WIN1252, LATIN1 or auto, not \"" + s + "\"");
}

char parse_single_char(const std::string& s, const char* what) {
    if (s.empty() || s == "auto") return 0;
    if (s == "\\t" || s == "tab") return '\t';
    if (s.size() != 1) throw std::invalid_argument(std::string(what) + " must be a single character, not \"" + s + "\"");
    return s[0];
}

// Column types of salesflow._parsed_line, to check a target table against.
const Oid parsed_line_types[n_cols] = {
    CHAROID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
    FLOAT8OID, FLOAT8OID, FLOAT8OID, TIMESTAMPOID, BOOLOID, BOOLOID, BOOLOID, INT8OID, INT4OID,
    TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPOID, INT8OID, BOOLOID, INT4OID, INT4OID,
    FLOAT8OID, FLOAT8OID, TEXTOID};

// The rows go either to a set-returning function's tuplestore or, for
// _parse_invoices_into, straight into a session's temp table with
// heap_insert: the upload path then skips materialising the set twice.
struct row_sink {
    salesflow::pg::srf_writer* srf = nullptr;
    Relation table = nullptr;
    BulkInsertState bulk = nullptr;
    CommandId cid = 0;
    std::int64_t rows = 0;
    void put(Datum* values, bool* nulls) {
        if (srf != nullptr) {
            srf->put(values, nulls);
        } else {
            HeapTuple tuple = heap_form_tuple(RelationGetDescr(table), values, nulls);
            heap_insert(table, tuple, cid, 0, bulk);
        }
        ++rows;
    }
};

// One 'R' row (a rejected line), built in its own short-lived context.
// PostgreSQL regime: called under pg_call.
void put_reject(row_sink& out, const ingest::Reject& r, MemoryContext context) {
    Datum values[n_cols];
    bool nulls[n_cols];
    MemoryContext old = MemoryContextSwitchTo(context);
    for (int c = 0; c < n_cols; ++c) nulls[c] = true;
    auto put_text = [&](int c, const std::string& s) {
        values[c] = PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
        nulls[c] = false;
    };
    values[c_kind] = CharGetDatum('R');
    nulls[c_kind] = false;
    values[c_line_no] = Int64GetDatum(r.line_no);
    nulls[c_line_no] = false;
    if (!r.column.empty()) put_text(c_reject_column, r.column);
    put_text(c_reject_value, r.value);
    put_text(c_reject_raw, r.raw_line);
    put_text(c_reject_reason, r.reason);
    out.put(values, nulls);
    MemoryContextSwitchTo(old);
    MemoryContextReset(context);
}

Relation open_parse_target(Oid relid) {
    Relation rel = table_open(relid, RowExclusiveLock);
    bool ok = rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP &&
              !rel->rd_rel->relhasindex && rel->trigdesc == nullptr && RelationGetDescr(rel)->natts == n_cols;
    for (int c = 0; ok && c < n_cols; ++c) {
        Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), c);
        ok = !attr->attisdropped && attr->atttypid == parsed_line_types[c];
    }
    if (!ok)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not a temporary table like salesflow._parsed_line without indexes or triggers",
                               RelationGetRelationName(rel))));
    if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied for table %s",
                                                                          RelationGetRelationName(rel))));
    return rel;
}

// Shared body of _parse_invoices (SRF) and _parse_invoices_into: the parse
// arguments start at `first`; `target` is InvalidOid for the SRF.
Datum parse_invoices(FunctionCallInfo fcinfo, int first, Oid target) {
    // Phase 1 (PostgreSQL regime): arguments.
    if (PG_ARGISNULL(first))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("upload content must not be null")));
    bytea* content = PG_GETARG_BYTEA_PP(first);
    const char* bytes = VARDATA_ANY(content);
    std::size_t nbytes = VARSIZE_ANY_EXHDR(content);
    Datum* map_fields = nullptr;
    Datum* map_headers = nullptr;
    bool* map_field_nulls = nullptr;
    bool* map_header_nulls = nullptr;
    int n_fields = 0, n_headers = 0;
    if (!PG_ARGISNULL(first + 6))
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(first + 6), TEXTOID, -1, false, TYPALIGN_INT, &map_fields, &map_field_nulls,
                          &n_fields);
    if (!PG_ARGISNULL(first + 7))
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(first + 7), TEXTOID, -1, false, TYPALIGN_INT, &map_headers,
                          &map_header_nulls, &n_headers);
    if (n_fields != n_headers)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("mapping fields and headers differ in length")));
    const char** map_field_names = static_cast<const char**>(palloc0(sizeof(char*) * (n_fields + 1)));
    const char** map_header_names = static_cast<const char**>(palloc0(sizeof(char*) * (n_fields + 1)));
    for (int i = 0; i < n_fields; ++i) {
        if (map_field_nulls[i] || map_header_nulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("mapping entries must not be null")));
        map_field_names[i] = TextDatumGetCString(map_fields[i]);
        map_header_names[i] = TextDatumGetCString(map_headers[i]);
    }
    int max_field_bytes = PG_ARGISNULL(first + 8) ? 65536 : PG_GETARG_INT32(first + 8);
    const char* arg_delimiter = optional_cstring(fcinfo, first + 1);
    const char* arg_decimal = optional_cstring(fcinfo, first + 2);
    const char* arg_date_order = optional_cstring(fcinfo, first + 3);
    const char* arg_encoding = optional_cstring(fcinfo, first + 4);
    const char* arg_preset = optional_cstring(fcinfo, first + 5);
    salesflow::pg::srf_writer srf{nullptr};
    row_sink out;
    MemoryContext reject_context =
        AllocSetContextCreate(CurrentMemoryContext, "salesflow parse rejects", ALLOCSET_SMALL_SIZES);
    if (OidIsValid(target)) {
        out.table = open_parse_target(target);
        out.bulk = GetBulkInsertState();
        out.cid = GetCurrentCommandId(true);
    } else {
        srf = salesflow::pg::begin_srf(fcinfo);
        out.srf = &srf;
    }

    // Phase 2 (C++ regime): options and parse.
    ingest::ParseOptions options;
    options.delimiter = parse_single_char(arg_delimiter, "delimiter");
    char decimal = parse_single_char(arg_decimal, "decimal");
    options.decimal = decimal == 0 ? '.' : decimal;
    if (options.decimal != '.' && options.decimal != ',')
        throw std::invalid_argument("decimal must be \".\" or \",\"");
    options.date_order = parse_date_order(arg_date_order);
    options.encoding = parse_encoding(arg_encoding);
    options.preset = arg_preset;
    if (max_field_bytes < 16 || static_cast<std::size_t>(max_field_bytes) > ingest::max_field_bytes_limit)
        throw std::invalid_argument("max_field_bytes must be between 16 and " +
                                    std::to_string(ingest::max_field_bytes_limit));
    options.max_field_bytes = static_cast<std::size_t>(max_field_bytes);
    for (int i = 0; i < n_fields; ++i) {
        std::string field(map_field_names[i]);
        auto which = ingest::field_from_name(field);
        if (!which)
            throw std::invalid_argument("unknown field \"" + field +
                                        "\" in mapping (fields: invoice, customer, customer_name, sku, description, "
                                        "quantity, unit_price, invoiced_at, line_total, category, brand, city, country, "
                                        "location)");
        options.mapping.emplace_back(*which, std::string(map_header_names[i]));
    }
    // Rejected lines are written out as the parser finds them, so memory does
    // not grow with the number of bad lines.
    options.on_reject = [&](const ingest::Reject& r) {
        salesflow::pg::pg_call([&] { put_reject(out, r, reject_context); });
    };
    ingest::ParseResult parsed = ingest::parse_invoice_csv(std::string_view(bytes, nbytes), options);
    std::string meta = meta_json(parsed);
    ingest::LineSummaries summaries = ingest::summarise_lines(parsed.lines);

    // Phase 3: rows out. PostgreSQL calls run under pg_call because the
    // parse result (C++ containers) is alive.
    salesflow::pg::pg_call([&] {
        Datum values[n_cols];
        bool nulls[n_cols];
        auto put_text = [&](int c, const std::string& s) {
            values[c] = PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
            nulls[c] = false;
        };
        auto put_opt_text = [&](int c, const std::string& s) {
            if (s.empty()) {
                nulls[c] = true;
                values[c] = (Datum) 0;
            } else {
                put_text(c, s);
            }
        };
        MemoryContext row_context =
            AllocSetContextCreate(CurrentMemoryContext, "salesflow parse rows", ALLOCSET_DEFAULT_SIZES);
        MemoryContext old = MemoryContextSwitchTo(row_context);

        for (int c = 0; c < n_cols; ++c) nulls[c] = true;
        values[c_kind] = CharGetDatum('M');
        nulls[c_kind] = false;
        values[c_meta] = DirectFunctionCall1(jsonb_in, CStringGetDatum(meta.c_str()));
        nulls[c_meta] = false;
        out.put(values, nulls);
        MemoryContextReset(row_context);

        std::size_t emitted = 0;
        // Accepted lines carry only what invoice_items and sales_daily need;
        // names and other texts travel once per entity in the C/P/I rows.
        for (const ingest::InvoiceLine& l : parsed.lines) {
            for (int c = 0; c < n_cols; ++c) nulls[c] = true;
            values[c_kind] = CharGetDatum('L');
            values[c_line_no] = Int64GetDatum(l.line_no);
            values[c_quantity] = Float8GetDatum(l.quantity);
            values[c_unit_price] = Float8GetDatum(l.unit_price);
            values[c_line_total] = Float8GetDatum(l.line_total);
            values[c_is_return] = BoolGetDatum(l.is_return);
            values[c_non_product] = BoolGetDatum(l.non_product);
            values[c_zero_price] = BoolGetDatum(l.zero_price);
            values[c_content_key] = Int64GetDatum(static_cast<std::int64_t>(l.content_key));
            values[c_occurrence] = Int32GetDatum(l.occurrence);
            values[c_first_in_invoice] = BoolGetDatum(summaries.first_of_sku_in_invoice[emitted]);
            values[c_invoice_idx] = Int32GetDatum(summaries.invoice_index[emitted]);
            values[c_product_idx] = Int32GetDatum(summaries.product_index[emitted]);
            for (int c : {c_kind, c_line_no, c_quantity, c_unit_price, c_line_total, c_is_return, c_non_product,
                          c_zero_price, c_content_key, c_occurrence, c_first_in_invoice, c_invoice_idx, c_product_idx})
                nulls[c] = false;
            if (!l.location.empty()) put_text(c_location, l.location);
            out.put(values, nulls);
            MemoryContextReset(row_context);
            if ((++emitted & 0x3fff) == 0) CHECK_FOR_INTERRUPTS();
        }
        for (const ingest::CustomerSummary& cs : summaries.customers) {
            for (int c = 0; c < n_cols; ++c) nulls[c] = true;
            values[c_kind] = CharGetDatum('C');
            nulls[c_kind] = false;
            put_text(c_customer, cs.ref);
            put_opt_text(c_customer_name, cs.name);
            put_opt_text(c_city, cs.city);
            put_opt_text(c_country, cs.country);
            values[c_invoiced_at] = TimestampGetDatum(static_cast<Timestamp>(cs.first_at_us));
            values[c_last_at] = TimestampGetDatum(static_cast<Timestamp>(cs.last_at_us));
            nulls[c_invoiced_at] = nulls[c_last_at] = false;
            out.put(values, nulls);
            MemoryContextReset(row_context);
        }
        std::int32_t product_idx = 0;
        for (const ingest::ProductSummary& ps : summaries.products) {
            for (int c = 0; c < n_cols; ++c) nulls[c] = true;
            values[c_product_idx] = Int32GetDatum(product_idx++);
            nulls[c_product_idx] = false;
            values[c_kind] = CharGetDatum('P');
            nulls[c_kind] = false;
            put_text(c_sku, ps.sku);
            put_opt_text(c_description, ps.description);
            put_opt_text(c_category, ps.category);
            put_opt_text(c_brand, ps.brand);
            values[c_unit_price] = Float8GetDatum(ps.last_price);
            values[c_non_product] = BoolGetDatum(ps.non_product);
            values[c_invoiced_at] = TimestampGetDatum(static_cast<Timestamp>(ps.first_at_us));
            values[c_last_at] = TimestampGetDatum(static_cast<Timestamp>(ps.last_at_us));
            nulls[c_unit_price] = nulls[c_non_product] = nulls[c_invoiced_at] = nulls[c_last_at] = false;
            out.put(values, nulls);
            MemoryContextReset(row_context);
        }
        std::int32_t invoice_idx = 0;
        for (const ingest::InvoiceSummary& is : summaries.invoices) {
            for (int c = 0; c < n_cols; ++c) nulls[c] = true;
            values[c_invoice_idx] = Int32GetDatum(invoice_idx++);
            nulls[c_invoice_idx] = false;
            values[c_kind] = CharGetDatum('I');
            nulls[c_kind] = false;
            put_text(c_invoice, is.invoice);
            put_text(c_customer, is.customer);
            values[c_invoiced_at] = TimestampGetDatum(static_cast<Timestamp>(is.at_us));
            values[c_is_return] = BoolGetDatum(is.is_return);
            values[c_lines] = Int64GetDatum(is.lines);
            values[c_line_total] = Float8GetDatum(is.total);
            nulls[c_invoiced_at] = nulls[c_is_return] = nulls[c_lines] = nulls[c_line_total] = false;
            out.put(values, nulls);
            MemoryContextReset(row_context);
        }
        for (const ingest::DailySummary& d : summaries.daily) {
            for (int c = 0; c < n_cols; ++c) nulls[c] = true;
            values[c_kind] = CharGetDatum('D');
            values[c_product_idx] = Int32GetDatum(d.product_index);
            values[c_invoiced_at] = TimestampGetDatum(static_cast<Timestamp>(d.day) * USECS_PER_DAY);
            values[c_quantity] = Float8GetDatum(d.units);
            values[c_line_total] = Float8GetDatum(d.revenue);
            values[c_lines] = Int64GetDatum(d.orders);
            values[c_returned_units] = Float8GetDatum(d.returned_units);
            values[c_returned_revenue] = Float8GetDatum(d.returned_revenue);
            for (int c : {c_kind, c_product_idx, c_invoiced_at, c_quantity, c_line_total, c_lines, c_returned_units,
                          c_returned_revenue})
                nulls[c] = false;
            out.put(values, nulls);
            MemoryContextReset(row_context);
        }
        for (const ingest::Reject& r : parsed.rejects) put_reject(out, r, reject_context);  // none: streamed
        MemoryContextSwitchTo(old);
        MemoryContextDelete(row_context);
        MemoryContextDelete(reject_context);
        if (out.table != nullptr) {
            FreeBulkInsertState(out.bulk);
            table_close(out.table, NoLock);
        }
    });
    return OidIsValid(target) ? Int64GetDatum(out.rows) : (Datum) 0;
}

}  // namespace

// salesflow._parse_invoices(content bytea, delimiter text, decimal_sep text,
//   date_order text, encoding text, preset text, mapping_fields text[],
//   mapping_headers text[], max_field_bytes int) RETURNS SETOF salesflow._parsed_line
SF_FUNCTION(sf_parse_invoices) { return parse_invoices(fcinfo, 0, InvalidOid); }

// salesflow._parse_invoices_into(target regclass, <the same arguments>) RETURNS bigint:
// the rows go into a temporary table shaped like salesflow._parsed_line.
SF_FUNCTION(sf_parse_invoices_into) {
    if (PG_ARGISNULL(0)) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("target must not be null")));
    return parse_invoices(fcinfo, 1, PG_GETARG_OID(0));
}

// salesflow.generate_demo_csv(lines bigint, seed bigint) RETURNS bytea
SF_FUNCTION(sf_generate_demo_csv) {
    std::int64_t lines = PG_GETARG_INT64(0);
    std::int64_t seed = PG_GETARG_INT64(1);
    if (lines < 0 || lines > ingest::max_demo_lines)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("lines must be between 0 and %lld", static_cast<long long>(ingest::max_demo_lines))));
    bytea* result = nullptr;
    {
        std::string csv = ingest::generate_invoice_csv(lines, static_cast<std::uint64_t>(seed));
        result = salesflow::pg::bytea_from(csv);
    }
    PG_RETURN_BYTEA_P(result);
}

// salesflow._xlsx_to_csv(content bytea, sheet text, decimal_sep text) RETURNS bytea:
// the chosen sheet of an Excel workbook as the CSV the invoice parser reads
// (row n on line n). A damaged or non-workbook file is 22P04.
SF_FUNCTION(sf_xlsx_to_csv) {
    if (PG_ARGISNULL(0))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("upload content must not be null")));
    bytea* content = PG_GETARG_BYTEA_PP(0);
    const char* sheet = optional_cstring(fcinfo, 1);
    const char* decimal = optional_cstring(fcinfo, 2);
    bytea* result = nullptr;
    {
        ingest::XlsxOptions options;
        options.sheet = sheet;
        char d = parse_single_char(decimal, "decimal");
        options.decimal = d == 0 ? '.' : d;
        std::string csv;
        try {
            csv = ingest::xlsx_to_csv(std::string_view(VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content)), options);
        } catch (const ingest::bad_workbook& e) {
            throw salesflow::pg::sql_error(ERRCODE_BAD_COPY_FILE_FORMAT, e.what());
        }
        result = salesflow::pg::bytea_from(csv);
    }
    PG_RETURN_BYTEA_P(result);
}

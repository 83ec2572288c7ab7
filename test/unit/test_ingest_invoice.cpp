// Tests of invoice-line ingestion: header mapping (aliases, presets, explicit
// mapping and its errors), encodings, date-order inference, row validation,
// business rules, line identity, and the staging-table path.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/ingest/encoding.hpp"
#include "core/ingest/invoice.hpp"

namespace {

using namespace salesflow::ingest;

const std::string uci_header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

ParseResult parse(const std::string& csv, ParseOptions options = {}) { return parse_invoice_csv(csv, options); }

std::string error_of(const std::string& csv, ParseOptions options = {}) {
    try {
        parse_invoice_csv(csv, options);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

std::string column_for(const ParseResult& r, Field f) {
    for (const auto& [field, header] : r.columns_used)
        if (field == f) return header;
    return "(unmapped)";
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ------------------------------------------------------------ header mapping

TEST(IngestHeaders, FieldNamesRoundTrip) {
    for (int f = 0; f < static_cast<int>(field_count); ++f) {
        const Field field = static_cast<Field>(f);
        EXPECT_EQ(field_from_name(field_name(field)), field);
    }
    EXPECT_EQ(field_from_name("Unit Price"), Field::unit_price);
    EXPECT_FALSE(field_from_name("colour").has_value());
}

TEST(IngestHeaders, EveryAliasFamilyMaps) {
    struct Case {
        Field field;
        std::vector<std::string> aliases;
    };
    const std::vector<Case> cases = {
        {Field::invoice, {"InvoiceNo", "invoice", "invoice_id", "Invoice Number", "Order ID", "Order Number",
                          "Order #", "order", "order_no", "Invoice No."}},
        {Field::customer, {"CustomerID", "customer", "customer_id", "store", "store_id", "client", "Customer ID"}},
        {Field::sku, {"StockCode", "SKU", "product_id", "product code", "item code", "Lineitem sku"}},
        {Field::description, {"Description", "item_name", "Product Name", "product", "item", "Lineitem name"}},
        {Field::quantity, {"Quantity", "qty", "units", "Lineitem quantity", "QTY"}},
        {Field::unit_price, {"UnitPrice", "price", "unit price", "Lineitem price", "Item Cost", "UNIT_PRICE"}},
        {Field::invoiced_at, {"InvoiceDate", "date", "Order Date", "Created At", "order_date", "timestamp", "Paid at"}},
    };
    const std::vector<std::string> standard = {"InvoiceNo", "StockCode", "Description", "Quantity",
                                               "InvoiceDate", "UnitPrice", "CustomerID", "Country"};
    auto standard_column = [](Field f) {
        switch (f) {
            case Field::invoice: return 0;
            case Field::sku: return 1;
            case Field::description: return 2;
            case Field::quantity: return 3;
            case Field::invoiced_at: return 4;
            case Field::unit_price: return 5;
            case Field::customer: return 6;
            default: return 7;
        }
    };
    for (const Case& c : cases) {
        for (const std::string& alias : c.aliases) {
            std::vector<std::string> headers = standard;
            headers[static_cast<std::size_t>(standard_column(c.field))] = alias;
            std::string csv;
            for (std::size_t i = 0; i < headers.size(); ++i) csv += (i ? "," : "") + headers[i];
            csv += "\n536365,85123A,LANTERN,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n";
            const ParseResult r = parse(csv);
            EXPECT_EQ(column_for(r, c.field), alias) << alias;
            EXPECT_EQ(r.lines.size(), 1u) << alias;
        }
    }
}

TEST(IngestHeaders, OptionalFieldsAndLineTotal) {
    const ParseResult r = parse(
        "Order Number,Date,SKU,Qty,Total,Category,Brand,City,Country\n"
        "A1,2024-01-05,X1,2,9.00,Toys,Acme,Leeds,UK\n");
    EXPECT_EQ(column_for(r, Field::line_total), "Total");
    EXPECT_EQ(column_for(r, Field::category), "Category");
    EXPECT_EQ(column_for(r, Field::brand), "Brand");
    EXPECT_EQ(column_for(r, Field::city), "City");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_DOUBLE_EQ(r.lines[0].line_total, 9.0);
    EXPECT_DOUBLE_EQ(r.lines[0].unit_price, 4.5);  // derived from the total
    EXPECT_EQ(r.lines[0].category, "Toys");
    EXPECT_EQ(r.lines[0].city, "Leeds");
}

TEST(IngestHeaders, CustomerIdBeatsCustomerName) {
    const ParseResult both = parse(
        "Invoice,Date,SKU,Qty,Price,Customer Name,Customer ID\nI1,2024-01-05,X,1,2,Corner Shop,C-7\n");
    EXPECT_EQ(column_for(both, Field::customer), "Customer ID");
    EXPECT_EQ(column_for(both, Field::customer_name), "Customer Name");
    EXPECT_EQ(both.lines[0].customer, "C-7");
    EXPECT_EQ(both.lines[0].customer_name, "Corner Shop");

    const ParseResult name_only = parse("Invoice,Date,SKU,Qty,Price,Customer Name\nI1,2024-01-05,X,1,2,Corner Shop\n");
    EXPECT_EQ(column_for(name_only, Field::customer), "Customer Name");
    EXPECT_EQ(name_only.lines[0].customer, "Corner Shop");
}

TEST(IngestHeaders, MissingRequiredColumnNamesWhatWasFound) {
    const std::string message = error_of("InvoiceNo,StockCode,InvoiceDate,UnitPrice\n1,A,2024-01-01,2\n");
    EXPECT_TRUE(contains(message, "required column \"quantity\" not found")) << message;
    EXPECT_TRUE(contains(message, "headers found: InvoiceNo, StockCode, InvoiceDate, UnitPrice")) << message;
    EXPECT_TRUE(contains(message, "Qty, Units")) << message;  // accepted aliases are listed
    const std::string price = error_of("InvoiceNo,StockCode,InvoiceDate,Quantity\n1,A,2024-01-01,2\n");
    EXPECT_TRUE(contains(price, "\"unit_price\" or \"line_total\"")) << price;
    const std::string product = error_of("InvoiceNo,Price,InvoiceDate,Quantity\n1,2,2024-01-01,2\n");
    EXPECT_TRUE(contains(product, "\"sku\" or \"description\"")) << product;
}

TEST(IngestHeaders, TwoColumnsForOneFieldIsAnErrorUnlessMapped) {
    const std::string csv = "Invoice,Date,SKU,Qty,Quantity,Price\nI1,2024-01-05,X,1,3,2\n";
    const std::string message = error_of(csv);
    EXPECT_EQ(message, "columns \"Qty\" and \"Quantity\" both map to field quantity; choose one with the mapping option");
    ParseOptions options;
    options.mapping = {{Field::quantity, "Quantity"}};
    const ParseResult r = parse(csv, options);
    EXPECT_DOUBLE_EQ(r.lines.at(0).quantity, 3);
    EXPECT_EQ(column_for(r, Field::quantity), "Quantity");
}

TEST(IngestHeaders, ExplicitMappingOverridesAndValidates) {
    ParseOptions options;
    options.mapping = {{Field::invoice, "Beleg"}, {Field::invoiced_at, "Datum"}, {Field::quantity, "Menge"},
                       {Field::description, "Artikel"}, {Field::unit_price, "Preis"}};
    options.decimal = ',';
    const ParseResult r = parse("Beleg;Datum;Artikel;Menge;Preis\nB1;15.03.2024;Tasse;2;3,50\n", options);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.delimiter, ';');
    EXPECT_DOUBLE_EQ(r.lines[0].unit_price, 3.5);
    EXPECT_EQ(r.lines[0].sku, "TASSE");  // derived from the description

    ParseOptions wrong;
    wrong.mapping = {{Field::quantity, "Amount Shipped"}};
    EXPECT_TRUE(contains(error_of(uci_header, wrong), "names column \"Amount Shipped\", which is not in the file"));

    ParseOptions unmap;  // an empty header unmaps a field
    unmap.mapping = {{Field::country, ""}};
    const ParseResult no_country = parse(uci_header + "1,A,B,1,2024-01-01,1,5,France\n", unmap);
    EXPECT_EQ(no_country.lines.at(0).country, "");
}

TEST(IngestHeaders, EmptyFileAndHeaderOnly) {
    EXPECT_EQ(error_of(""), "file is empty");
    EXPECT_EQ(error_of("\xEF\xBB\xBF\r\n\n  \n"), "file is empty");
    const ParseResult r = parse(uci_header);
    EXPECT_TRUE(r.lines.empty());
    EXPECT_TRUE(r.rejects.empty());
    EXPECT_EQ(r.records, 0);
    EXPECT_EQ(r.headers.size(), 8u);
    EXPECT_TRUE(contains(error_of(std::string("\xFF\xFE", 2) + "a"), "UTF-16"));
}

// ------------------------------------------------------------ presets

TEST(IngestPresets, OnlineRetailTwo) {
    ParseOptions options;
    options.preset = "online_retail";
    const ParseResult r = parse(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085,United Kingdom\n",
        options);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].customer, "13085");
    EXPECT_DOUBLE_EQ(r.lines[0].unit_price, 6.95);
    EXPECT_EQ(r.preset, "online_retail");
    options.preset = "magento";
    EXPECT_TRUE(contains(error_of(uci_header, options), "unknown preset"));
}

const std::string woo_export =
    "\"Order Number\",\"Order Status\",\"Order Date\",\"First Name (Billing)\",\"Company (Billing)\","
    "\"City (Billing)\",\"Country Code (Billing)\",\"Email (Billing)\",\"Item #\",SKU,\"Item Name\",Quantity,"
    "\"Item Cost\",\"Order Line Total\",\"Order Total Amount\"\n"
    "1043,completed,\"2024-02-10 14:03\",Ann,,Lyon,FR,ann@example.com,1,MUG-1,\"Mug, blue\",2,8.00,14.40,30.40\n"
    "1043,completed,\"2024-02-10 14:03\",Ann,,Lyon,FR,ann@example.com,2,,Gift card,1,16.00,16.00,30.40\n";

TEST(IngestPresets, WooCommerce) {
    for (const std::string preset : {"woocommerce", ""}) {  // given, or recognised from the headers
        ParseOptions options;
        options.preset = preset;
        const ParseResult r = parse(woo_export, options);
        EXPECT_EQ(r.preset, "woocommerce");
        ASSERT_EQ(r.lines.size(), 2u);
        EXPECT_EQ(r.lines[0].invoice, "1043");
        EXPECT_EQ(r.lines[0].customer, "ann@example.com");
        EXPECT_EQ(r.lines[0].sku, "MUG-1");
        EXPECT_EQ(r.lines[0].description, "Mug, blue");
        EXPECT_DOUBLE_EQ(r.lines[0].line_total, 14.40);  // the line's total, discount included
        EXPECT_EQ(r.lines[0].city, "Lyon");
        EXPECT_EQ(r.lines[0].country, "FR");
        EXPECT_EQ(r.lines[1].sku, "GIFT CARD");
        EXPECT_EQ(column_for(r, Field::line_total), "Order Line Total");
    }
}

const std::string shopify_export =
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing City,Billing Country,Vendor\n"
    "#1001,bo@example.com,paid,2024-05-02 10:00:00 +0200,fulfilled,EUR,59.80,5.00,0,64.80,"
    "2024-05-02 09:58:11 +0200,2,Linen apron,19.90,AP-01,Bo Berg,Uppsala,SE,Linnea\n"
    "#1001,bo@example.com,,,,,,,,,2024-05-02 09:58:11 +0200,1,Tea towel,20.00,TT-02,,,,Linnea\n";

TEST(IngestPresets, ShopifyRecognisedFilledDownAndTotalIgnored) {
    const ParseResult r = parse(shopify_export);
    EXPECT_EQ(r.preset, "shopify");
    ASSERT_EQ(r.lines.size(), 2u) << (r.rejects.empty() ? "" : r.rejects[0].reason);
    EXPECT_EQ(r.lines[0].invoice, "#1001");
    EXPECT_EQ(r.lines[0].customer, "bo@example.com");
    EXPECT_EQ(r.lines[0].customer_name, "Bo Berg");
    EXPECT_EQ(r.lines[0].brand, "Linnea");
    EXPECT_DOUBLE_EQ(r.lines[0].line_total, 2 * 19.90);  // not the order's Total
    EXPECT_EQ(column_for(r, Field::line_total), "(unmapped)");
    EXPECT_EQ(column_for(r, Field::invoiced_at), "Created at");
    EXPECT_EQ(r.lines[1].city, "Uppsala");          // filled down within the order
    EXPECT_EQ(r.lines[1].customer_name, "Bo Berg");
    EXPECT_EQ(r.lines[0].invoiced_at_us, timestamp_us(2024, 5, 2, (9 * 3600 + 58 * 60 + 11) * 1000000LL));
}

// ------------------------------------------------------------ tokenizer rules at file level

TEST(IngestRecords, RaggedRowsUnterminatedQuotesAndBlankLines) {
    const ParseResult r = parse(uci_header +
                                "1,A,Mug,1,2024-01-01,2,5,UK\n"
                                "\n"
                                "2,A,Mug,1,2024-01-01,2,5\n"              // one field short
                                "3,A,Mug,1,2024-01-01,2,5,UK,\n"          // trailing delimiter: fine
                                ",,,,,,,\n"                               // an empty spreadsheet row
                                "4,A,Mug,1,2024-01-01,2,5,UK,extra\n"     // one field too many
                                "5,A,\"Mug\n2 lines\",1,2024-01-01,2,5,UK\n"
                                "6,A,\"open,1,2024-01-01,2,5,UK\n"
                                "7,A,Mug,1,2024-01-01,2,5,UK\n");
    EXPECT_EQ(r.records, 6);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0].line_no, 2);
    EXPECT_EQ(r.lines[1].line_no, 5);
    EXPECT_EQ(r.lines[2].line_no, 8);
    EXPECT_EQ(r.lines[2].description, "Mug\n2 lines");
    ASSERT_EQ(r.rejects.size(), 3u);
    EXPECT_EQ(r.rejects[0].line_no, 4);
    EXPECT_EQ(r.rejects[0].reason, "expected 8 fields, found 7");
    EXPECT_EQ(r.rejects[0].raw_line, "2,A,Mug,1,2024-01-01,2,5");
    EXPECT_EQ(r.rejects[1].reason, "expected 8 fields, found 9");
    EXPECT_EQ(r.rejects[2].line_no, 10);
    EXPECT_TRUE(contains(r.rejects[2].reason, "unterminated quoted field starting on line 10"));
}

TEST(IngestRecords, SemicolonFileWithDecimalCommasAndCrLf) {
    ParseOptions options;
    options.decimal = ',';
    options.mapping = {{Field::invoice, "Rechnung"}, {Field::invoiced_at, "Datum"}, {Field::description, "Artikel"},
                       {Field::quantity, "Menge"}, {Field::unit_price, "Preis"}};
    const ParseResult r =
        parse("\xEF\xBB\xBFRechnung;Datum;Artikel;Menge;Preis\r\nR1;2024-03-01;Tasse;1.000;2,50\r\n", options);
    EXPECT_EQ(r.delimiter, ';');
    EXPECT_EQ(r.headers.front(), "Rechnung");  // BOM gone
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_DOUBLE_EQ(r.lines[0].quantity, 1000);
    EXPECT_DOUBLE_EQ(r.lines[0].line_total, 2500);
}

TEST(IngestRecords, OverlongFieldRejectsTheLine) {
    ParseOptions options;
    options.max_field_bytes = 10;
    const ParseResult r = parse(uci_header + "1,A,A very long description,1,2024-01-01,2,5,UK\n", options);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].column, "Description");
    EXPECT_EQ(r.rejects[0].reason, "field is longer than 10 bytes");
}

TEST(IngestRecords, OverlongKeysRejectTheLineNotTheFile) {
    // keys of unique indexes: a longer one would abort the whole upload in
    // PostgreSQL ("index row requires ... bytes"), so the line is rejected
    const std::string key(max_key_bytes + 1, 'K');
    const ParseResult r = parse(uci_header + key + ",A,Mug,1,2024-01-01,2,5,UK\n" +   // invoice
                                "2," + key + ",Mug,1,2024-01-01,2,5,UK\n" +            // sku
                                "3,A,Mug,1,2024-01-01,2," + key + ",UK\n" +            // customer
                                "4,A,Mug,1,2024-01-01,2,5,UK\n");
    ASSERT_EQ(r.rejects.size(), 3u);
    EXPECT_EQ(r.rejects[0].reason, "invoice is longer than 256 bytes (257 bytes)");
    EXPECT_EQ(r.rejects[1].reason, "sku is longer than 256 bytes (257 bytes)");
    EXPECT_EQ(r.rejects[2].reason, "customer is longer than 256 bytes (257 bytes)");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].invoice, "4");
    const std::string longest(max_key_bytes, 'K');
    EXPECT_EQ(parse(uci_header + "5," + longest + ",Mug,1,2024-01-01,2,5,UK\n").lines.size(), 1u);
}

TEST(IngestRecords, RejectsCanBeStreamedInsteadOfKept) {
    ParseOptions options;
    std::vector<std::int64_t> seen;
    options.on_reject = [&](const Reject& r) { seen.push_back(r.line_no); };
    std::string csv = uci_header;
    for (int i = 0; i < 1000; ++i) csv += "x\n";
    csv += "4,A,Mug,1,2024-01-01,2,5,UK\n";
    const ParseResult r = parse(csv, options);
    EXPECT_TRUE(r.rejects.empty());
    EXPECT_EQ(r.rejected, 1000);
    ASSERT_EQ(seen.size(), 1000u);
    EXPECT_EQ(seen.front(), 2);
    EXPECT_EQ(r.lines.size(), 1u);
}

TEST(IngestRecords, MaxFieldBytesHasALimit) {
    ParseOptions options;
    options.max_field_bytes = max_field_bytes_limit + 1;
    EXPECT_THROW(parse(uci_header + "1,A,Mug,1,2024-01-01,2,5,UK\n", options), std::invalid_argument);
}

// ------------------------------------------------------------ encodings

TEST(IngestFileEncoding, Windows1252IsDetected) {
    const ParseResult r = parse(uci_header + "1,A,Caf\xE9 \xA3" "5,1,2024-01-01,2,5,UK\n");
    EXPECT_EQ(r.encoding, Encoding::win1252);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].description, "Caf\xC3\xA9 \xC2\xA3" "5");
}

TEST(IngestFileEncoding, Utf8IsDetected) {
    const ParseResult r = parse(uci_header + "1,A,Caf\xC3\xA9,1,2024-01-01,2,5,UK\n");
    EXPECT_EQ(r.encoding, Encoding::utf8);
    EXPECT_EQ(r.lines.at(0).description, "Caf\xC3\xA9");
}

TEST(IngestFileEncoding, ExplicitUtf8RejectsOnlyBadLines) {
    ParseOptions options;
    options.encoding = Encoding::utf8;
    const ParseResult r = parse(uci_header + "1,A,Caf\xE9,1,2024-01-01,2,5,UK\n2,A,Tea,1,2024-01-01,2,5,UK\n", options);
    ASSERT_EQ(r.lines.size(), 1u);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].reason, "invalid UTF-8 byte sequence at byte 8");
    EXPECT_EQ(r.rejects[0].raw_line, "1,A,Caf\\xE9,1,2024-01-01,2,5,UK");
    EXPECT_TRUE(is_valid_utf8(r.rejects[0].raw_line));
}

TEST(IngestFileEncoding, BomMeansUtf8EvenWithABrokenLine) {
    const ParseResult r = parse("\xEF\xBB\xBF" + uci_header + "1,A,Caf\xC3\xA9,1,2024-01-01,2,5,UK\n" +
                                "2,A,Caf\xE9,1,2024-01-01,2,5,UK\n");
    EXPECT_EQ(r.encoding, Encoding::utf8);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].description, "Caf\xC3\xA9");  // not re-read as "CafÃ©"
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].line_no, 3);
}

TEST(IngestFileEncoding, Latin1AndNulBytes) {
    ParseOptions latin1;
    latin1.encoding = Encoding::latin1;
    EXPECT_EQ(parse(uci_header + "1,A,\x80" "x,1,2024-01-01,2,5,UK\n", latin1).lines.at(0).description, "\xC2\x80x");

    const ParseResult r = parse(uci_header + "1,A,T" + std::string(1, '\0') + "a,1,2024-01-01,2,5,UK\n" +
                                "2,A,Tea,1,2024-01-01,2,5,UK\n");
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].reason, "line contains a NUL byte at byte 6");
    EXPECT_EQ(r.rejects[0].raw_line.find('\0'), std::string::npos);
    EXPECT_TRUE(contains(r.rejects[0].raw_line, "\\x00"));
    EXPECT_EQ(r.lines.size(), 1u);
}

TEST(IngestFileEncoding, RejectTextsAreBounded) {
    const std::string huge(10000, 'x');
    const ParseResult r = parse(uci_header + "1,A,Mug," + huge + ",2024-01-01,2,5,UK\n");
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_LE(r.rejects[0].raw_line.size(), 4096u);
    EXPECT_LE(r.rejects[0].value.size(), 4096u);
    EXPECT_LE(r.rejects[0].reason.size(), 4096u);
    EXPECT_TRUE(contains(r.rejects[0].reason, "quantity 'xxx"));
}

// ------------------------------------------------------------ values in rows

Reject only_reject(const std::string& row, ParseOptions options = {}) {
    const ParseResult r = parse(uci_header + row + "\n", options);
    EXPECT_EQ(r.rejects.size(), 1u) << row;
    EXPECT_TRUE(r.lines.empty()) << row;
    return r.rejects.empty() ? Reject{} : r.rejects[0];
}

TEST(IngestRows, NumberRejectReasons) {
    const Reject abc = only_reject("1,A,Mug,abc,2024-01-01,2,5,UK");
    EXPECT_EQ(abc.reason, "quantity 'abc' is not a number");
    EXPECT_EQ(abc.column, "Quantity");
    EXPECT_EQ(abc.value, "abc");
    EXPECT_EQ(abc.line_no, 2);
    EXPECT_EQ(only_reject("1,A,Mug,0,2024-01-01,2,5,UK").reason, "quantity is zero");
    EXPECT_EQ(only_reject("1,A,Mug,,2024-01-01,2,5,UK").reason, "quantity is empty");
    EXPECT_EQ(only_reject("1,A,Mug,NaN,2024-01-01,2,5,UK").reason, "quantity 'NaN' is not a finite number");
    EXPECT_EQ(only_reject("1,A,Mug,1,2024-01-01,1e309,5,UK").reason, "unit price '1e309' is out of range");
    EXPECT_EQ(only_reject("1,A,Mug,20000000,2024-01-01,1,5,UK").reason,
              "quantity '20000000' is implausibly large (more than 10000000 in absolute value)");
    EXPECT_EQ(only_reject("1,A,Mug,1,2024-01-01,2e9,5,UK").column, "UnitPrice");
    EXPECT_EQ(only_reject("1,A,Mug,1,2024-01-01,,5,UK").reason, "unit price and line total are both empty");
    EXPECT_TRUE(contains(only_reject("1,A,Mug,\"1,5\",2024-01-01,2,5,UK").reason, "check the decimal option"));
}

TEST(IngestRows, AcceptedNumberForms) {
    const ParseResult r = parse(uci_header + "1,A,Mug,\" 12 \",2024-01-01,\"\xC2\xA3" "1,000\",5,UK\n");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_DOUBLE_EQ(r.lines[0].quantity, 12);
    EXPECT_DOUBLE_EQ(r.lines[0].unit_price, 1000);
    EXPECT_DOUBLE_EQ(r.lines[0].line_total, 12000);
}

TEST(IngestRows, DateRejectReasons) {
    EXPECT_EQ(only_reject("1,A,Mug,1,31/02/2024,2,5,UK").reason, "date '31/02/2024' does not exist");
    EXPECT_EQ(only_reject("1,A,Mug,1,2023-02-29,2,5,UK").reason, "date '2023-02-29' does not exist");
    EXPECT_TRUE(contains(only_reject("1,A,Mug,1,soon,2,5,UK").reason, "is not a recognised date"));
    EXPECT_EQ(only_reject("1,A,Mug,1,,2,5,UK").reason, "invoice date is empty");
    EXPECT_EQ(parse(uci_header + "1,A,Mug,1,2024-02-29,2,5,UK\n").lines.size(), 1u);
}

// ------------------------------------------------------------ date order

std::string dated(const std::vector<std::string>& dates) {
    std::string csv = uci_header;
    int n = 0;
    for (const std::string& d : dates) csv += std::to_string(++n) + ",A,Mug,1," + d + ",2,5,UK\n";
    return csv;
}

TEST(IngestDateOrder, InferredFromTheWholeColumn) {
    const ParseResult dmy = parse(dated({"01/02/2024", "03/04/2024", "25/03/2024"}));
    EXPECT_EQ(dmy.date_order, DateOrder::dmy);
    EXPECT_FALSE(dmy.date_order_ambiguous);
    EXPECT_EQ(dmy.lines.at(0).invoiced_at_us, timestamp_us(2024, 2, 1, 0));  // decided by line 4

    const ParseResult mdy = parse(dated({"01/02/2024", "03/25/2024 10:00"}));
    EXPECT_EQ(mdy.date_order, DateOrder::mdy);
    EXPECT_EQ(mdy.lines.at(0).invoiced_at_us, timestamp_us(2024, 1, 2, 0));

    const ParseResult ambiguous = parse(dated({"01/02/2024", "03/04/2024"}));
    EXPECT_EQ(ambiguous.date_order, DateOrder::dmy);
    EXPECT_TRUE(ambiguous.date_order_ambiguous);

    const ParseResult iso = parse(dated({"2024-01-02"}));
    EXPECT_EQ(iso.date_order, DateOrder::ymd);
    EXPECT_FALSE(iso.date_order_ambiguous);
}

TEST(IngestDateOrder, MixedColumnThrowsUnlessOrderGiven) {
    const std::string csv = dated({"25/03/2024", "01/02/2024", "03/25/2024"});
    const std::string message = error_of(csv);
    EXPECT_TRUE(contains(message, "mixes day-first dates (e.g. '25/03/2024' on line 2)")) << message;
    EXPECT_TRUE(contains(message, "month-first dates (e.g. '03/25/2024' on line 4)")) << message;
    EXPECT_TRUE(contains(message, "date_order")) << message;

    ParseOptions options;
    options.date_order = DateOrder::dmy;
    const ParseResult r = parse(csv, options);
    EXPECT_EQ(r.lines.size(), 2u);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].line_no, 4);
    EXPECT_EQ(r.rejects[0].reason, "date '03/25/2024' does not exist");
}

TEST(IngestDateOrder, DeferredRejectsKeepLineOrder) {
    const ParseResult r = parse(dated({"25/03/2024", "31/02/2024", "bad", "01/01/2024"}));
    ASSERT_EQ(r.rejects.size(), 2u);
    EXPECT_EQ(r.rejects[0].line_no, 3);
    EXPECT_EQ(r.rejects[0].reason, "date '31/02/2024' does not exist");
    EXPECT_EQ(r.rejects[0].raw_line, "2,A,Mug,1,31/02/2024,2,5,UK");
    EXPECT_EQ(r.rejects[1].line_no, 4);
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[1].line_no, 5);
}

// ------------------------------------------------------------ business rules

TEST(IngestRules, ReturnsNonProductZeroPriceAnonymous) {
    const ParseResult r = parse(uci_header +
                                "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n"
                                "536380,22961,JAM MAKING SET PRINTED,-24,2010-12-01 09:41:00,1.45,,United Kingdom\n"
                                "536381,POST,POSTAGE,3,2010-12-01 09:41:00,18,12583,France\n"
                                "536382,23444,Next Day Carriage,1,2010-12-01 09:41:00,15,12583,France\n"
                                "536383,23445,FRENCH CARRIAGE LANTERN,1,2010-12-01 09:41:00,0,12583,France\n"
                                "c536384,21,Mug,2,2010-12-01 09:41:00,1,12583,France\n"
                                "CA1,21,Mug,2,2010-12-01 09:41:00,1,12583,France\n");
    ASSERT_EQ(r.lines.size(), 7u);
    EXPECT_TRUE(r.lines[0].is_return);
    EXPECT_TRUE(r.lines[0].non_product);
    EXPECT_TRUE(r.lines[1].is_return);  // negative quantity, ordinary invoice number
    EXPECT_EQ(r.lines[1].customer, "");  // anonymous, kept
    EXPECT_DOUBLE_EQ(r.lines[1].line_total, -24 * 1.45);
    EXPECT_TRUE(r.lines[2].non_product);
    EXPECT_FALSE(r.lines[2].is_return);
    EXPECT_TRUE(r.lines[3].non_product);   // by description
    EXPECT_FALSE(r.lines[4].non_product);  // a lantern is a product
    EXPECT_TRUE(r.lines[4].zero_price);
    EXPECT_FALSE(r.lines[3].zero_price);
    EXPECT_TRUE(r.lines[5].is_return);     // lower-case c
    EXPECT_FALSE(r.lines[6].is_return);    // C not followed by a digit
}

TEST(IngestRules, MissingIdentifiers) {
    EXPECT_EQ(only_reject(",A,Mug,1,2024-01-01,2,5,UK").reason, "invoice is empty");
    EXPECT_EQ(only_reject("1,,,1,2024-01-01,2,5,UK").reason, "sku and description are both empty");
    const ParseResult r = parse(uci_header + "1,,  Blue   mug  ,1,2024-01-01,2,5,UK\n");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].sku, "BLUE MUG");
    EXPECT_EQ(r.lines[0].description, "Blue   mug");
    const std::string long_sku = sku_from_description(std::string(100, 'a'));
    EXPECT_EQ(long_sku.size(), 47u + 1 + 16);
    EXPECT_NE(long_sku, sku_from_description(std::string(99, 'a') + "b"));
}

TEST(IngestRules, NonProductList) {
    for (const char* sku : {"POST", "DOT", "M", "m", "BANK CHARGES", "C2", "AMAZONFEE", "CRUK", "D", "S", "PADS", "B"})
        EXPECT_TRUE(is_non_product(sku, "anything")) << sku;
    EXPECT_TRUE(is_non_product("gift_0001_20", "Dotcomgiftshop Gift Voucher"));
    EXPECT_TRUE(is_non_product("", "Shipping fee"));
    EXPECT_TRUE(is_non_product("X9", "Bank Charges"));
    EXPECT_FALSE(is_non_product("85123A", "WHITE HANGING HEART T-LIGHT HOLDER"));
    EXPECT_FALSE(is_non_product("21527", "RED RETROSPOT TRADITIONAL TEAPOT"));
    EXPECT_FALSE(is_non_product("P1", "POSTAGE STAMP ALBUM"));
}

// ------------------------------------------------------------ identity

TEST(IngestIdentity, IdenticalLinesGetSuccessiveOccurrences) {
    const std::string a = "536365,85123A,LANTERN,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n";
    const std::string b = "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n";
    const ParseResult r = parse(uci_header + a + b + a);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0].content_key, r.lines[2].content_key);  // line number is not identity
    EXPECT_NE(r.lines[0].content_key, r.lines[1].content_key);
    EXPECT_EQ(r.lines[0].occurrence, 1);
    EXPECT_EQ(r.lines[1].occurrence, 1);
    EXPECT_EQ(r.lines[2].occurrence, 2);

    // Reordering keeps the set of identities.
    const ParseResult reordered = parse(uci_header + b + a + a);
    std::set<std::pair<std::uint64_t, int>> first, second;
    for (const auto& l : r.lines) first.insert({l.content_key, l.occurrence});
    for (const auto& l : reordered.lines) second.insert({l.content_key, l.occurrence});
    EXPECT_EQ(first, second);

    // Same amount written differently, same identity; another quantity, another one.
    const ParseResult variants = parse(uci_header + a +
                                       "536365,85123A,LANTERN,6.0,2010-12-01 08:26,2.550,17850,UK\n"
                                       "536365,85123A,LANTERN,7,2010-12-01 08:26:00,2.55,17850,United Kingdom\n");
    EXPECT_EQ(variants.lines[0].content_key, variants.lines[1].content_key);
    EXPECT_NE(variants.lines[0].content_key, variants.lines[2].content_key);
}

TEST(IngestIdentity, KeyIsStableAcrossRunsAndPlatforms) {
    InvoiceLine line;
    line.invoice = "536365";
    line.customer = "17850";
    line.sku = "85123A";
    line.description = "WHITE HANGING HEART T-LIGHT HOLDER";
    line.quantity = 6;
    line.unit_price = 2.55;
    line.invoiced_at_us = timestamp_us(2010, 12, 1, (8 * 60 + 26) * 60 * 1000000LL);
    // Pinned: a change here re-identifies every stored invoice line.
    EXPECT_EQ(invoice_content_key(line), 0x3A1CC6294DBADEC9ULL);
}

// ------------------------------------------------------------ staging rows

TEST(IngestStaging, RowsAndCsvAgree) {
    const std::string csv =
        "invoice,customer,sku,description,quantity,unit_price,invoiced_at,country\n"
        "536365,17850,85123A,LANTERN,6,2.55,01/12/2010 08:26,United Kingdom\n"
        "536365,17850,85123A,LANTERN,6,2.55,01/12/2010 08:26,United Kingdom\n"
        "C536366,17850,22633,HAND WARMER,-6,1.85,25/12/2010 08:28,United Kingdom\n"
        "536367,,,BOX OF 6 MUGS,abc,4.25,02/12/2010 08:34,France\n"
        "536368,13047,POST,POSTAGE,1,18,31/02/2010 08:34,France\n"
        "536369,13047,21,,2,0,03/12/2010 08:34,\n";
    const ParseResult from_csv = parse(csv);

    std::vector<RawRow> rows;
    const std::vector<Field> order = {Field::invoice, Field::customer, Field::sku, Field::description,
                                      Field::quantity, Field::unit_price, Field::invoiced_at, Field::country};
    std::size_t start = csv.find('\n') + 1;
    std::int64_t line_no = 2;
    while (start < csv.size()) {
        const std::size_t end = csv.find('\n', start);
        const std::string line = csv.substr(start, end - start);
        RawRow row;
        row.line_no = line_no++;
        std::size_t pos = 0;
        for (Field f : order) {
            const std::size_t comma = line.find(',', pos);
            row.fields[static_cast<std::size_t>(f)] = line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            pos = comma == std::string::npos ? line.size() : comma + 1;
        }
        rows.push_back(row);
        start = end + 1;
    }
    const ParseResult from_rows = parse_invoice_rows(rows, {});

    ASSERT_EQ(from_csv.lines.size(), 4u);
    ASSERT_EQ(from_rows.lines.size(), from_csv.lines.size());
    for (std::size_t i = 0; i < from_csv.lines.size(); ++i) {
        const InvoiceLine& a = from_csv.lines[i];
        const InvoiceLine& b = from_rows.lines[i];
        EXPECT_EQ(a.line_no, b.line_no);
        EXPECT_EQ(a.invoice, b.invoice);
        EXPECT_EQ(a.customer, b.customer);
        EXPECT_EQ(a.sku, b.sku);
        EXPECT_EQ(a.description, b.description);
        EXPECT_EQ(a.quantity, b.quantity);
        EXPECT_EQ(a.unit_price, b.unit_price);
        EXPECT_EQ(a.line_total, b.line_total);
        EXPECT_EQ(a.invoiced_at_us, b.invoiced_at_us);
        EXPECT_EQ(a.is_return, b.is_return);
        EXPECT_EQ(a.non_product, b.non_product);
        EXPECT_EQ(a.zero_price, b.zero_price);
        EXPECT_EQ(a.content_key, b.content_key);
        EXPECT_EQ(a.occurrence, b.occurrence);
    }
    ASSERT_EQ(from_csv.rejects.size(), 2u);
    ASSERT_EQ(from_rows.rejects.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(from_csv.rejects[i].line_no, from_rows.rejects[i].line_no);
        EXPECT_EQ(from_csv.rejects[i].column, from_rows.rejects[i].column);
        EXPECT_EQ(from_csv.rejects[i].value, from_rows.rejects[i].value);
        EXPECT_EQ(from_csv.rejects[i].reason, from_rows.rejects[i].reason);
    }
    EXPECT_EQ(from_rows.rejects[0].raw_line, "536367,,,BOX OF 6 MUGS,abc,4.25,02/12/2010 08:34,France");
    EXPECT_EQ(from_rows.date_order, DateOrder::dmy);
    EXPECT_EQ(from_csv.lines[1].occurrence, 2);
    EXPECT_EQ(from_rows.records, from_csv.records);
}

TEST(IngestStaging, AllNullRequiredFieldIsAMissingColumn) {
    RawRow row;
    row.line_no = 1;
    row.fields[static_cast<std::size_t>(Field::invoice)] = "1";
    row.fields[static_cast<std::size_t>(Field::sku)] = "A";
    row.fields[static_cast<std::size_t>(Field::invoiced_at)] = "2024-01-01";
    row.fields[static_cast<std::size_t>(Field::unit_price)] = "2";
    try {
        parse_invoice_rows({row}, {});
        FAIL() << "expected an error";
    } catch (const std::invalid_argument& e) {
        EXPECT_TRUE(contains(e.what(), "required column \"quantity\" not found")) << e.what();
    }
    EXPECT_TRUE(parse_invoice_rows({}, {}).lines.empty());
}

}  // namespace

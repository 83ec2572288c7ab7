// Tests of the Excel reader behind import_xlsx: the openpyxl fixtures in
// test/data/xlsx (both date systems, shared and inline strings, merged
// headers, empty cells and rows, a sheet chosen by name or position), date
// number formats, serial dates checked against known days, and files that are
// damaged (truncated, bytes flipped, not XML, a DOCTYPE, a part inflating too
// far): each must give bad_workbook, never a crash.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include <minizip/zip.h>

#include "core/ingest/invoice.hpp"
#include "core/ingest/xlsx.hpp"

namespace {

namespace ingest = salesflow::ingest;

std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(SALESFLOW_SOURCE_DIR) + "/test/data/xlsx/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_FALSE(ss.str().empty()) << name;
    return ss.str();
}

// A zip with the given parts, written by minizip's own writer.
std::string make_zip(const std::map<std::string, std::string>& parts) {
    char path[] = "/tmp/sf_xlsx_testXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    zipFile z = zipOpen64(path, APPEND_STATUS_CREATE);
    for (const auto& [name, data] : parts) {
        zip_fileinfo info{};
        zipOpenNewFileInZip64(z, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr, Z_DEFLATED, 6, 1);
        zipWriteInFileInZip(z, data.data(), static_cast<unsigned>(data.size()));
        zipCloseFileInZip(z);
    }
    zipClose(z, nullptr);
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::remove(path);
    return ss.str();
}

const char* ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
                 "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";

std::map<std::string, std::string> minimal_parts(const std::string& sheet_xml) {
    return {
        {"xl/workbook.xml", std::string("<workbook ") + ns + "><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"},
        {"xl/_rels/workbook.xml.rels",
         "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" "
         "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
         "Target=\"worksheets/sheet1.xml\"/></Relationships>"},
        {"xl/worksheets/sheet1.xml", sheet_xml},
    };
}

TEST(IngestXlsx, SheetsInTabOrder) {
    auto sheets = ingest::xlsx_sheets(read_fixture("invoices_1900.xlsx"));
    ASSERT_EQ(sheets.size(), 2u);
    EXPECT_EQ(sheets[0].name, "Notes");
    EXPECT_EQ(sheets[1].name, "Sales");
    EXPECT_EQ(sheets[1].part, "xl/worksheets/sheet2.xml");
}

TEST(IngestXlsx, MergedHeaderSharedStringsCustomDateFormat1900) {
    ingest::XlsxOptions o;
    o.sheet = "Sales";
    std::string csv = ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o);
    // header band rows 1-2 become line 2; row n stays on line n; row 7 is empty
    EXPECT_EQ(csv,
              "\n"
              "Invoice,Customer ID,Customer Name,StockCode,Description,Quantity,Unit Price,Invoice Date\n"
              "INV-1,C100,Acme Ltd,SKU-A,Red mug,6,2.5,2024-03-01 09:30:00\n"
              "INV-1,C100,Acme Ltd,SKU-B,Blue plate,2,10.25,2024-03-01 09:30:00\n"
              "INV-2,C200,\"Bistro, \"\"Chez Max\"\"\",SKU-A,Red mug,12,2.5,2024-03-02 14:00:00\n"
              "INV-2,C200,\"Bistro, \"\"Chez Max\"\"\",SKU-C,Teapot large,1,24,2024-03-02 14:00:00\n"
              "\n"
              "INV-3,,,SKU-B,Blue plate,3,10.25,2024-02-29 18:45:00\n"
              "INV-4,C100,Acme Ltd,SKU-C,Teapot large,lots,24,2024-03-05 08:00:00\n"
              "INV-5,C300,Corner Shop,SKU-A,Red mug,4,2.75,2024-12-31 23:59:00\n");
}

TEST(IngestXlsx, SheetByPositionAndCase) {
    ingest::XlsxOptions o;
    o.sheet = "2";
    std::string by_position = ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o);
    o.sheet = "sales";
    EXPECT_EQ(ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o), by_position);
    o.sheet = "";
    EXPECT_EQ(ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o), "Exported from the shop's back office\n42\n");
    o.sheet = "Stock";
    try {
        ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o);
        FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("\"Notes\", \"Sales\""), std::string::npos) << e.what();
    }
    o.sheet = "3";
    EXPECT_THROW(ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o), std::invalid_argument);
}

TEST(IngestXlsx, InlineStrings1904DatesBuiltinFormat) {
    std::string csv = ingest::xlsx_to_csv(read_fixture("invoices_1904.xlsx"));
    EXPECT_EQ(csv,
              "Order ID,Customer,SKU,Product Name,Qty,Price,Order Date\n"
              "W-10,Z9,P-1,Linen towel,3,7.5,2023-01-15\n"
              "W-10,Z9,P-2,Soap,10,1.2,2023-01-15\n"
              "W-11,Z8,P-1,Linen towel,1,7.5,2023-07-04\n"
              "W-12,Z9,P-3,Candle,2,4,1904-01-02\n");
}

TEST(IngestXlsx, ParsedLikeCsvWithSheetRowsAsLineNumbers) {
    ingest::XlsxOptions o;
    o.sheet = "Sales";
    ingest::ParseResult r = ingest::parse_invoice_csv(ingest::xlsx_to_csv(read_fixture("invoices_1900.xlsx"), o), {});
    ASSERT_EQ(r.lines.size(), 6u);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].line_no, 9);  // the row Excel shows
    EXPECT_EQ(r.rejects[0].column, "Quantity");
    double total = 0;
    for (const auto& l : r.lines) total += l.line_total;
    EXPECT_DOUBLE_EQ(total, 6 * 2.5 + 2 * 10.25 + 12 * 2.5 + 24 + 3 * 10.25 + 4 * 2.75);
    EXPECT_EQ(r.lines[3].invoice, "INV-2");  // merged down from row 5
    EXPECT_EQ(r.lines[3].line_no, 6);
    EXPECT_EQ(r.lines[4].customer, "");      // empty cells: the anonymous customer
    EXPECT_EQ(r.lines[1].customer_name, "Acme Ltd");
}

TEST(IngestXlsx, DateFormats) {
    for (int id : {14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47}) EXPECT_TRUE(ingest::is_date_number_format(id, ""));
    EXPECT_FALSE(ingest::is_date_number_format(0, "General"));
    EXPECT_FALSE(ingest::is_date_number_format(2, "0.00"));
    EXPECT_FALSE(ingest::is_date_number_format(164, "#,##0.00_);[Red](#,##0.00)"));
    EXPECT_FALSE(ingest::is_date_number_format(164, "\"days\" 0"));
    EXPECT_FALSE(ingest::is_date_number_format(164, "[$EUR-x-euro2] #,##0.00"));
    EXPECT_FALSE(ingest::is_date_number_format(164, "0\\d"));
    EXPECT_TRUE(ingest::is_date_number_format(164, "dd/mm/yyyy hh:mm"));
    EXPECT_TRUE(ingest::is_date_number_format(164, "[$-409]mmm d, yyyy"));
    EXPECT_TRUE(ingest::is_date_number_format(164, "[h]:mm"));
    EXPECT_TRUE(ingest::is_date_number_format(164, "YYYY-MM-DD"));
}

TEST(IngestXlsx, SerialDaysBothSystems) {
    // 1900 system: 1 = 1900-01-01, 59 = 1900-02-28, 61 = 1900-03-01 (60 is
    // Lotus' 1900-02-29), 45000 = 2023-03-15; 1904 system: 0 = 1904-01-01.
    EXPECT_EQ(ingest::excel_serial_to_iso(1, false), "1900-01-01");
    EXPECT_EQ(ingest::excel_serial_to_iso(59, false), "1900-02-28");
    EXPECT_EQ(ingest::excel_serial_to_iso(61, false), "1900-03-01");
    EXPECT_EQ(ingest::excel_serial_to_iso(45000, false), "2023-03-15");
    EXPECT_EQ(ingest::excel_serial_to_iso(45000.5, false), "2023-03-15 12:00:00");
    EXPECT_EQ(ingest::excel_serial_to_iso(45000.999999999, false), "2023-03-16");
    EXPECT_EQ(ingest::excel_serial_to_iso(0, true), "1904-01-01");
    EXPECT_EQ(ingest::excel_serial_to_iso(45000 - 1462, true), "2023-03-15");
    EXPECT_EQ(ingest::excel_serial_to_iso(2958465, false), "9999-12-31");
    EXPECT_EQ(ingest::excel_serial_to_iso(-1, false), "");
    EXPECT_EQ(ingest::excel_serial_to_iso(3e6, false), "");
}

TEST(IngestXlsx, NotAWorkbook) {
    EXPECT_FALSE(ingest::looks_like_zip("Invoice,Date\n"));
    EXPECT_THROW(ingest::xlsx_to_csv("Invoice,Date\n"), ingest::bad_workbook);
    EXPECT_THROW(ingest::xlsx_to_csv(std::string("PK\x03\x04garbage", 11)), ingest::bad_workbook);
    EXPECT_THROW(ingest::xlsx_to_csv(make_zip({{"hello.txt", "hi"}})), ingest::bad_workbook);
}

TEST(IngestXlsx, MalformedXmlAndDoctype) {
    EXPECT_THROW(ingest::xlsx_to_csv(make_zip(minimal_parts("<worksheet><sheetData><row r=\"1\"><c"))),
                 ingest::bad_workbook);
    std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>"
                       "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>";
    EXPECT_THROW(ingest::xlsx_to_csv(make_zip(minimal_parts(bomb))), ingest::bad_workbook);
    EXPECT_THROW(ingest::xlsx_to_csv(make_zip(minimal_parts(
                     "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>7</v></c></row></sheetData></worksheet>"))),
                 ingest::bad_workbook);  // no such shared string
    EXPECT_THROW(ingest::xlsx_to_csv(make_zip(minimal_parts(
                     "<worksheet><sheetData><row r=\"1\"><c r=\"XFE1\"><v>1</v></c></row></sheetData></worksheet>"))),
                 ingest::bad_workbook);  // beyond the last column
    EXPECT_EQ(ingest::xlsx_to_csv(make_zip(minimal_parts(
                  "<worksheet><sheetData><row r=\"2\"><c r=\"B2\"><v>1.5</v></c><c r=\"D2\" t=\"b\"><v>1</v></c></row>"
                  "</sheetData></worksheet>"))),
              "\n1.5,,TRUE\n");
}

TEST(IngestXlsx, PartInflatingPastTheLimit) {
    ingest::XlsxOptions o;
    o.max_part_bytes = 1 << 16;
    std::string rows;
    for (int r = 1; r <= 5000; ++r) rows += "<row r=\"" + std::to_string(r) + "\"><c><v>1</v></c></row>";
    std::string zip = make_zip(minimal_parts("<worksheet><sheetData>" + rows + "</sheetData></worksheet>"));
    EXPECT_LT(zip.size(), 1u << 16);
    EXPECT_THROW(ingest::xlsx_to_csv(zip, o), ingest::bad_workbook);
    EXPECT_NO_THROW(ingest::xlsx_to_csv(zip));
}

// Every prefix length (in steps) and random byte flips: an exception of
// ours or a result, never a crash (run under ASan in the sanitizer build).
TEST(IngestXlsx, TruncatedAndGarbledFilesFailCleanly) {
    for (const char* name : {"invoices_1900.xlsx", "invoices_1904.xlsx"}) {
        const std::string good = read_fixture(name);
        int clean_errors = 0;
        for (std::size_t n = 0; n < good.size(); n += 37) {
            try {
                ingest::xlsx_to_csv(good.substr(0, n));
            } catch (const ingest::bad_workbook&) {
                ++clean_errors;
            }
        }
        EXPECT_EQ(clean_errors, static_cast<int>((good.size() + 36) / 37)) << name;
        std::mt19937 rng(7);
        for (int trial = 0; trial < 300; ++trial) {
            std::string bad = good;
            for (int k = 0; k < 4; ++k) bad[4 + rng() % (bad.size() - 4)] = static_cast<char>(rng());
            try {
                ingest::xlsx_to_csv(bad);
            } catch (const ingest::bad_workbook&) {
            } catch (const std::invalid_argument&) {
            }
        }
    }
}

}  // namespace

// Excel workbooks (.xlsx, Office Open XML SpreadsheetML, ECMA-376 Part 1
// section 18) turned into the CSV text the invoice parser already reads, so
// that every rule of a CSV upload (header aliases, mapping, presets, rejects,
// idempotency) applies to a sheet unchanged.
//
// The container is read by minizip and the XML by expat (Debian's libraries:
// no zip or XML code of our own). What is read:
//  * the workbook: its sheets in order, the 1900 or 1904 date system
//    (workbookPr/@date1904) and the relationships that name each sheet's part;
//  * shared strings (rich-text runs joined, phonetic runs left out) and inline
//    strings; numbers, booleans, formula results and error values;
//  * number formats: a number whose cell style has a date format (built-in
//    ids 14-22 and 45-47, or a custom format with d, m, y or h outside quotes,
//    escapes and [...] sections) is a serial day and is written as an ISO
//    date (time included when it has one);
//  * merged cells: the top-left value fills the whole range, so a merged
//    invoice number covers each of its lines. A header band of two rows
//    (vertically merged headers, or a merged group title over sub-headers)
//    becomes one header row, the texts of each column joined
//    ("Customer" over "ID" and "Name": "Customer ID", "Customer Name").
//
// Each sheet row becomes the CSV line of the same number (rows with no value
// are blank lines, which the CSV reader skips), so a rejected line's number
// is the row a person sees in Excel. Line breaks inside a cell become spaces
// for that reason.
//
// A file that is not a readable workbook (not a zip, a damaged part, XML that
// is not well-formed, a DOCTYPE, a part inflating past the limit) throws
// bad_workbook; a sheet that does not exist throws std::invalid_argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace salesflow::ingest {

struct bad_workbook : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct XlsxOptions {
    std::string sheet;  // a sheet name, or its 1-based position; "" = the first sheet
    char decimal = '.';  // decimal separator written for numbers ('.' or ',')
    std::size_t max_part_bytes = std::size_t(512) << 20;  // a part inflating past this is refused
};

struct XlsxSheet {
    std::string name;
    std::string part;  // path of its XML inside the zip, e.g. "xl/worksheets/sheet1.xml"
};

// True when the bytes start like a zip archive (every .xlsx does: "PK\3\4").
bool looks_like_zip(std::string_view bytes) noexcept;

// The workbook's sheets in their tab order.
std::vector<XlsxSheet> xlsx_sheets(std::string_view bytes, const XlsxOptions& options = {});

// The chosen sheet as CSV (comma-delimited, UTF-8, row n on line n).
std::string xlsx_to_csv(std::string_view bytes, const XlsxOptions& options = {});

// Helpers exposed for tests.
bool is_date_number_format(int format_id, std::string_view format_code);
// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" for a serial day; "" when out of range.
std::string excel_serial_to_iso(double serial, bool date1904);

}  // namespace salesflow::ingest

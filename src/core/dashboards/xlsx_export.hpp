// A report table written as an Excel workbook (.xlsx) with libxlsxwriter
// (Debian's libxlsxwriter-dev): one sheet, typed cells (numbers, dates,
// date-times, booleans, text), a bold header row frozen above the data, an
// autofilter over the table and column widths from the longest value shown
// (between 8 and 60 characters).
//
// libxlsxwriter writes to a file: the workbook and its temporary files live
// in a private directory (mkdtemp, mode 0700) under `tmp_parent`, removed on
// every path, success or error, before the bytes are returned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace salesflow::dashboards {

enum class CellKind : std::uint8_t { empty, number, date, datetime, boolean, text };

struct XlsxCell {
    CellKind kind = CellKind::empty;
    double number = 0;  // number; boolean (0/1)
    int year = 0, month = 0, day = 0, hour = 0, minute = 0;  // date, datetime
    double second = 0;
    std::string text;  // text
};

struct XlsxTable {
    std::string sheet;                 // sheet name (at most 31 characters, no []:*?/\)
    std::vector<std::string> columns;  // header texts
    std::vector<XlsxCell> cells;       // row-major, columns.size() per row
};

std::string write_xlsx(const XlsxTable& table, const std::string& tmp_parent = "/tmp");

// Display width in characters of a cell as Excel shows it (for column widths).
double display_width(const XlsxCell& cell);

}  // namespace salesflow::dashboards

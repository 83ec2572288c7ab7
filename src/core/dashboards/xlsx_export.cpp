// Report table -> .xlsx bytes with libxlsxwriter (see xlsx_export.hpp).
#include "core/dashboards/xlsx_export.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>
#include <dirent.h>
#include <xlsxwriter.h>

#include "core/common/cancel.hpp"

namespace salesflow::dashboards {

namespace {

constexpr double min_width = 8, max_width = 60;

// A private directory removed with everything in it when the scope ends.
class PrivateDir {
public:
    explicit PrivateDir(const std::string& parent) {
        std::string tmpl = parent + "/salesflow-xlsx-XXXXXX";
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory in " + parent);
        path_ = tmpl;
    }
    ~PrivateDir() {
        if (DIR* d = opendir(path_.c_str())) {
            while (dirent* e = readdir(d)) {
                std::string name = e->d_name;
                if (name != "." && name != "..") std::remove((path_ + "/" + name).c_str());
            }
            closedir(d);
        }
        rmdir(path_.c_str());
    }
    PrivateDir(const PrivateDir&) = delete;
    PrivateDir& operator=(const PrivateDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void check(lxw_error err, const char* what) {
    if (err != LXW_NO_ERROR) throw std::runtime_error(std::string("writing the workbook (") + what + "): " + lxw_strerror(err));
}

// Owns the workbook until it is closed (workbook_close also frees it).
struct Workbook {
    lxw_workbook* wb;
    ~Workbook() {
        if (wb != nullptr) workbook_close(wb);
    }
    lxw_error close() {
        lxw_error err = workbook_close(wb);
        wb = nullptr;
        return err;
    }
};

}  // namespace

double display_width(const XlsxCell& cell) {
    switch (cell.kind) {
        case CellKind::number: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.10g", cell.number);
            return static_cast<double>(std::string(buf).size());
        }
        case CellKind::date: return 10;
        case CellKind::datetime: return 19;
        case CellKind::boolean: return 5;
        case CellKind::text: {
            double n = 0;  // UTF-8 characters, not bytes
            for (unsigned char ch : cell.text) n += (ch & 0xC0) != 0x80;
            return n;
        }
        default: return 0;
    }
}

std::string write_xlsx(const XlsxTable& table, const std::string& tmp_parent) {
    const std::size_t ncols = table.columns.size();
    if (ncols == 0) throw std::invalid_argument("a report needs at least one column");
    if (table.cells.size() % ncols != 0) throw std::invalid_argument("cells do not fill whole rows");
    const std::size_t nrows = table.cells.size() / ncols;
    if (nrows + 1 > LXW_ROW_MAX) throw std::range_error("the report has more rows than an Excel sheet holds");

    PrivateDir dir(tmp_parent);
    const std::string file = dir.path() + "/report.xlsx";
    lxw_workbook_options options{};
    options.constant_memory = LXW_TRUE;  // rows go to a temp file as written
    options.tmpdir = const_cast<char*>(dir.path().c_str());
    Workbook wb{workbook_new_opt(file.c_str(), &options)};
    if (wb.wb == nullptr) throw std::runtime_error("cannot create the workbook");
    lxw_worksheet* ws = workbook_add_worksheet(wb.wb, table.sheet.empty() ? nullptr : table.sheet.c_str());
    if (ws == nullptr) throw std::invalid_argument("bad sheet name \"" + table.sheet + "\"");
    lxw_format* bold = workbook_add_format(wb.wb);
    format_set_bold(bold);
    lxw_format* date = workbook_add_format(wb.wb);
    format_set_num_format(date, "yyyy-mm-dd");
    lxw_format* datetime = workbook_add_format(wb.wb);
    format_set_num_format(datetime, "yyyy-mm-dd hh:mm:ss");

    // widths first: in constant_memory mode columns are set before any row
    std::vector<double> width(ncols);
    for (std::size_t c = 0; c < ncols; ++c) width[c] = display_width({CellKind::text, 0, 0, 0, 0, 0, 0, 0, table.columns[c]}) + 2;  // + filter button
    for (std::size_t i = 0; i < table.cells.size(); ++i) width[i % ncols] = std::max(width[i % ncols], display_width(table.cells[i]));
    for (std::size_t c = 0; c < ncols; ++c)
        check(worksheet_set_column(ws, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                                   std::clamp(width[c] + 1, min_width, max_width), nullptr),
              "column width");
    worksheet_freeze_panes(ws, 1, 0);
    check(worksheet_autofilter(ws, 0, 0, static_cast<lxw_row_t>(nrows), static_cast<lxw_col_t>(ncols - 1)), "autofilter");

    for (std::size_t c = 0; c < ncols; ++c)
        check(worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), table.columns[c].c_str(), bold), "header");
    for (std::size_t i = 0; i < table.cells.size(); ++i) {
        const XlsxCell& cell = table.cells[i];
        auto row = static_cast<lxw_row_t>(i / ncols + 1);
        auto col = static_cast<lxw_col_t>(i % ncols);
        lxw_error err = LXW_NO_ERROR;
        switch (cell.kind) {
            case CellKind::number:
                if (std::isfinite(cell.number)) err = worksheet_write_number(ws, row, col, cell.number, nullptr);
                else err = worksheet_write_string(ws, row, col, std::isnan(cell.number) ? "NaN" : cell.number > 0 ? "Infinity" : "-Infinity", nullptr);
                break;
            case CellKind::date:
            case CellKind::datetime: {
                lxw_datetime dt{cell.year, cell.month, cell.day, cell.hour, cell.minute, cell.second};
                if (cell.year < 1900 || cell.year > 9999) throw std::range_error("a date outside the years 1900-9999 must be written as text");
                err = worksheet_write_datetime(ws, row, col, &dt, cell.kind == CellKind::date ? date : datetime);
                break;
            }
            case CellKind::boolean: err = worksheet_write_boolean(ws, row, col, cell.number != 0, nullptr); break;
            case CellKind::text: err = worksheet_write_string(ws, row, col, cell.text.c_str(), nullptr); break;
            case CellKind::empty: break;
        }
        check(err, "cell");
        if ((i & 0xffff) == 0) check_cancel();
    }
    check(wb.close(), "close");

    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read the written workbook");
    return bytes.str();
}

}  // namespace salesflow::dashboards

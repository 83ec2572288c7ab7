// Excel workbook -> CSV text for the invoice parser (see xlsx.hpp).
//
// Parts are inflated by minizip through an in-memory I/O table and streamed
// into expat in 64 KiB chunks; expat's callbacks are C frames, so they never
// let an exception through: the first one is kept, the parser stopped, and
// the exception rethrown once expat has returned.
#include "core/ingest/xlsx.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <expat.h>
#include <minizip/unzip.h>

#include "core/common/cancel.hpp"

namespace salesflow::ingest {

namespace {

constexpr std::size_t chunk_bytes = 64 * 1024;
constexpr std::int64_t max_merged_cells = 20'000'000;  // cells filled from merged ranges, in all
constexpr std::size_t max_csv_bytes = std::size_t(1000) << 20;  // what a bytea can hold, about

// ---- the zip container (minizip over memory) -------------------------------

struct MemoryFile {
    const char* data;
    std::size_t size;
    std::size_t pos = 0;
};

voidpf ZCALLBACK mem_open(voidpf opaque, const void*, int) {
    static_cast<MemoryFile*>(opaque)->pos = 0;
    return opaque;
}
uLong ZCALLBACK mem_read(voidpf, voidpf stream, void* buf, uLong size) {
    auto* f = static_cast<MemoryFile*>(stream);
    std::size_t n = std::min<std::size_t>(size, f->size - f->pos);
    std::memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    return static_cast<uLong>(n);
}
uLong ZCALLBACK mem_write(voidpf, voidpf, const void*, uLong) { return 0; }
ZPOS64_T ZCALLBACK mem_tell(voidpf, voidpf stream) { return static_cast<MemoryFile*>(stream)->pos; }
long ZCALLBACK mem_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
    auto* f = static_cast<MemoryFile*>(stream);
    std::uint64_t base = origin == ZLIB_FILEFUNC_SEEK_SET ? 0 : origin == ZLIB_FILEFUNC_SEEK_CUR ? f->pos : f->size;
    if (offset > f->size || base + offset > f->size) return -1;
    f->pos = static_cast<std::size_t>(base + offset);
    return 0;
}
int ZCALLBACK mem_close(voidpf, voidpf) { return 0; }
int ZCALLBACK mem_error(voidpf, voidpf) { return 0; }

class ZipArchive {
public:
    ZipArchive(std::string_view bytes, std::size_t max_part_bytes)
        : file_{bytes.data(), bytes.size()}, max_part_bytes_(max_part_bytes) {
        zlib_filefunc64_def io{};
        io.zopen64_file = mem_open;
        io.zread_file = mem_read;
        io.zwrite_file = mem_write;
        io.ztell64_file = mem_tell;
        io.zseek64_file = mem_seek;
        io.zclose_file = mem_close;
        io.zerror_file = mem_error;
        io.opaque = &file_;
        zip_ = unzOpen2_64("workbook", &io);
        if (zip_ == nullptr) throw bad_workbook("the file is not an Excel workbook (not a readable zip archive)");
    }
    ~ZipArchive() { unzClose(zip_); }
    ZipArchive(const ZipArchive&) = delete;
    ZipArchive& operator=(const ZipArchive&) = delete;

    bool has(const std::string& part) { return unzLocateFile(zip_, part.c_str(), 1) == UNZ_OK; }

    // Streams the inflated part to sink in chunks; throws if missing or damaged.
    void read(const std::string& part, const std::function<void(const char*, std::size_t)>& sink) {
        if (unzLocateFile(zip_, part.c_str(), 1) != UNZ_OK)
            throw bad_workbook("the workbook has no part \"" + part + "\"");
        if (unzOpenCurrentFile(zip_) != UNZ_OK) throw bad_workbook("cannot open part \"" + part + "\" of the workbook");
        std::vector<char> buf(chunk_bytes);
        std::size_t total = 0;
        int n = 0;
        try {
            while ((n = unzReadCurrentFile(zip_, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
                total += static_cast<std::size_t>(n);
                if (total > max_part_bytes_)
                    throw bad_workbook("part \"" + part + "\" inflates past " + std::to_string(max_part_bytes_ >> 20) +
                                       " MiB");
                sink(buf.data(), static_cast<std::size_t>(n));
                check_cancel();
            }
        } catch (...) {
            unzCloseCurrentFile(zip_);
            throw;
        }
        int closed = unzCloseCurrentFile(zip_);
        if (n < 0 || closed != UNZ_OK) throw bad_workbook("part \"" + part + "\" of the workbook is damaged");
    }

private:
    MemoryFile file_;
    std::size_t max_part_bytes_;
    unzFile zip_ = nullptr;
};

// ---- XML (expat) ----------------------------------------------------------

// Local name of an expat namespace-qualified name ("uri|c" -> "c").
std::string_view local_name(const XML_Char* name) {
    std::string_view s(name);
    std::size_t bar = s.rfind('|');
    return bar == std::string_view::npos ? s : s.substr(bar + 1);
}

const XML_Char* attribute(const XML_Char** attrs, std::string_view name) {
    for (int i = 0; attrs[i] != nullptr; i += 2)
        if (local_name(attrs[i]) == name) return attrs[i + 1];
    return nullptr;
}

// Handlers for one part; the parser calls them, catching what they throw.
struct XmlHandler {
    virtual ~XmlHandler() = default;
    virtual void start(std::string_view name, const XML_Char** attrs) = 0;
    virtual void end(std::string_view name) = 0;
    virtual void text(std::string_view) {}
};

class XmlParser {
public:
    explicit XmlParser(XmlHandler& handler) : handler_(handler), parser_(XML_ParserCreateNS("UTF-8", '|')) {
        if (parser_ == nullptr) throw std::bad_alloc();
        XML_SetUserData(parser_, this);
        XML_SetElementHandler(parser_, on_start, on_end);
        XML_SetCharacterDataHandler(parser_, on_text);
        // No DTDs: a workbook never needs one, and entity expansion is the
        // classic way to make a small file eat memory.
        XML_SetStartDoctypeDeclHandler(parser_, on_doctype);
    }
    ~XmlParser() { XML_ParserFree(parser_); }
    XmlParser(const XmlParser&) = delete;
    XmlParser& operator=(const XmlParser&) = delete;

    void feed(const char* data, std::size_t n, bool last, const std::string& part) {
        if (XML_Parse(parser_, data, static_cast<int>(n), last ? XML_TRUE : XML_FALSE) != XML_STATUS_OK) {
            if (failure_) std::rethrow_exception(failure_);
            throw bad_workbook("part \"" + part + "\" is not well-formed XML (line " +
                               std::to_string(XML_GetCurrentLineNumber(parser_)) +
                               "): " + XML_ErrorString(XML_GetErrorCode(parser_)));
        }
    }

private:
    template <typename F>
    static void guarded(void* self, F&& f) noexcept {
        auto* p = static_cast<XmlParser*>(self);
        if (p->failure_) return;
        try {
            f(p->handler_);
        } catch (...) {
            p->failure_ = std::current_exception();
            XML_StopParser(p->parser_, XML_FALSE);
        }
    }
    static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** attrs) {
        guarded(self, [&](XmlHandler& h) { h.start(local_name(name), attrs); });
    }
    static void XMLCALL on_end(void* self, const XML_Char* name) {
        guarded(self, [&](XmlHandler& h) { h.end(local_name(name)); });
    }
    static void XMLCALL on_text(void* self, const XML_Char* s, int len) {
        guarded(self, [&](XmlHandler& h) { h.text(std::string_view(s, static_cast<std::size_t>(len))); });
    }
    static void XMLCALL on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
        guarded(self, [](XmlHandler&) { throw bad_workbook("the workbook contains a DOCTYPE, which Excel never writes"); });
    }

    XmlHandler& handler_;
    XML_Parser parser_;
    std::exception_ptr failure_;
};

void parse_part(ZipArchive& zip, const std::string& part, XmlHandler& handler) {
    XmlParser parser(handler);
    zip.read(part, [&](const char* data, std::size_t n) { parser.feed(data, n, false, part); });
    parser.feed("", 0, true, part);
}

// ---- workbook, relationships, shared strings, styles ----------------------

struct Workbook {
    bool date1904 = false;
    struct SheetRef {
        std::string name, rel_id;
    };
    std::vector<SheetRef> sheets;
};

struct WorkbookHandler : XmlHandler {
    Workbook wb;
    void start(std::string_view name, const XML_Char** attrs) override {
        if (name == "workbookPr") {
            const char* v = attribute(attrs, "date1904");
            wb.date1904 = v != nullptr && (std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0);
        } else if (name == "sheet") {
            const char* n = attribute(attrs, "name");
            const char* id = attribute(attrs, "id");
            if (n == nullptr || id == nullptr) throw bad_workbook("a sheet of the workbook has no name or relationship");
            wb.sheets.push_back({n, id});
        }
    }
    void end(std::string_view) override {}
};

struct Relationship {
    std::string id, type, target;
};

struct RelationshipsHandler : XmlHandler {
    std::vector<Relationship> rels;
    void start(std::string_view name, const XML_Char** attrs) override {
        if (name != "Relationship") return;
        const char* id = attribute(attrs, "Id");
        const char* type = attribute(attrs, "Type");
        const char* target = attribute(attrs, "Target");
        if (id && target) rels.push_back({id, type ? type : "", target});
    }
    void end(std::string_view) override {}
};

// A relationship target of xl/workbook.xml as a path inside the zip.
std::string workbook_part_path(std::string target) {
    if (!target.empty() && target[0] == '/') return target.substr(1);
    std::string base = "xl/";
    while (target.rfind("../", 0) == 0) {
        target.erase(0, 3);
        base.clear();
    }
    return base + target;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

struct SharedStringsHandler : XmlHandler {
    std::vector<std::string> strings;
    int in_t = 0, in_phonetic = 0;
    bool in_si = false;
    void start(std::string_view name, const XML_Char**) override {
        if (name == "si") {
            in_si = true;
            strings.emplace_back();
        } else if (name == "rPh") {
            ++in_phonetic;
        } else if (name == "t") {
            ++in_t;
        }
    }
    void end(std::string_view name) override {
        if (name == "si") in_si = false;
        else if (name == "rPh") --in_phonetic;
        else if (name == "t") --in_t;
    }
    void text(std::string_view s) override {
        if (in_si && in_t > 0 && in_phonetic == 0) strings.back().append(s);
    }
};

struct StylesHandler : XmlHandler {
    std::map<int, std::string> custom_formats;
    std::vector<int> xf_format;  // cellXfs index -> numFmtId
    bool in_cell_xfs = false;
    void start(std::string_view name, const XML_Char** attrs) override {
        if (name == "numFmt") {
            const char* id = attribute(attrs, "numFmtId");
            const char* code = attribute(attrs, "formatCode");
            if (id && code) custom_formats[std::atoi(id)] = code;
        } else if (name == "cellXfs") {
            in_cell_xfs = true;
        } else if (name == "xf" && in_cell_xfs) {
            const char* id = attribute(attrs, "numFmtId");
            xf_format.push_back(id ? std::atoi(id) : 0);
        }
    }
    void end(std::string_view name) override {
        if (name == "cellXfs") in_cell_xfs = false;
    }
};

// ---- the sheet ------------------------------------------------------------

struct Cell {
    std::int32_t col;  // 1-based
    std::string text;
};
struct Row {
    std::int64_t r;  // 1-based
    std::vector<Cell> cells;
};
struct Merge {
    std::int64_t r1, r2;
    std::int32_t c1, c2;
};

// "BC12" -> column 55, row 12 (either may be 0 when absent).
void parse_cell_ref(std::string_view ref, std::int32_t& col, std::int64_t& row) {
    col = 0;
    row = 0;
    std::size_t i = 0;
    for (; i < ref.size() && std::isalpha(static_cast<unsigned char>(ref[i])); ++i) {
        col = col * 26 + (std::toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
        if (col > 16384) throw bad_workbook("cell reference \"" + std::string(ref) + "\" is beyond column XFD");
    }
    for (; i < ref.size() && std::isdigit(static_cast<unsigned char>(ref[i])); ++i) {
        row = row * 10 + (ref[i] - '0');
        if (row > 1048576) throw bad_workbook("cell reference \"" + std::string(ref) + "\" is beyond row 1048576");
    }
    if (i != ref.size()) throw bad_workbook("bad cell reference \"" + std::string(ref) + "\"");
}

std::string format_number(double v, char decimal) {
    char buf[64];
    std::to_chars_result res;
    double a = std::fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e15)) res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    else res = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, res.ptr);
    if (decimal != '.') std::replace(s.begin(), s.end(), '.', decimal);
    return s;
}

struct SheetHandler : XmlHandler {
    const std::vector<std::string>& shared;
    const std::vector<bool>& xf_is_date;
    bool date1904;
    char decimal;

    std::vector<Row> rows;
    std::vector<Merge> merges;
    // the cell being read
    bool in_cell = false, in_value = false, in_inline = false;
    int in_inline_t = 0, in_inline_phonetic = 0;
    std::string type, value, inline_text;
    std::int32_t col = 0;
    std::size_t style = 0;
    std::int64_t next_row = 1;
    std::size_t cells_seen = 0;

    SheetHandler(const std::vector<std::string>& s, const std::vector<bool>& d, bool d1904, char dec)
        : shared(s), xf_is_date(d), date1904(d1904), decimal(dec) {}

    void start(std::string_view name, const XML_Char** attrs) override {
        if (name == "row") {
            const char* r = attribute(attrs, "r");
            std::int64_t row = next_row;
            if (r != nullptr) {
                std::int32_t c;
                parse_cell_ref(r, c, row);
                if (c != 0 || row == 0) throw bad_workbook(std::string("bad row number \"") + r + "\"");
            }
            if (!rows.empty() && row <= rows.back().r) throw bad_workbook("rows of the sheet are out of order");
            rows.push_back({row, {}});
            next_row = row + 1;
        } else if (name == "c") {
            if (rows.empty()) throw bad_workbook("a cell outside a row");
            const char* r = attribute(attrs, "r");
            std::int32_t c = rows.back().cells.empty() ? 1 : rows.back().cells.back().col + 1;
            if (r != nullptr) {
                std::int64_t row;
                parse_cell_ref(r, c, row);
                if (c == 0 || (row != 0 && row != rows.back().r))
                    throw bad_workbook(std::string("cell \"") + r + "\" is not in its row");
            }
            if (!rows.back().cells.empty() && c <= rows.back().cells.back().col)
                throw bad_workbook("cells of a row are out of order");
            const char* t = attribute(attrs, "t");
            const char* s = attribute(attrs, "s");
            type = t ? t : "n";
            style = s ? static_cast<std::size_t>(std::strtoul(s, nullptr, 10)) : 0;
            col = c;
            value.clear();
            inline_text.clear();
            in_cell = true;
        } else if (in_cell && name == "v") {
            in_value = true;
        } else if (in_cell && name == "is") {
            in_inline = true;
        } else if (in_inline && name == "t") {
            ++in_inline_t;
        } else if (in_inline && name == "rPh") {
            ++in_inline_phonetic;
        } else if (name == "mergeCell") {
            const char* ref = attribute(attrs, "ref");
            if (ref == nullptr) return;
            std::string_view range(ref);
            std::size_t colon = range.find(':');
            if (colon == std::string_view::npos) return;
            Merge m;
            parse_cell_ref(range.substr(0, colon), m.c1, m.r1);
            parse_cell_ref(range.substr(colon + 1), m.c2, m.r2);
            if (m.c1 == 0 || m.r1 == 0 || m.c2 < m.c1 || m.r2 < m.r1)
                throw bad_workbook(std::string("bad merged range \"") + ref + "\"");
            merges.push_back(m);
        }
    }

    void end(std::string_view name) override {
        if (name == "v") {
            in_value = false;
        } else if (name == "is") {
            in_inline = false;
        } else if (in_inline && name == "t") {
            --in_inline_t;
        } else if (in_inline && name == "rPh") {
            --in_inline_phonetic;
        } else if (name == "c" && in_cell) {
            in_cell = false;
            std::string text = cell_text();
            if (!text.empty()) rows.back().cells.push_back({col, std::move(text)});
            if ((++cells_seen & 0xffff) == 0) check_cancel();
        }
    }

    void text(std::string_view s) override {
        if (in_value) value.append(s);
        else if (in_inline && in_inline_t > 0 && in_inline_phonetic == 0) inline_text.append(s);
    }

    std::string cell_text() const {
        if (type == "inlineStr") return inline_text;
        if (type == "s") {
            if (value.empty()) return {};
            char* end = nullptr;
            unsigned long i = std::strtoul(value.c_str(), &end, 10);
            if (*end != '\0' || i >= shared.size())
                throw bad_workbook("cell refers to shared string " + value + ", which does not exist");
            return shared[i];
        }
        if (type == "b") return value == "1" ? "TRUE" : value == "0" ? "FALSE" : value;
        if (type == "d") {  // an ISO 8601 date written as text
            std::string v = value;
            std::replace(v.begin(), v.end(), 'T', ' ');
            return v;
        }
        if (type == "n" && !value.empty()) {
            char* end = nullptr;
            double v = std::strtod(value.c_str(), &end);
            if (*end != '\0' || !std::isfinite(v)) return value;
            if (style < xf_is_date.size() && xf_is_date[style]) {
                std::string iso = excel_serial_to_iso(v, date1904);
                if (!iso.empty()) return iso;
            }
            return format_number(v, decimal);
        }
        return value;  // str (formula text), e (error value such as #N/A)
    }
};

// Fills merged ranges with their top-left value (clamped to where there is data).
void fill_merges(std::vector<Row>& rows, const std::vector<Merge>& merges, std::int32_t max_col) {
    if (merges.empty() || rows.empty()) return;
    std::map<std::int64_t, std::size_t> row_index;
    for (std::size_t i = 0; i < rows.size(); ++i) row_index[rows[i].r] = i;
    auto find = [&](std::int64_t r, std::int32_t c) -> const std::string* {
        auto it = row_index.find(r);
        if (it == row_index.end()) return nullptr;
        const auto& cells = rows[it->second].cells;
        auto cell = std::lower_bound(cells.begin(), cells.end(), c, [](const Cell& x, std::int32_t v) { return x.col < v; });
        return cell != cells.end() && cell->col == c ? &cell->text : nullptr;
    };
    std::int64_t max_row = rows.back().r;
    std::int64_t filled = 0;
    for (const Merge& m : merges) {
        const std::string* top_left = find(m.r1, m.c1);
        if (top_left == nullptr) continue;
        std::string v = *top_left;
        for (std::int64_t r = m.r1; r <= std::min(m.r2, max_row); ++r) {
            auto it = row_index.find(r);
            if (it == row_index.end()) {
                rows.push_back({r, {}});
                row_index[r] = rows.size() - 1;
                it = row_index.find(r);
            }
            auto& cells = rows[it->second].cells;
            for (std::int32_t c = m.c1; c <= std::min(m.c2, max_col); ++c) {
                if (r == m.r1 && c == m.c1) continue;
                if (++filled > max_merged_cells) throw bad_workbook("merged ranges cover too many cells");
                auto cell = std::lower_bound(cells.begin(), cells.end(), c,
                                             [](const Cell& x, std::int32_t want) { return x.col < want; });
                if (cell != cells.end() && cell->col == c) cell->text = v;
                else cells.insert(cell, Cell{c, v});
            }
        }
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.r < b.r; });
}

// The last row of the header band that starts at row r0 (see xlsx.hpp).
std::int64_t header_band_end(const std::vector<Row>& rows, std::size_t header, const std::vector<Merge>& merges) {
    std::int64_t r0 = rows[header].r, end = r0;
    for (const Merge& m : merges)
        if (m.r1 == r0) end = std::max(end, m.r2);
    if (end == r0 && header + 1 < rows.size() && rows[header + 1].r == r0 + 1) {
        // a group title merged across columns over sub-headers in the next row
        const auto& below = rows[header + 1].cells;
        for (const Merge& m : merges) {
            if (m.r1 != r0 || m.r2 != r0 || m.c2 == m.c1) continue;
            bool all_text = true;
            for (std::int32_t c = m.c1; c <= m.c2 && all_text; ++c) {
                auto cell = std::find_if(below.begin(), below.end(), [c](const Cell& x) { return x.col == c; });
                all_text = cell != below.end() && std::any_of(cell->text.begin(), cell->text.end(), [](char ch) {
                               return std::isalpha(static_cast<unsigned char>(ch));
                           });
            }
            if (all_text) return r0 + 1;
        }
    }
    return end;
}

void append_csv_field(std::string& out, std::string_view v) {
    bool quote = v.find_first_of(",\"") != std::string_view::npos;
    if (quote) out += '"';
    for (char ch : v) {
        if (ch == '"') out += "\"\"";
        else if (ch == '\n' || ch == '\r') out += ' ';  // keep row n on line n
        else out += ch;
    }
    if (quote) out += '"';
}

std::vector<Workbook::SheetRef> sheet_refs_of(ZipArchive& zip, Workbook& wb, std::vector<Relationship>& rels) {
    WorkbookHandler wh;
    parse_part(zip, "xl/workbook.xml", wh);
    wb = wh.wb;
    RelationshipsHandler rh;
    parse_part(zip, "xl/_rels/workbook.xml.rels", rh);
    rels = rh.rels;
    if (wb.sheets.empty()) throw bad_workbook("the workbook has no sheets");
    return wb.sheets;
}

std::string rel_target(const std::vector<Relationship>& rels, const std::string& id) {
    for (const auto& r : rels)
        if (r.id == id) return workbook_part_path(r.target);
    throw bad_workbook("the workbook names a sheet relationship \"" + id + "\" that does not exist");
}

std::optional<std::string> rel_target_of_type(const std::vector<Relationship>& rels, std::string_view type_tail) {
    for (const auto& r : rels)
        if (ends_with(r.type, type_tail)) return workbook_part_path(r.target);
    return std::nullopt;
}

}  // namespace

bool looks_like_zip(std::string_view bytes) noexcept {
    return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}

bool is_date_number_format(int id, std::string_view code) {
    if ((id >= 14 && id <= 22) || (id >= 45 && id <= 47)) return true;
    bool in_quote = false;
    for (std::size_t i = 0; i < code.size(); ++i) {
        char ch = code[i];
        if (in_quote) {
            in_quote = ch != '"';
        } else if (ch == '"') {
            in_quote = true;
        } else if (ch == '\\' || ch == '_' || ch == '*') {
            ++i;  // the next character is a literal, a padding width or a fill
        } else if (ch == '[') {
            std::size_t close = code.find(']', i);
            if (close == std::string_view::npos) return false;
            i = close;
        } else if (ch == ';') {
            return false;  // the first section decides
        } else {
            char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (lower == 'd' || lower == 'm' || lower == 'y' || lower == 'h') return true;
        }
    }
    return false;
}

std::string excel_serial_to_iso(double serial, bool date1904) {
    // Serial days count from 1899-12-30 in the 1900 system (Lotus' fictitious
    // 1900-02-29, serial 60, shifts everything before March 1900 by one) and
    // from 1904-01-01 in the 1904 system. 2958465 is 9999-12-31.
    if (!(serial >= 0) || serial > 2958465.99999) return {};
    double whole = std::floor(serial);
    std::int64_t seconds = static_cast<std::int64_t>(std::llround((serial - whole) * 86400.0));
    std::int64_t day = static_cast<std::int64_t>(whole) + seconds / 86400;
    seconds %= 86400;
    // days since 1970-01-01
    std::int64_t z;
    if (date1904) z = day - 24107;  // 1904-01-01
    else z = day - 25569 + (day < 61 ? 1 : 0);  // 1899-12-30, before the fictitious leap day one later
    // civil_from_days (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms")
    z += 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = yoe + era * 400;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[96];
    if (seconds == 0)
        std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", (long long) y, (long long) m, (long long) d);
    else
        std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", (long long) y, (long long) m,
                      (long long) d, (long long) (seconds / 3600), (long long) (seconds / 60 % 60),
                      (long long) (seconds % 60));
    return buf;
}

std::vector<XlsxSheet> xlsx_sheets(std::string_view bytes, const XlsxOptions& options) {
    if (!looks_like_zip(bytes)) throw bad_workbook("the file is not an Excel workbook (.xlsx files are zip archives)");
    ZipArchive zip(bytes, options.max_part_bytes);
    Workbook wb;
    std::vector<Relationship> rels;
    std::vector<XlsxSheet> out;
    for (const auto& s : sheet_refs_of(zip, wb, rels)) out.push_back({s.name, rel_target(rels, s.rel_id)});
    return out;
}

std::string xlsx_to_csv(std::string_view bytes, const XlsxOptions& options) {
    if (!looks_like_zip(bytes)) throw bad_workbook("the file is not an Excel workbook (.xlsx files are zip archives)");
    ZipArchive zip(bytes, options.max_part_bytes);
    Workbook wb;
    std::vector<Relationship> rels;
    auto refs = sheet_refs_of(zip, wb, rels);

    // the sheet: by exact name, by name ignoring case, by 1-based position
    const Workbook::SheetRef* chosen = options.sheet.empty() ? &refs[0] : nullptr;
    auto lower = [](std::string s) {
        for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return s;
    };
    for (const auto& s : refs)
        if (!chosen && s.name == options.sheet) chosen = &s;
    for (const auto& s : refs)
        if (!chosen && lower(s.name) == lower(options.sheet)) chosen = &s;
    if (!chosen && !options.sheet.empty() &&
        std::all_of(options.sheet.begin(), options.sheet.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        unsigned long i = std::strtoul(options.sheet.c_str(), nullptr, 10);
        if (i >= 1 && i <= refs.size()) chosen = &refs[i - 1];
    }
    if (!chosen) {
        std::string names;
        for (const auto& s : refs) names += (names.empty() ? "\"" : ", \"") + s.name + "\"";
        throw std::invalid_argument("the workbook has no sheet \"" + options.sheet + "\" (sheets: " + names +
                                    "; give a name or a position from 1)");
    }

    SharedStringsHandler strings;
    std::string strings_part = rel_target_of_type(rels, "/sharedStrings").value_or("xl/sharedStrings.xml");
    if (zip.has(strings_part)) parse_part(zip, strings_part, strings);
    StylesHandler styles;
    std::string styles_part = rel_target_of_type(rels, "/styles").value_or("xl/styles.xml");
    if (zip.has(styles_part)) parse_part(zip, styles_part, styles);
    std::vector<bool> xf_is_date;
    for (int id : styles.xf_format) {
        auto custom = styles.custom_formats.find(id);
        xf_is_date.push_back(is_date_number_format(id, custom == styles.custom_formats.end() ? "" : custom->second));
    }

    SheetHandler sheet(strings.strings, xf_is_date, wb.date1904, options.decimal);
    parse_part(zip, rel_target(rels, chosen->rel_id), sheet);
    std::vector<Row>& rows = sheet.rows;
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const Row& r) { return r.cells.empty(); }), rows.end());
    if (rows.empty()) return {};
    std::int32_t min_col = 16385, max_col = 0;
    for (const Row& r : rows) {
        min_col = std::min(min_col, r.cells.front().col);
        max_col = std::max(max_col, r.cells.back().col);
    }
    fill_merges(rows, sheet.merges, max_col);

    // header band -> one header line; row n on line n
    std::int64_t band_end = header_band_end(rows, 0, sheet.merges);
    std::vector<std::string> header(static_cast<std::size_t>(max_col - min_col + 1));
    std::size_t first_data = 0;
    for (; first_data < rows.size() && rows[first_data].r <= band_end; ++first_data) {
        for (const Cell& c : rows[first_data].cells) {
            std::string& h = header[static_cast<std::size_t>(c.col - min_col)];
            bool repeat = h.size() >= c.text.size() && h.compare(h.size() - c.text.size(), c.text.size(), c.text) == 0;
            if (!repeat) h += (h.empty() ? "" : " ") + c.text;
        }
    }
    std::string out;
    std::int64_t line = 1;
    auto write_line = [&](std::int64_t at, auto&& write_fields) {
        for (; line < at; ++line) out += '\n';
        write_fields();
        out += '\n';
        ++line;
        if (out.size() > max_csv_bytes) throw bad_workbook("the sheet is too large to import at once");
    };
    write_line(band_end, [&] {
        for (std::size_t i = 0; i < header.size(); ++i) {
            if (i) out += ',';
            append_csv_field(out, header[i]);
        }
    });
    for (std::size_t i = first_data; i < rows.size(); ++i) {
        write_line(rows[i].r, [&] {
            std::int32_t at = min_col;
            for (const Cell& c : rows[i].cells) {
                for (; at < c.col; ++at) out += ',';
                append_csv_field(out, c.text);
            }
            for (; at < max_col; ++at) out += ',';
        });
        if ((i & 0x3fff) == 0) check_cancel();
    }
    return out;
}

}  // namespace salesflow::ingest

// RFC 4180 tokenizer for uploaded invoice files.
//
// Splits text into records and fields: fields may be quoted, "" inside quotes
// is one quote, quoted fields may hold delimiters and line breaks (a record
// can span several physical lines; we report the line where it starts, and
// keep counting physical lines across it). Lines end in LF, CRLF or a lone
// CR (old Mac exports). Blank lines are skipped. Where real files break the
// RFC we stay lenient rather than guess: a quote in the middle of an unquoted
// field is an ordinary character, text after a closing quote is kept
// literally, and spaces before an opening quote are ignored. The one error the
// tokenizer reports is a quote that is never closed: by the RFC the rest of
// the input belongs to that field, so the record is flagged and ends the file.
//
// The reader works on a view of the caller's text and hands out views, so an
// 80 MB file is split without copying fields, except those holding "".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace salesflow::ingest {

struct CsvRecord {
    std::int64_t line_no = 0;             // physical line (1-based) where the record starts
    std::string_view raw;                  // the record as written, without its line terminator
    std::vector<std::string_view> fields;  // unquoted and unescaped; valid until the next read
    bool unterminated_quote = false;       // a quoted field ran to the end of the input
};

class CsvReader {
public:
    CsvReader(std::string_view text, char delimiter) noexcept;

    // Reads the next record that is not a blank line; false at the end of the
    // input. The record's views stay valid until the next call.
    bool next(CsvRecord& record);

    // Bytes consumed so far (for progress and for estimating sizes).
    std::size_t position() const noexcept { return pos_; }

private:
    struct FieldSpan {
        std::size_t begin;
        std::size_t size;
        bool in_scratch;  // unescaped copy in scratch_ rather than a view of the text
    };

    bool read_record(CsvRecord& record);
    bool read_plain_line(CsvRecord& record);
    void read_quoted_field(CsvRecord& record, std::size_t open_quote);
    void consume_line_end() noexcept;

    std::string_view text_;
    char delimiter_;
    std::size_t pos_ = 0;
    std::int64_t line_ = 1;
    std::size_t next_newline_ = 0;  // offset of the next LF at or after pos_ (size when none)
    std::string scratch_;
    std::vector<FieldSpan> spans_;
    std::array<bool, 256> stops_;  // bytes that end an unquoted field
};

// Strips a UTF-8 byte order mark (Excel writes one for "CSV UTF-8").
std::string_view strip_utf8_bom(std::string_view text) noexcept;

// The delimiter among , ; TAB | that splits the first ~50 records into the
// most consistent field count greater than one (ties: more fields, then the
// order listed). ',' when none splits anything.
char detect_delimiter(std::string_view text);

// True for the four delimiters we accept.
bool is_supported_delimiter(char c) noexcept;

}  // namespace salesflow::ingest

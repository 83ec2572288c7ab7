// RFC 4180 tokenizer and delimiter detection; see csv.hpp for the rules and
// the places where we are deliberately lenient.
#include "core/ingest/csv.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>

namespace salesflow::ingest {

namespace {

// A line of nothing but spaces is blank, not a one-field record.
bool is_blank(std::string_view raw) noexcept {
    return std::all_of(raw.begin(), raw.end(), [](char c) { return c == ' '; });
}

}  // namespace

CsvReader::CsvReader(std::string_view text, char delimiter) noexcept
    : text_(text), delimiter_(delimiter) {
    spans_.reserve(32);
    stops_.fill(false);
    stops_[static_cast<unsigned char>(delimiter)] = true;
    stops_['\n'] = true;
    stops_['\r'] = true;
}

void CsvReader::consume_line_end() noexcept {
    // Called with pos_ at '\r' or '\n'; CRLF counts as one line break.
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
}

bool CsvReader::next(CsvRecord& record) {
    while (pos_ < text_.size()) {
        if (!read_record(record)) continue;  // a blank line
        return true;
    }
    return false;
}

void CsvReader::read_quoted_field(CsvRecord& record, std::size_t open_quote) {
    const std::size_t n = text_.size();
    std::size_t content = open_quote + 1;
    std::size_t i = content;
    bool copied = false;  // switched to an unescaped copy in scratch_
    std::size_t scratch_begin = 0;
    for (;;) {
        // Scan to the next quote, counting the line breaks we pass.
        std::size_t j = i;
        while (j < n && text_[j] != '"') {
            const char c = text_[j];
            if (c == '\n' || (c == '\r' && !(j + 1 < n && text_[j + 1] == '\n'))) ++line_;
            ++j;
        }
        if (j == n) {
            // Never closed: by the RFC the rest of the input is this field.
            if (copied) {
                scratch_.append(text_.data() + i, n - i);
                spans_.push_back({scratch_begin, scratch_.size() - scratch_begin, true});
            } else {
                spans_.push_back({content, n - content, false});
            }
            record.unterminated_quote = true;
            pos_ = n;
            return;
        }
        if (j + 1 < n && text_[j + 1] == '"') {
            // "" is one quote: from here on the field needs its own copy.
            if (!copied) {
                copied = true;
                scratch_begin = scratch_.size();
                scratch_.append(text_.data() + content, j - content);
            } else {
                scratch_.append(text_.data() + i, j - i);
            }
            scratch_.push_back('"');
            i = j + 2;
            continue;
        }
        // Closing quote.
        std::size_t after = j + 1;
        std::size_t junk_end = after;
        while (junk_end < n && text_[junk_end] != delimiter_ && text_[junk_end] != '\n' &&
               text_[junk_end] != '\r')
            ++junk_end;
        if (junk_end == after && !copied) {
            spans_.push_back({content, j - content, false});
        } else {
            // Text after the closing quote ("abc"def) is kept as written.
            if (!copied) {
                copied = true;
                scratch_begin = scratch_.size();
                scratch_.append(text_.data() + content, j - content);
            } else {
                scratch_.append(text_.data() + i, j - i);
            }
            scratch_.append(text_.data() + after, junk_end - after);
            spans_.push_back({scratch_begin, scratch_.size() - scratch_begin, true});
        }
        pos_ = junk_end;
        return;
    }
}

bool CsvReader::read_plain_line(CsvRecord& record) {
    // Most lines of real exports have no quote and end in LF or CRLF: find
    // the end with memchr (vectorised in every libc) and split the line
    // without the state machine. Returns false, having consumed nothing,
    // for lines that need it.
    const std::size_t n = text_.size();
    const char* begin = text_.data() + pos_;
    const std::size_t rest = n - pos_;
    // The next LF is cached: in a file that ends lines with lone CRs there
    // is none, and searching the whole rest for it per record would be
    // quadratic; the scan below stops at the first CR or quote, early in
    // such files.
    if (next_newline_ < pos_ || next_newline_ == 0) {
        const void* found = std::memchr(begin, '\n', rest);
        next_newline_ = found ? static_cast<std::size_t>(static_cast<const char*>(found) - text_.data()) : n;
    }
    const bool has_newline = next_newline_ < n;
    const std::size_t length = next_newline_ - pos_;
    std::size_t content = length;
    if (content > 0 && begin[content - 1] == '\r') --content;

    record.fields.clear();
    const char* p = begin;
    const char* end = begin + content;
    const char* field = p;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // Eight bytes at a time: mark the bytes equal to the delimiter, a quote
    // or a CR (exact per-byte test, no carries between bytes).
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
    auto equal_bytes = [](std::uint64_t word, std::uint64_t pattern) {
        const std::uint64_t x = word ^ pattern;
        return ~(((x & low7) + low7) | x | low7);  // high bit set where the byte was equal
    };
    const std::uint64_t delimiters = ones * static_cast<unsigned char>(delimiter_);
    const std::uint64_t quotes = ones * static_cast<unsigned char>('"');
    const std::uint64_t returns = ones * static_cast<unsigned char>('\r');
    for (; p + 8 <= end; p += 8) {
        std::uint64_t word;
        std::memcpy(&word, p, sizeof word);
        if ((equal_bytes(word, quotes) | equal_bytes(word, returns)) != 0) return false;
        for (std::uint64_t hits = equal_bytes(word, delimiters); hits != 0; hits &= hits - 1) {
            const char* d = p + (__builtin_ctzll(hits) >> 3);
            record.fields.emplace_back(field, static_cast<std::size_t>(d - field));
            field = d + 1;
        }
    }
#endif
    for (; p < end; ++p) {
        const char c = *p;
        if (c == '"' || c == '\r') return false;
        if (c == delimiter_) {
            record.fields.emplace_back(field, static_cast<std::size_t>(p - field));
            field = p + 1;
        }
    }
    record.fields.emplace_back(field, static_cast<std::size_t>(end - field));
    record.line_no = line_;
    record.unterminated_quote = false;
    record.raw = std::string_view(begin, content);
    pos_ += has_newline ? length + 1 : length;
    if (has_newline || content != length) ++line_;
    return true;
}

bool CsvReader::read_record(CsvRecord& record) {
    if (read_plain_line(record)) return !is_blank(record.raw);
    const std::size_t n = text_.size();
    const std::size_t start = pos_;
    record.line_no = line_;
    record.unterminated_quote = false;
    record.fields.clear();
    spans_.clear();
    scratch_.clear();
    const char delim = delimiter_;

    for (;;) {
        // At the start of a field.
        std::size_t q = pos_;
        if (delim != ' ')
            while (q < n && text_[q] == ' ') ++q;
        if (q < n && text_[q] == '"') {
            read_quoted_field(record, q);
        } else {
            std::size_t j = pos_;
            while (j < n && !stops_[static_cast<unsigned char>(text_[j])]) ++j;
            spans_.push_back({pos_, j - pos_, false});
            pos_ = j;
        }
        if (pos_ < n && text_[pos_] == delim) {
            ++pos_;
            continue;
        }
        break;  // end of line or of input
    }
    const std::size_t end = pos_;
    if (pos_ < n) consume_line_end();

    record.raw = text_.substr(start, end - start);
    // A line of nothing but spaces is blank, not a one-field record.
    if (!record.unterminated_quote && is_blank(record.raw)) return false;

    record.fields.reserve(spans_.size());
    for (const FieldSpan& s : spans_) {
        record.fields.push_back(s.in_scratch ? std::string_view(scratch_).substr(s.begin, s.size)
                                             : text_.substr(s.begin, s.size));
    }
    return true;
}

std::string_view strip_utf8_bom(std::string_view text) noexcept {
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
        static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
        text.remove_prefix(3);
    return text;
}

bool is_supported_delimiter(char c) noexcept {
    return c == ',' || c == ';' || c == '\t' || c == '|';
}

char detect_delimiter(std::string_view text) {
    static constexpr std::array<char, 4> candidates = {',', ';', '\t', '|'};
    static constexpr int sample_records = 50;
    // Only look at a bounded prefix: an unterminated quote must not make
    // detection read an 80 MB file four times.
    constexpr std::size_t sample_bytes = 1 << 20;
    const std::string_view sample = text.substr(0, std::min(text.size(), sample_bytes));

    char best = ',';
    std::size_t best_frequency = 0;
    std::size_t best_width = 0;
    for (char delimiter : candidates) {
        CsvReader reader(sample, delimiter);
        CsvRecord record;
        std::map<std::size_t, std::size_t> widths;  // field count -> records
        for (int r = 0; r < sample_records && reader.next(record); ++r) ++widths[record.fields.size()];
        std::size_t frequency = 0, width = 0;
        for (const auto& [w, f] : widths) {
            if (w > 1 && (f > frequency || (f == frequency && w > width))) {
                frequency = f;
                width = w;
            }
        }
        if (frequency > best_frequency || (frequency == best_frequency && frequency > 0 && width > best_width)) {
            best = delimiter;
            best_frequency = frequency;
            best_width = width;
        }
    }
    return best;
}

}  // namespace salesflow::ingest

// Character encodings of uploaded invoice files.
//
// Uploads come from spreadsheets and shop exports: mostly UTF-8, sometimes
// Windows-1252 (Excel's "CSV" on Western Windows) or ISO-8859-1. Everything
// that leaves the ingest core is UTF-8, because it ends up in PostgreSQL text
// columns, which also refuse NUL bytes. This file validates UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), transcodes the
// two single-byte encodings, and renders arbitrary bytes as safe, bounded text
// for reject reports.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace salesflow::ingest {

inline constexpr std::size_t no_position = static_cast<std::size_t>(-1);

// Offset of the first byte that is not part of a well-formed UTF-8 sequence,
// or no_position when the whole text is valid.
std::size_t find_invalid_utf8(std::string_view bytes) noexcept;

inline bool is_valid_utf8(std::string_view bytes) noexcept {
    return find_invalid_utf8(bytes) == no_position;
}

// Windows-1252 to UTF-8. The five bytes CP1252 leaves undefined (0x81, 0x8D,
// 0x8F, 0x90, 0x9D) become the C1 code points of the same value, as
// Windows' MultiByteToWideChar does, so no input byte is ever lost.
std::string win1252_to_utf8(std::string_view bytes);

// ISO-8859-1 to UTF-8: every byte is the code point of the same value.
std::string latin1_to_utf8(std::string_view bytes);

// Text that is always valid UTF-8 with no NUL byte and at most max_bytes long:
// NUL and bytes that are not valid UTF-8 are shown as \xNN; longer text is cut
// on a character boundary and ends with "...".
std::string printable_text(std::string_view bytes, std::size_t max_bytes = 4096);

// The same text cut to max_bytes on a UTF-8 character boundary (input must be
// valid UTF-8); used to keep values quoted inside reasons short.
std::string_view cut_utf8(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace salesflow::ingest

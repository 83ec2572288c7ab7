// UTF-8 validation, Windows-1252 / Latin-1 transcoding and safe rendering of
// raw bytes; see encoding.hpp. The CP1252 table is Microsoft's published
// mapping of bytes 0x80-0x9F (bestfit1252.txt); 0xA0-0xFF equal Latin-1.
#include "core/ingest/encoding.hpp"

#include <cstdint>
#include <cstring>

namespace salesflow::ingest {
namespace {

// Length of the well-formed UTF-8 sequence starting at p[0], or 0.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t available) noexcept {
    const unsigned char b0 = p[0];
    if (b0 < 0x80) return 1;
    auto cont = [&](std::size_t i) { return i < available && (p[i] & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (available < 2) return 0;
        const unsigned char b1 = p[1];
        // E0 needs A0.. to avoid overlong forms; ED must stay below the surrogates.
        if (b0 == 0xE0 && b1 < 0xA0) return 0;
        if (b0 == 0xED && b1 > 0x9F) return 0;
        return cont(1) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (available < 2) return 0;
        const unsigned char b1 = p[1];
        if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
        if (b0 == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
        return cont(1) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

void append_code_point(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

constexpr std::uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 88-8F
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 98-9F
};

template <typename Map>
std::string single_byte_to_utf8(std::string_view bytes, Map code_point_of) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 16 + 16);
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    while (i < n) {
        // Copy ASCII runs in bulk: real files are overwhelmingly ASCII.
        std::size_t j = i;
        while (j < n && static_cast<unsigned char>(bytes[j]) < 0x80) ++j;
        out.append(bytes.data() + i, j - i);
        if (j == n) break;
        append_code_point(out, code_point_of(static_cast<unsigned char>(bytes[j])));
        i = j + 1;
    }
    return out;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        // Skip eight ASCII bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t word;
            std::memcpy(&word, p + i, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len == 0) return i;
        i += len;
    }
    return no_position;
}

std::string win1252_to_utf8(std::string_view bytes) {
    return single_byte_to_utf8(bytes, [](unsigned char b) -> std::uint32_t {
        return (b >= 0x80 && b <= 0x9F) ? cp1252_high[b - 0x80] : b;
    });
}

std::string latin1_to_utf8(std::string_view bytes) {
    return single_byte_to_utf8(bytes, [](unsigned char b) -> std::uint32_t { return b; });
}

std::string printable_text(std::string_view bytes, std::size_t max_bytes) {
    static constexpr char hex[] = "0123456789ABCDEF";
    static constexpr std::string_view ellipsis = "...";
    if (max_bytes < ellipsis.size()) max_bytes = ellipsis.size();
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();

    // Each input unit renders as either itself (a valid character) or \xNN.
    auto unit_at = [&](std::size_t i, std::size_t& consumed) -> std::size_t {
        if (p[i] == 0) {
            consumed = 1;
            return 4;
        }
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            consumed = 1;
            return 4;
        }
        consumed = len;
        return len;
    };

    // First decide whether everything fits; most values are short and clean.
    std::size_t total = 0;
    for (std::size_t i = 0; i < n && total <= max_bytes;) {
        std::size_t consumed = 0;
        total += unit_at(i, consumed);
        i += consumed;
    }
    const bool fits = total <= max_bytes;
    const std::size_t budget = fits ? max_bytes : max_bytes - ellipsis.size();

    std::string out;
    out.reserve(fits ? total : max_bytes);
    for (std::size_t i = 0; i < n;) {
        std::size_t consumed = 0;
        const std::size_t width = unit_at(i, consumed);
        if (out.size() + width > budget) break;
        const bool escaped = width == 4 && consumed == 1;
        if (escaped) {
            out += "\\x";
            out.push_back(hex[p[i] >> 4]);
            out.push_back(hex[p[i] & 0xF]);
        } else {
            out.append(bytes.data() + i, consumed);
        }
        i += consumed;
    }
    if (!fits) out += ellipsis;
    return out;
}

std::string_view cut_utf8(std::string_view text, std::size_t max_bytes) noexcept {
    if (text.size() <= max_bytes) return text;
    std::size_t end = max_bytes;
    // Step back over continuation bytes so we never split a character.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

}  // namespace salesflow::ingest

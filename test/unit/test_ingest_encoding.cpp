// Tests of UTF-8 validation, Windows-1252 / Latin-1 decoding and the rendering
// of raw bytes into text that PostgreSQL accepts.
#include <gtest/gtest.h>

#include <string>

#include "core/ingest/encoding.hpp"

namespace {

using namespace salesflow::ingest;

TEST(IngestEncoding, ValidatesUtf8) {
    EXPECT_TRUE(is_valid_utf8("Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_EQ(find_invalid_utf8("ab\xE9z"), 2u);           // Latin-1 é
    EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);          // overlong '/'
    EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);     // surrogate U+D800
    EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
    EXPECT_EQ(find_invalid_utf8("abc\xE2\x82"), 3u);       // truncated at the end
    EXPECT_EQ(find_invalid_utf8("0123456789abcdef\x80"), 16u);
}

TEST(IngestEncoding, DecodesWindows1252) {
    // "Café £5 €3 “x”" as Excel writes it on a Western Windows.
    const std::string bytes = "Caf\xE9 \xA3" "5 \x80" "3 \x93x\x94";
    EXPECT_EQ(win1252_to_utf8(bytes), "Caf\xC3\xA9 \xC2\xA3" "5 \xE2\x82\xAC" "3 \xE2\x80\x9Cx\xE2\x80\x9D");
    // Undefined CP1252 bytes map to the C1 code point of the same value.
    EXPECT_EQ(win1252_to_utf8("\x81\x8D\x8F\x90\x9D"), "\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D");
}

TEST(IngestEncoding, DecodesLatin1) {
    EXPECT_EQ(latin1_to_utf8("\x80\xE9\xFF"), "\xC2\x80\xC3\xA9\xC3\xBF");
}

TEST(IngestEncoding, PrintableTextEscapesAndTruncates) {
    EXPECT_EQ(printable_text(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(printable_text("ok \xFF \xC3\xA9"), "ok \\xFF \xC3\xA9");
    const std::string long_text(5000, 'x');
    const std::string shown = printable_text(long_text);
    EXPECT_EQ(shown.size(), 4096u);
    EXPECT_EQ(shown.substr(4093), "...");
    // Never cuts inside a character.
    std::string accents;
    for (int i = 0; i < 3000; ++i) accents += "\xC3\xA9";
    const std::string cut = printable_text(accents, 101);
    EXPECT_TRUE(is_valid_utf8(cut));
    EXPECT_LE(cut.size(), 101u);
}

}  // namespace

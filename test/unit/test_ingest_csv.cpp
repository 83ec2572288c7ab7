// Tests of the RFC 4180 tokenizer behind invoice uploads: quoting, escaped
// quotes, records spanning lines (and the line numbers reported for them),
// line endings, BOM, blank lines, delimiter detection, unterminated quotes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ingest/csv.hpp"

namespace {

using salesflow::ingest::CsvReader;
using salesflow::ingest::CsvRecord;

struct Read {
    std::int64_t line_no;
    std::vector<std::string> fields;
    bool unterminated;
    std::string raw;
};

std::vector<Read> read_all(std::string_view text, char delimiter = ',') {
    CsvReader reader(text, delimiter);
    CsvRecord record;
    std::vector<Read> out;
    while (reader.next(record))
        out.push_back({record.line_no, std::vector<std::string>(record.fields.begin(), record.fields.end()),
                       record.unterminated_quote, std::string(record.raw)});
    return out;
}

using Fields = std::vector<std::string>;

TEST(IngestCsv, SplitsPlainFields) {
    const auto r = read_all("a,b,c\n1,2,3\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].fields, (Fields{"a", "b", "c"}));
    EXPECT_EQ(r[1].fields, (Fields{"1", "2", "3"}));
    EXPECT_EQ(r[1].line_no, 2);
    EXPECT_EQ(r[1].raw, "1,2,3");
}

TEST(IngestCsv, QuotedFieldsKeepDelimitersAndEscapedQuotes) {
    const auto r = read_all("\"BIRTHDAY CARD, RETRO SPOT\",\"12\"\" RULER\",\"\"\"\"\n");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fields, (Fields{"BIRTHDAY CARD, RETRO SPOT", "12\" RULER", "\""}));
}

TEST(IngestCsv, EmbeddedNewlinesKeepPhysicalLineNumbers) {
    const auto r = read_all("h1,h2\n1,\"two\nlines\"\n2,\"three\r\nphysical\rlines\"\n3,x\n");
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[1].line_no, 2);
    EXPECT_EQ(r[1].fields[1], "two\nlines");
    EXPECT_EQ(r[2].line_no, 4);  // record 2 started on line 4 ...
    EXPECT_EQ(r[2].fields[1], "three\r\nphysical\rlines");
    EXPECT_EQ(r[3].line_no, 7);  // ... and spanned lines 4-6
}

TEST(IngestCsv, CrLfAndLoneCrEndLines) {
    const auto crlf = read_all("a,b\r\n1,2\r\n3,4\r\n");
    ASSERT_EQ(crlf.size(), 3u);
    EXPECT_EQ(crlf[2].fields, (Fields{"3", "4"}));
    EXPECT_EQ(crlf[2].line_no, 3);
    const auto cr = read_all("a,b\r1,2\r3,4");
    ASSERT_EQ(cr.size(), 3u);
    EXPECT_EQ(cr[1].fields, (Fields{"1", "2"}));
    EXPECT_EQ(cr[2].line_no, 3);
}

TEST(IngestCsv, BlankLinesAreSkippedButCounted) {
    const auto r = read_all("a,b\n\n   \n1,2\n\r\n3,4");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[1].line_no, 4);
    EXPECT_EQ(r[2].line_no, 6);
}

TEST(IngestCsv, TrailingDelimiterGivesAnEmptyLastField) {
    const auto r = read_all("a,b,\n");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fields, (Fields{"a", "b", ""}));
}

TEST(IngestCsv, UnterminatedQuoteSwallowsTheRestOfTheInput) {
    const auto r = read_all("a,b\n1,\"open\n2,3\n4,5\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(r[1].unterminated);
    EXPECT_EQ(r[1].line_no, 2);
    EXPECT_EQ(r[1].fields[1], "open\n2,3\n4,5\n");
}

TEST(IngestCsv, LenientAboutStrayQuotes) {
    const auto r = read_all("12\" ruler,\"abc\"def, \"spaced\"\n");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fields, (Fields{"12\" ruler", "abcdef", "spaced"}));
}

TEST(IngestCsv, OtherDelimiters) {
    EXPECT_EQ(read_all("a;b;\"c;d\"", ';')[0].fields, (Fields{"a", "b", "c;d"}));
    EXPECT_EQ(read_all("a\tb\t\tc", '\t')[0].fields, (Fields{"a", "b", "", "c"}));
    EXPECT_EQ(read_all("a|b", '|')[0].fields, (Fields{"a", "b"}));
}

TEST(IngestCsv, StripsUtf8Bom) {
    EXPECT_EQ(salesflow::ingest::strip_utf8_bom("\xEF\xBB\xBFInvoiceNo"), "InvoiceNo");
    EXPECT_EQ(salesflow::ingest::strip_utf8_bom("InvoiceNo"), "InvoiceNo");
}

TEST(IngestCsv, DetectsEachDelimiter) {
    using salesflow::ingest::detect_delimiter;
    EXPECT_EQ(detect_delimiter("a,b,c\n1,2,3\n4,5,6\n"), ',');
    EXPECT_EQ(detect_delimiter("a;b;c\n1,5;2,5;3\n4;5;6\n"), ';');  // decimal commas do not fool it
    EXPECT_EQ(detect_delimiter("a\tb\tc\n1\t2,5\t3\n"), '\t');
    EXPECT_EQ(detect_delimiter("a|b|c\n1|2|3\n"), '|');
    // Quotes are respected: the commas inside the description do not count.
    EXPECT_EQ(detect_delimiter("a;b\n\"x, y, z\";1\n\"p, q\";2\n"), ';');
    EXPECT_EQ(detect_delimiter("single column\nvalue\n"), ',');
}

}  // namespace

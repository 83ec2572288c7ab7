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

// A byte-at-a-time restatement of the tokenizer rules, to check the reader's
// fast path (whole lines, eight bytes at a time) against on random inputs.
std::vector<Read> reference_read(std::string_view text, char delim) {
    std::vector<Read> out;
    std::size_t i = 0;
    const std::size_t n = text.size();
    std::int64_t line = 1;
    while (i < n) {
        Read r{line, {}, false, {}};
        const std::size_t start = i;
        for (;;) {
            std::string cur;
            std::size_t j = i;
            while (j < n && text[j] == ' ') ++j;
            auto plain = [&] {
                while (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') cur += text[i++];
            };
            if (j < n && text[j] == '"') {
                i = j + 1;
                for (;;) {
                    if (i >= n) {
                        r.unterminated = true;
                        break;
                    }
                    const char c = text[i];
                    if (c == '"' && i + 1 < n && text[i + 1] == '"') {
                        cur += '"';
                        i += 2;
                    } else if (c == '"') {
                        ++i;
                        break;
                    } else {
                        if (c == '\n' || (c == '\r' && !(i + 1 < n && text[i + 1] == '\n'))) ++line;
                        cur += c;
                        ++i;
                    }
                }
                if (!r.unterminated) plain();
            } else {
                plain();
            }
            r.fields.push_back(cur);
            if (!r.unterminated && i < n && text[i] == delim) {
                ++i;
                continue;
            }
            break;
        }
        r.raw = std::string(text.substr(start, i - start));
        if (i < n) {
            if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
            ++i;
            ++line;
        }
        const bool blank = r.raw.find_first_not_of(' ') == std::string::npos;
        if (r.unterminated || !blank) out.push_back(r);
    }
    return out;
}

TEST(IngestCsv, FastAndCarefulPathsAgreeOnRandomInput) {
    static constexpr char alphabet[] = {'a', 'b', ',', ';', '"', '\n', '\r', ' ', 'x', ',', 'a', '1'};
    std::uint64_t state = 12345;
    auto next = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::size_t>(state >> 33);
    };
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        const std::size_t length = next() % 60;
        for (std::size_t k = 0; k < length; ++k) text += alphabet[next() % sizeof alphabet];
        const char delim = round % 2 ? ',' : ';';
        const auto got = read_all(text, delim);
        const auto want = reference_read(text, delim);
        ASSERT_EQ(got.size(), want.size()) << "input: " << text;
        for (std::size_t r = 0; r < got.size(); ++r) {
            ASSERT_EQ(got[r].fields, want[r].fields) << "input: " << text;
            ASSERT_EQ(got[r].line_no, want[r].line_no) << "input: " << text;
            ASSERT_EQ(got[r].raw, want[r].raw) << "input: " << text;
            ASSERT_EQ(got[r].unterminated, want[r].unterminated) << "input: " << text;
        }
    }
}

TEST(IngestCsv, LongLinesCrossWordBoundaries) {
    const std::string line = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
    const auto r = read_all(line + "\r\n" + line + ",\"quoted, late\"\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].fields.size(), 8u);
    EXPECT_EQ(r[0].fields[7], "Country");
    EXPECT_EQ(r[1].fields.size(), 9u);
    EXPECT_EQ(r[1].fields[8], "quoted, late");
}

}  // namespace

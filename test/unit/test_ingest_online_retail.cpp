// Ingests the real UCI Online Retail sample (test/data/online_retail)
// and checks it against facts computed independently: by a naive reader in
// this test, and by a Python csv one-off while writing it (stated below).
//
// Facts (python3 csv module, 2024): 33,735 lines; 2,017 invoices of which 357
// are cancellations ("C..."); 400 customers, no anonymous line; 2,901 stock
// codes; 805 return lines (all C invoices, all negative quantities); 2 lines
// with price 0; sum(quantity * price) = 623,673.59; 249 non-product lines
// (238 with codes POST/M/D/C2 + 11 "Next Day Carriage"); 33,392 distinct
// identities, 343 lines repeating an identical earlier line, at most 5 copies;
// dates 2010-12-01 09:37 .. 2011-12-09 11:26.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/ingest/invoice.hpp"
#include "test_data.hpp"

namespace {

using namespace salesflow::ingest;

// Good enough for this file: no record spans lines, quotes wrap whole fields
// and a quote inside a quoted field is written "".
std::vector<std::string> naive_split(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            out.back().push_back('"');
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            out.emplace_back();
        } else {
            out.back().push_back(c);
        }
    }
    return out;
}

TEST(IngestOnlineRetail, MatchesIndependentlyComputedFacts) {
    const std::string bytes = test_data::read(test_data::path("online_retail/online_retail_400customers.csv"));
    ASSERT_FALSE(bytes.empty()) << "data file missing";
    const ParseResult r = parse_invoice_csv(bytes, {});

    EXPECT_EQ(r.encoding, Encoding::utf8);
    EXPECT_EQ(r.delimiter, ',');
    EXPECT_EQ(r.date_order, DateOrder::ymd);
    EXPECT_TRUE(r.rejects.empty());
    EXPECT_EQ(r.records, 33735);
    ASSERT_EQ(r.lines.size(), 33735u);

    std::set<std::string> invoices, cancellations, customers, skus;
    std::int64_t returns = 0, zero = 0, non_product = 0, anonymous = 0, repeats = 0;
    int max_occurrence = 0;
    double revenue = 0;
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    for (const InvoiceLine& l : r.lines) {
        invoices.insert(l.invoice);
        if (l.invoice[0] == 'C') cancellations.insert(l.invoice);
        if (l.customer.empty()) ++anonymous;
        else customers.insert(l.customer);
        skus.insert(l.sku);
        returns += l.is_return;
        zero += l.zero_price;
        non_product += l.non_product;
        revenue += l.line_total;
        repeats += l.occurrence > 1;
        max_occurrence = std::max(max_occurrence, l.occurrence);
        first = std::min(first, l.invoiced_at_us);
        last = std::max(last, l.invoiced_at_us);
    }
    EXPECT_EQ(invoices.size(), 2017u);
    EXPECT_EQ(cancellations.size(), 357u);
    EXPECT_EQ(customers.size(), 400u);
    EXPECT_EQ(anonymous, 0);
    EXPECT_EQ(skus.size(), 2901u);
    EXPECT_EQ(returns, 805);
    EXPECT_EQ(zero, 2);
    EXPECT_EQ(non_product, 249);
    EXPECT_NEAR(revenue, 623673.59, 0.01);
    EXPECT_EQ(repeats, 343);
    EXPECT_EQ(max_occurrence, 5);
    EXPECT_EQ(first, timestamp_us(2010, 12, 1, (9 * 60 + 37) * 60 * 1000000LL));
    EXPECT_EQ(last, timestamp_us(2011, 12, 9, (11 * 60 + 26) * 60 * 1000000LL));

    // Line by line against a naive reader of the same bytes.
    std::istringstream in(bytes);
    std::string text;
    std::getline(in, text);  // header
    std::size_t i = 0;
    double naive_revenue = 0;
    while (std::getline(in, text)) {
        const std::vector<std::string> f = naive_split(text);
        ASSERT_EQ(f.size(), 8u);
        ASSERT_LT(i, r.lines.size());
        const InvoiceLine& l = r.lines[i];
        EXPECT_EQ(l.line_no, static_cast<std::int64_t>(i) + 2);
        EXPECT_EQ(l.invoice, f[0]);
        EXPECT_EQ(l.sku, f[1]);
        EXPECT_EQ(l.description, f[2]);
        EXPECT_EQ(l.quantity, std::stod(f[3]));
        EXPECT_EQ(l.unit_price, std::stod(f[5]));
        EXPECT_EQ(l.customer, f[6]);
        EXPECT_EQ(l.country, f[7]);
        naive_revenue += std::stod(f[3]) * std::stod(f[5]);
        ++i;
    }
    EXPECT_EQ(i, r.lines.size());
    EXPECT_NEAR(naive_revenue, revenue, 1e-6);
}

}  // namespace

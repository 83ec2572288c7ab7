// Per-entity summaries of parsed invoice lines, for normalisation.
//
// Normalising an upload means upserting one row per customer, product and
// invoice. Computing those rows with hash maps here, next to the parsed lines,
// is far cheaper than sorting a million lines in SQL (DISTINCT ON + window
// functions): the SQL side then upserts a few thousand summary rows.
// "Latest" values (a customer's name, a product's description and price) come
// from the line with the latest invoice time that has the value, ties going to
// a sale over a return and then to the later line in the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ingest/invoice.hpp"

namespace salesflow::ingest {

struct CustomerSummary {
    std::string ref;  // "" = the anonymous customer
    std::string name, city, country;  // latest non-empty
    std::int64_t first_at_us = 0, last_at_us = 0;
};

struct ProductSummary {
    std::string sku;
    std::string description, category, brand;  // latest non-empty
    double last_price = 0;                     // unit price on the latest line
    bool non_product = false;                  // any line flagged
    std::int64_t first_at_us = 0, last_at_us = 0;
};

struct InvoiceSummary {
    std::string invoice;
    std::string customer;         // customer of the invoice's first line in the file
    std::int64_t at_us = 0;       // earliest line time
    bool is_return = false;       // any line is a return
    std::int64_t lines = 0;
    double total = 0;             // sum of line totals
};

// Sales of one product on one day (the invoice's day), as sales_daily holds them.
struct DailySummary {
    std::int32_t product_index = 0;
    std::int32_t day = 0;          // days since 2000-01-01 (PostgreSQL's date epoch)
    double units = 0, revenue = 0; // lines that are not returns
    std::int64_t orders = 0;       // invoices (not returns) with the product that day
    double returned_units = 0, returned_revenue = 0;  // positive numbers
};

struct LineSummaries {
    std::vector<CustomerSummary> customers;
    std::vector<ProductSummary> products;
    std::vector<InvoiceSummary> invoices;
    // Per line (same order as the input): the first line of its SKU within
    // its invoice. Counting these gives orders per product without DISTINCT.
    std::vector<bool> first_of_sku_in_invoice;
    // Per line: position of its invoice in `invoices` and of its product in
    // `products`, so that the SQL side joins lines to them on integers.
    std::vector<std::int32_t> invoice_index;
    std::vector<std::int32_t> product_index;
    // Per product and invoice day, over all lines (valid for sales_daily when
    // none of the invoices was loaded before).
    std::vector<DailySummary> daily;
};

LineSummaries summarise_lines(const std::vector<InvoiceLine>& lines);

}  // namespace salesflow::ingest

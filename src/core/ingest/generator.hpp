// A deterministic, realistic invoice-line generator for demos and scale tests.
//
// Output is CSV in the UCI Online Retail layout (InvoiceNo, StockCode,
// Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country) with ISO
// dates, covering 2023-01-01 .. 2024-12-31. The same (lines, seed) gives
// byte-identical output on every platform: the only randomness is our own
// splitmix64 stream, all arithmetic is integer (no std:: distributions,
// whose results are implementation-defined, and no libm), and each draw is a
// statement of its own (C++ leaves the evaluation order of operands open).
//
// What makes it realistic: about lines/80 customers with heavy-tailed
// activity, their own active periods (some churn), preferred weekday,
// favourite products and basket size; about lines/300 products (at least 50)
// with Zipf-like popularity and typical price points; invoices of 1-30 lines;
// weekly (quiet weekends) and yearly (autumn peak, Christmas lull)
// seasonality with growth; ~2% anonymous lines, ~2% return lines (invoice
// "C..." with negative quantities), ~0.5% non-product lines (POST postage for
// customers abroad, M manual), a few zero prices, wholesale prices for large
// quantities, and descriptions with commas that need CSV quoting.
#pragma once

#include <cstdint>
#include <string>

namespace salesflow::ingest {

// Exactly `lines` data lines after the header; lines <= 0 gives the header only.
// The most lines generate_demo_csv makes: about 0.9 GB of CSV, under
// PostgreSQL's 1 GB value limit (the bytes are built once here and copied
// once into the result, so a call peaks at about twice that).
inline constexpr std::int64_t max_demo_lines = 10000000;

std::string generate_invoice_csv(std::int64_t lines, std::uint64_t seed);

}  // namespace salesflow::ingest

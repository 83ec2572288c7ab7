// See summary.hpp.
#include "core/ingest/summary.hpp"

#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/common/cancel.hpp"

namespace salesflow::ingest {
namespace {

// Recency order of lines for "latest" values: time, then sale over return,
// then position in the file.
struct Rank {
    std::int64_t at = 0;
    bool sale = false;
    std::int64_t line_no = 0;
    bool operator>(const Rank& o) const {
        return std::tie(at, sale, line_no) > std::tie(o.at, o.sale, o.line_no);
    }
};

Rank rank_of(const InvoiceLine& l) { return {l.invoiced_at_us, !l.is_return, l.line_no}; }

// A value kept with the rank of the line it came from.
struct Latest {
    std::string value;
    Rank rank;
    bool set = false;
    void offer(const std::string& v, const Rank& r) {
        if (v.empty()) return;
        if (!set || r > rank) {
            value = v;
            rank = r;
            set = true;
        }
    }
};

struct CustomerAcc {
    Latest name, city, country;
    std::int64_t first = 0, last = 0;
};

struct ProductAcc {
    Latest description, category, brand;
    Rank price_rank;
    double price = 0;
    bool non_product = false;
    std::int64_t first = 0, last = 0;
};

struct InvoiceAcc {
    std::string customer;
    std::int64_t first_line = 0;
    std::int64_t at = 0;
    bool is_return = false;
    std::int64_t lines = 0;
    double total = 0;
};

struct PairHash {
    std::size_t operator()(const std::pair<std::string_view, std::string_view>& p) const noexcept {
        std::size_t h = std::hash<std::string_view>()(p.first);
        return h ^ (std::hash<std::string_view>()(p.second) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
};

}  // namespace

LineSummaries summarise_lines(const std::vector<InvoiceLine>& lines) {
    // Entities in order of first appearance; the maps give their position.
    std::unordered_map<std::string_view, std::int32_t> customer_at, product_at, invoice_at;
    std::vector<std::string_view> customer_keys, product_keys, invoice_keys;
    std::vector<CustomerAcc> customers;
    std::vector<ProductAcc> products;
    std::vector<InvoiceAcc> invoices;
    std::unordered_set<std::pair<std::string_view, std::string_view>, PairHash> seen_sku_in_invoice;
    LineSummaries out;
    out.first_of_sku_in_invoice.resize(lines.size());
    out.invoice_index.resize(lines.size());
    out.product_index.resize(lines.size());
    invoice_at.reserve(lines.size() / 4 + 16);
    seen_sku_in_invoice.reserve(lines.size());

    auto index_of = [](auto& at, auto& keys, auto& accs, std::string_view key, bool& created) {
        auto [it, inserted] = at.try_emplace(key, static_cast<std::int32_t>(keys.size()));
        created = inserted;
        if (inserted) {
            keys.push_back(key);
            accs.emplace_back();
        }
        return it->second;
    };

    for (std::size_t i = 0; i < lines.size(); ++i) {
        if ((i & 0xffff) == 0) check_cancel();
        const InvoiceLine& l = lines[i];
        const Rank rank = rank_of(l);
        bool created = false;

        CustomerAcc& ca = customers[index_of(customer_at, customer_keys, customers, l.customer, created)];
        if (created) ca.first = ca.last = l.invoiced_at_us;
        ca.first = std::min(ca.first, l.invoiced_at_us);
        ca.last = std::max(ca.last, l.invoiced_at_us);
        ca.name.offer(l.customer_name, rank);
        ca.city.offer(l.city, rank);
        ca.country.offer(l.country, rank);

        const std::int32_t pi = index_of(product_at, product_keys, products, l.sku, created);
        ProductAcc& pa = products[pi];
        if (created) {
            pa.first = pa.last = l.invoiced_at_us;
            pa.price_rank = rank;
            pa.price = l.unit_price;
        }
        pa.first = std::min(pa.first, l.invoiced_at_us);
        pa.last = std::max(pa.last, l.invoiced_at_us);
        pa.description.offer(l.description, rank);
        pa.category.offer(l.category, rank);
        pa.brand.offer(l.brand, rank);
        if (rank > pa.price_rank) {
            pa.price_rank = rank;
            pa.price = l.unit_price;
        }
        pa.non_product = pa.non_product || l.non_product;

        const std::int32_t ii = index_of(invoice_at, invoice_keys, invoices, l.invoice, created);
        InvoiceAcc& ia = invoices[ii];
        if (created || l.line_no < ia.first_line) {
            ia.customer = l.customer;
            ia.first_line = l.line_no;
        }
        ia.at = created ? l.invoiced_at_us : std::min(ia.at, l.invoiced_at_us);
        ia.is_return = ia.is_return || l.is_return;
        ia.lines += 1;
        ia.total += l.line_total;

        out.first_of_sku_in_invoice[i] = seen_sku_in_invoice.emplace(l.invoice, l.sku).second;
        out.invoice_index[i] = ii;
        out.product_index[i] = pi;
    }

    // Second pass: sales per (product, invoice day).
    std::unordered_map<std::uint64_t, std::size_t> daily_at;
    daily_at.reserve(lines.size() / 2 + 16);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const InvoiceLine& l = lines[i];
        const std::int64_t at = invoices[out.invoice_index[i]].at;
        const std::int64_t us_per_day = 86400LL * 1000000LL;
        const auto day = static_cast<std::int32_t>(at >= 0 ? at / us_per_day : -((-at + us_per_day - 1) / us_per_day));
        const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(out.product_index[i])) << 32) |
                                  static_cast<std::uint32_t>(day);
        auto [it, created] = daily_at.try_emplace(key, out.daily.size());
        if (created) out.daily.push_back({out.product_index[i], day, 0, 0, 0, 0, 0});
        DailySummary& d = out.daily[it->second];
        if (l.is_return) {
            d.returned_units -= l.quantity;
            d.returned_revenue -= l.line_total;
        } else {
            d.units += l.quantity;
            d.revenue += l.line_total;
            d.orders += out.first_of_sku_in_invoice[i] ? 1 : 0;
        }
    }

    out.customers.reserve(customers.size());
    for (std::size_t k = 0; k < customers.size(); ++k) {
        const CustomerAcc& a = customers[k];
        out.customers.push_back({std::string(customer_keys[k]), a.name.value, a.city.value, a.country.value,
                                 a.first, a.last});
    }
    out.products.reserve(products.size());
    for (std::size_t k = 0; k < products.size(); ++k) {
        const ProductAcc& a = products[k];
        out.products.push_back({std::string(product_keys[k]), a.description.value, a.category.value, a.brand.value,
                                a.price, a.non_product, a.first, a.last});
    }
    out.invoices.reserve(invoices.size());
    for (std::size_t k = 0; k < invoices.size(); ++k) {
        const InvoiceAcc& a = invoices[k];
        out.invoices.push_back({std::string(invoice_keys[k]), a.customer, a.at, a.is_return, a.lines, a.total});
    }
    return out;
}

}  // namespace salesflow::ingest

// Items of the next order; see basket.hpp.
#include "core/orders/basket.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace salesflow::orders {
namespace {

// Per product: its quantity in each order (oldest first) and latest price.
struct ProductHistory {
    std::vector<std::pair<int, double>> orders;  // (order index from oldest, quantity)
    int last_day = 0;
    double latest_price = 0.0;
    double total_quantity = 0.0;
};

struct Grouped {
    int orders = 0;
    std::unordered_map<std::int64_t, ProductHistory> products;
};

Grouped group(span<OrderLine> history) {
    std::vector<OrderLine> lines(history.begin(), history.end());
    for (const auto& l : lines)
        if (!std::isfinite(l.quantity) || !std::isfinite(l.unit_price))
            throw std::invalid_argument("order line quantity and price must be finite");
    // Stable: among lines of one day and product the later input line is the latest price.
    std::stable_sort(lines.begin(), lines.end(), [](const OrderLine& a, const OrderLine& b) { return a.day < b.day; });
    Grouped g;
    int prev_day = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i == 0 || lines[i].day != prev_day) ++g.orders;
        prev_day = lines[i].day;
        const int idx = g.orders - 1;
        ProductHistory& p = g.products[lines[i].product_id];
        if (p.orders.empty() || p.orders.back().first != idx) p.orders.emplace_back(idx, 0.0);
        p.orders.back().second += lines[i].quantity;
        p.last_day = lines[i].day;
        p.latest_price = lines[i].unit_price;
        p.total_quantity += lines[i].quantity;
    }
    return g;
}

double median_of_last(const std::vector<std::pair<int, double>>& orders, int window) {
    std::vector<double> q;
    for (std::size_t i = orders.size() > std::size_t(window) ? orders.size() - window : 0; i < orders.size(); ++i)
        q.push_back(orders[i].second);
    std::sort(q.begin(), q.end());
    const std::size_t n = q.size();
    return n % 2 ? q[n / 2] : 0.5 * (q[n / 2 - 1] + q[n / 2]);
}

}  // namespace

std::vector<PredictedItem> predict_basket(span<OrderLine> history, const BasketOptions& o) {
    if (!(o.prior_a > 0.0) || !(o.prior_b >= 0.0)) throw std::invalid_argument("basket prior needs a > 0, b >= 0");
    if (!(o.half_life_orders > 0.0)) throw std::invalid_argument("half_life_orders must be > 0");
    if (o.quantity_window < 1) throw std::invalid_argument("quantity_window must be >= 1");
    if (o.top_n < 0) throw std::invalid_argument("top_n must be >= 0");
    const Grouped g = group(history);
    auto weight = [&](int idx) { return std::exp2(-(g.orders - 1 - idx) / o.half_life_orders); };
    double total_weight = 0.0;
    for (int k = 0; k < g.orders; ++k) total_weight += weight(k);

    struct Scored { PredictedItem item; int last_day; };
    std::vector<Scored> scored;
    scored.reserve(g.products.size());
    for (const auto& [id, p] : g.products) {
        double w = 0.0;
        for (const auto& [idx, qty] : p.orders) w += weight(idx);
        const double prob = (w + o.prior_a) / (total_weight + o.prior_a + o.prior_b);
        scored.push_back({{id, prob, median_of_last(p.orders, o.quantity_window), p.latest_price}, p.last_day});
    }
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
        if (a.item.probability != b.item.probability) return a.item.probability > b.item.probability;
        if (a.last_day != b.last_day) return a.last_day > b.last_day;
        return a.item.product_id < b.item.product_id;
    });
    if (o.top_n > 0 && scored.size() > std::size_t(o.top_n)) scored.resize(o.top_n);
    std::vector<PredictedItem> out;
    out.reserve(scored.size());
    for (const auto& s : scored) out.push_back(s.item);
    return out;
}

double expected_amount(const std::vector<PredictedItem>& items) {
    double sum = 0.0;
    for (const auto& i : items) sum += i.probability * i.quantity * i.unit_price;
    return sum;
}

std::vector<PredictedItem> frequent_items_baseline(span<OrderLine> history, int top_n) {
    if (top_n < 0) throw std::invalid_argument("top_n must be >= 0");
    const Grouped g = group(history);
    struct Scored { PredictedItem item; double total_quantity; };
    std::vector<Scored> scored;
    for (const auto& [id, p] : g.products)
        scored.push_back({{id, double(p.orders.size()) / g.orders, median_of_last(p.orders, 3), p.latest_price},
                          p.total_quantity});
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
        if (a.item.probability != b.item.probability) return a.item.probability > b.item.probability;
        if (a.total_quantity != b.total_quantity) return a.total_quantity > b.total_quantity;
        return a.item.product_id < b.item.product_id;
    });
    if (top_n > 0 && scored.size() > std::size_t(top_n)) scored.resize(top_n);
    std::vector<PredictedItem> out;
    for (const auto& s : scored) out.push_back(s.item);
    return out;
}

}  // namespace salesflow::orders

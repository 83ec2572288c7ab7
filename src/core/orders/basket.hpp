// What will the next order contain? Per product of one customer, a
// beta–binomial estimate of the chance it is in the next order, with older
// orders discounted exponentially (recency weighting as in exponentially
// weighted moving averages; the Beta(a, b) prior keeps one-off purchases from
// scoring 1):
//   p(product) = (sum_k w_k [product in order k] + a) / (sum_k w_k + a + b),
//   w_k = 2^(-k / half_life), k = 0 for the most recent order.
// Quantity = median of the product's last `quantity_window` order quantities
// (an order's lines of the product summed); price = latest unit price seen.
// An order is a distinct purchase day (same grain as next_order).
//
// Throws std::invalid_argument: NaN/Inf quantity or price; prior_a <= 0 or
// prior_b < 0; half_life_orders <= 0; quantity_window < 1; top_n < 0.
// An empty history gives an empty list.
#pragma once

#include "core/common/span.hpp"

#include <cstdint>
#include <vector>

namespace salesflow::orders {

struct OrderLine {
    int day;
    std::int64_t product_id;
    double quantity;
    double unit_price;
};

struct BasketOptions {
    double prior_a = 0.5, prior_b = 1.5;  // Beta prior: mean 0.25, worth 2 orders
    double half_life_orders = 4.0;        // weight halves every 4 orders back
    int quantity_window = 3;
    int top_n = 10;                       // 0: all products
};

struct PredictedItem {
    std::int64_t product_id;
    double probability;
    double quantity;
    double unit_price;
};

// Sorted by probability (desc), then latest purchase (recent first), then id.
std::vector<PredictedItem> predict_basket(span<OrderLine> history, const BasketOptions& options = {});

// sum of probability × quantity × unit_price: the expected amount of the
// order if it happens (for the predicted order's total).
double expected_amount(const std::vector<PredictedItem>& items);

// Baseline for backtests: the customer's most frequent products (orders
// containing them; ties by total quantity, then id), no recency, no prior;
// probability = share of orders containing the product.
std::vector<PredictedItem> frequent_items_baseline(span<OrderLine> history, int top_n);

}  // namespace salesflow::orders

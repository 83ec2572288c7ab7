// Orders backtest on the real UCI Online Retail sample (400 customers):
// history before 2011-09-01, outcome = any purchase day 2011-09-01..09-30.
// Cancellations (InvoiceNo "C...") are skipped; a purchase day is a distinct
// day with a non-cancelled invoice; products are stock codes starting with a
// digit (POST, M, BANK CHARGES... are not products). P(alive) comes from a
// BG/NBD fit (segments module) on the same history, as the pipeline does.
// Asserted: the model's Brier beats both baselines; calibration within ±0.10
// for confidence deciles holding >= 30 predictions.
#include <gtest/gtest.h>

#include "core/orders/associations.hpp"
#include "core/orders/basket.hpp"
#include "core/orders/metrics.hpp"
#include "core/orders/next_order.hpp"
#include "core/segments/bgnbd.hpp"
#include "test_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace salesflow::orders;

// Days since 1970-01-01 (H. Hinnant's days_from_civil).
int civil_day(int y, int m, int d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') { out.back() += '"'; ++i; }
        else if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) out.emplace_back();
        else if (c != '\r') out.back() += c;
    }
    return out;
}

struct Customer {
    std::vector<OrderLine> lines;  // product lines, all days
    std::set<int> days;            // purchase days
};

std::map<std::string, Customer> load() {
    std::istringstream in = test_data::stream(test_data::path("online_retail/online_retail_400customers.csv"));
    std::map<std::string, Customer> out;
    std::map<std::string, std::int64_t> product_ids;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        const auto f = split_csv(line);
        if (f.size() < 8 || f[0].empty() || f[0][0] == 'C') continue;
        const int day = civil_day(std::stoi(f[4].substr(0, 4)), std::stoi(f[4].substr(5, 2)),
                                  std::stoi(f[4].substr(8, 2)));
        Customer& c = out[f[6]];
        c.days.insert(day);
        if (!f[1].empty() && std::isdigit(static_cast<unsigned char>(f[1][0]))) {
            const auto id = product_ids.emplace(f[1], std::int64_t(product_ids.size() + 1)).first->second;
            c.lines.push_back({day, id, std::stod(f[3]), std::stod(f[5])});
        }
    }
    return out;
}

// Timing-only backtest at one cut-off: prior, BG/NBD P(alive) and predictions
// from days <= known_through; outcome = a purchase day in the next `horizon`.
struct Timing {
    std::vector<double> p, y;
};
Timing timing_backtest(const std::map<std::string, Customer>& customers, int known_through, int horizon) {
    std::vector<std::vector<int>> history;
    std::vector<int> next;
    for (const auto& [id, c] : customers) {
        std::vector<int> h;
        int nx = -1;
        for (int d : c.days) {
            if (d <= known_through) h.push_back(d);
            else if (nx < 0) nx = d;
        }
        if (h.empty()) continue;
        history.push_back(h);
        next.push_back(nx);
    }
    const GapPrior prior = pooled_gap_prior(history);
    std::vector<double> x, tx, T;
    for (const auto& h : history) {
        x.push_back(h.size() - 1.0);
        tx.push_back((h.back() - h.front()) / 7.0);
        T.push_back((known_through - h.front()) / 7.0);
    }
    const auto bg = salesflow::segments::fit_bgnbd(x, tx, T).params;
    Timing t;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const double alive = salesflow::segments::bgnbd_p_alive(bg, x[i], tx[i], T[i]);
        t.p.push_back(predict_next_order(history[i], known_through, prior, alive, horizon).p_within_horizon);
        t.y.push_back(next[i] > 0 && next[i] <= known_through + horizon ? 1.0 : 0.0);
    }
    return t;
}

TEST(OrdersUci, BacktestSeptember2011) {
    const auto customers = load();
    // 400 customers, one of whom only ever cancelled.
    ASSERT_EQ(customers.size(), 399u) << "data file missing or changed";
    const int as_of = civil_day(2011, 9, 1), known_through = as_of - 1, horizon = 30;

    std::vector<std::vector<int>> history;
    std::vector<const Customer*> who;
    for (const auto& [id, c] : customers) {
        std::vector<int> h;
        for (int d : c.days)
            if (d <= known_through) h.push_back(d);
        if (h.empty()) continue;
        history.push_back(h);
        who.push_back(&c);
    }
    const GapPrior prior = pooled_gap_prior(history);
    std::printf("  %zu customers with history; prior mu %.3f (gap %.1f d) sigma2 %.3f kappa0 %.2f nu0 %.2f\n",
                history.size(), prior.mu, std::exp(prior.mu), prior.sigma2, prior.strength, prior.dof);

    // BG/NBD in weeks on the same history, for P(alive).
    std::vector<double> x, tx, T;
    for (const auto& h : history) {
        x.push_back(h.size() - 1.0);
        tx.push_back((h.back() - h.front()) / 7.0);
        T.push_back((known_through - h.front()) / 7.0);
    }
    const auto bg = salesflow::segments::fit_bgnbd(x, tx, T).params;

    // Recalibration fitted on three earlier 30-day backtests (August, July,
    // June 2011: outcomes all before as_of, so nothing of September leaks).
    Timing earlier;
    for (int k = 1; k <= 3; ++k) {
        const Timing t = timing_backtest(customers, known_through - 30 * k, horizon);
        earlier.p.insert(earlier.p.end(), t.p.begin(), t.p.end());
        earlier.y.insert(earlier.y.end(), t.y.begin(), t.y.end());
    }
    const Recalibration recal = fit_recalibration(earlier.p, earlier.y);
    std::printf("  recalibration from %zu earlier predictions: logit p' = %.3f + %.3f logit p\n",
                earlier.p.size(), recal.a, recal.b);

    std::vector<double> p, p_raw, p_timing_only, y, base_gap, base_rate;
    std::vector<std::vector<std::int64_t>> pred_items, base_items, actual_items;
    std::vector<double> amount_model, amount_base, amount_actual;
    std::size_t in_window = 0, ordered = 0;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const auto& h = history[i];
        const double alive = salesflow::segments::bgnbd_p_alive(bg, x[i], tx[i], T[i]);
        const NextOrder r = predict_next_order(h, known_through, prior, alive, horizon);
        p_raw.push_back(r.p_within_horizon);
        p.push_back(recalibrate(recal, r.p_within_horizon));
        p_timing_only.push_back(predict_next_order(h, known_through, prior, 1.0, horizon).p_within_horizon);
        int next = -1;
        for (int d : who[i]->days)
            if (d > known_through) { next = d; break; }
        const bool hit = next > 0 && next <= known_through + horizon;
        y.push_back(hit ? 1.0 : 0.0);
        const double mean_gap = h.size() > 1 ? double(h.back() - h.front()) / (h.size() - 1) : std::exp(prior.mu);
        base_gap.push_back(std::max<double>(h.back() + mean_gap, as_of) <= known_through + horizon ? 1.0 : 0.0);
        base_rate.push_back(1.0 - std::exp(-double(h.size()) / (known_through - h.front() + 1) * horizon));
        if (!hit) continue;
        ++ordered;
        in_window += next >= r.window_start && next <= r.window_end;
        // Items and amount of the first order after as_of.
        std::vector<OrderLine> past;
        std::set<std::int64_t> actual;
        double actual_amount = 0.0, past_amount = 0.0;
        for (const auto& l : who[i]->lines) {
            if (l.day <= known_through) { past.push_back(l); past_amount += l.quantity * l.unit_price; }
            if (l.day == next) { actual.insert(l.product_id); actual_amount += l.quantity * l.unit_price; }
        }
        BasketOptions all;
        all.top_n = 0;
        const auto items = predict_basket(past, all);
        std::vector<std::int64_t> ids;
        for (std::size_t k = 0; k < items.size() && k < 5; ++k) ids.push_back(items[k].product_id);
        pred_items.push_back(ids);
        ids.clear();
        for (const auto& it : frequent_items_baseline(past, 5)) ids.push_back(it.product_id);
        base_items.push_back(ids);
        actual_items.emplace_back(actual.begin(), actual.end());
        amount_model.push_back(expected_amount(items));
        amount_base.push_back(past_amount / h.size());
        amount_actual.push_back(actual_amount);
    }

    const double brier = brier_score(p, y), brier_timing = brier_score(p_timing_only, y);
    const double brier_raw = brier_score(p_raw, y);
    const double brier_gap = brier_score(base_gap, y), brier_rate = brier_score(base_rate, y);
    double mean_p = 0.0;
    for (double v : p) mean_p += v;
    std::printf("  customers ordered in horizon: %zu of %zu (%.3f); mean predicted %.3f\n", ordered, p.size(),
                double(ordered) / p.size(), mean_p / p.size());
    std::printf("  hit rate (p >= 0.5 came true): %.3f; next order inside the 25-75%% window: %.3f\n",
                hit_rate(p, y, 0.5), double(in_window) / ordered);
    std::printf("  Brier: model %.4f (before recalibration %.4f, p_alive 1 %.4f), average-gap baseline %.4f, "
                "rate baseline %.4f\n", brier, brier_raw, brier_timing, brier_gap, brier_rate);
    for (const auto& b : reliability_table(p_raw, y))
        std::printf("  raw [%.1f,%.1f) n=%3zu predicted %.3f observed %.3f\n", b.lo, b.hi, b.count,
                    b.mean_predicted, b.observed_frequency);
    int checked = 0;
    for (const auto& b : reliability_table(p, y)) {
        std::printf("  [%.1f,%.1f) n=%3zu predicted %.3f observed %.3f\n", b.lo, b.hi, b.count, b.mean_predicted,
                    b.observed_frequency);
        if (b.count >= 30) {
            ++checked;
            EXPECT_NEAR(b.observed_frequency, b.mean_predicted, 0.10) << "decile " << b.lo;
        }
    }
    EXPECT_GE(checked, 2);
    EXPECT_LT(brier, brier_gap);
    EXPECT_LT(brier, brier_rate);

    const auto pr = mean_precision_recall_at_k(pred_items, actual_items, 5);
    const auto pr_base = mean_precision_recall_at_k(base_items, actual_items, 5);
    std::printf("  items of the next order (%zu customers): precision@5 %.3f recall@5 %.3f; "
                "baseline (most frequent) %.3f / %.3f\n", pr.lists, pr.precision, pr.recall, pr_base.precision,
                pr_base.recall);
    std::printf("  amount MAE: model %.1f, baseline (average order) %.1f\n",
                mean_absolute_error(amount_model, amount_actual), mean_absolute_error(amount_base, amount_actual));
    EXPECT_GT(pr.precision, 0.05);
}

TEST(OrdersUci, AssociationRulesOnInvoices) {
    // Baskets = (customer, day) of the whole file.
    const auto customers = load();
    std::vector<std::vector<std::int64_t>> baskets;
    for (const auto& [id, c] : customers) {
        std::map<int, std::vector<std::int64_t>> by_day;
        for (const auto& l : c.lines) by_day[l.day].push_back(l.product_id);
        for (auto& [d, b] : by_day) baskets.push_back(std::move(b));
    }
    RuleOptions o;
    o.min_support_count = 10;
    o.min_pair_count = 8;
    o.min_confidence = 0.3;
    o.min_lift = 3.0;
    const auto res = mine_associations(baskets, o);
    std::printf("  %zu baskets, %zu frequent items, %zu pairs, %zu rules; top lift %.1f conf %.2f\n", res.baskets,
                res.frequent_items, res.pairs_counted, res.rules.size(),
                res.rules.empty() ? 0.0 : res.rules[0].lift, res.rules.empty() ? 0.0 : res.rules[0].confidence);
    ASSERT_FALSE(res.rules.empty());
    for (const auto& r : res.rules) {
        EXPECT_GE(r.confidence, 0.3);
        EXPECT_GE(r.lift, 3.0);
        EXPECT_GE(r.pair_count, 8u);
    }
}

}  // namespace

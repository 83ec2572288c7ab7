// Backtest metrics; see metrics.hpp.
#include "core/orders/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

namespace salesflow::orders {
namespace {

void check_pairs(span<double> p, span<double> y) {
    if (p.size() != y.size()) throw std::invalid_argument("predicted and outcome differ in length");
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) throw std::invalid_argument("probability outside [0, 1]");
        if (y[i] != 0.0 && y[i] != 1.0) throw std::invalid_argument("outcome must be 0 or 1");
    }
}

std::size_t hits_in_top_k(span<std::int64_t> predicted, span<std::int64_t> actual, int k) {
    if (k < 1) throw std::invalid_argument("k must be >= 1");
    const std::unordered_set<std::int64_t> truth(actual.begin(), actual.end());
    const std::size_t n = std::min<std::size_t>(predicted.size(), static_cast<std::size_t>(k));
    std::size_t hits = 0;
    for (std::size_t i = 0; i < n; ++i) hits += truth.count(predicted[i]);
    return hits;
}

}  // namespace

double brier_score(span<double> p, span<double> y) {
    check_pairs(p, y);
    if (p.empty()) throw std::domain_error("brier score of no predictions");
    double sum = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) sum += (p[i] - y[i]) * (p[i] - y[i]);
    return sum / p.size();
}

std::vector<ReliabilityBin> reliability_table(span<double> p, span<double> y, int bins) {
    check_pairs(p, y);
    if (bins < 1) throw std::invalid_argument("bins must be >= 1");
    std::vector<ReliabilityBin> out(static_cast<std::size_t>(bins));
    for (int b = 0; b < bins; ++b) out[b] = {double(b) / bins, double(b + 1) / bins, 0, 0.0, 0.0};
    for (std::size_t i = 0; i < p.size(); ++i) {
        const int b = std::min(bins - 1, static_cast<int>(p[i] * bins));
        out[b].count++;
        out[b].mean_predicted += p[i];
        out[b].observed_frequency += y[i];
    }
    for (auto& b : out)
        if (b.count > 0) {
            b.mean_predicted /= b.count;
            b.observed_frequency /= b.count;
        }
    return out;
}

double hit_rate(span<double> p, span<double> y, double threshold) {
    check_pairs(p, y);
    std::size_t called = 0;
    double hits = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i] >= threshold) {
            ++called;
            hits += y[i];
        }
    return called == 0 ? 0.0 : hits / called;
}

double precision_at_k(span<std::int64_t> predicted, span<std::int64_t> actual, int k) {
    return static_cast<double>(hits_in_top_k(predicted, actual, k)) / k;
}

double recall_at_k(span<std::int64_t> predicted, span<std::int64_t> actual, int k) {
    const std::size_t hits = hits_in_top_k(predicted, actual, k);
    const std::unordered_set<std::int64_t> truth(actual.begin(), actual.end());
    return truth.empty() ? 0.0 : static_cast<double>(hits) / truth.size();
}

PrecisionRecall mean_precision_recall_at_k(const std::vector<std::vector<std::int64_t>>& predicted,
                                           const std::vector<std::vector<std::int64_t>>& actual, int k) {
    if (predicted.size() != actual.size())
        throw std::invalid_argument("predicted and actual lists differ in count");
    if (predicted.empty()) throw std::domain_error("precision@k of no lists");
    double prec = 0.0, rec = 0.0;
    std::size_t with_actual = 0;
    for (std::size_t i = 0; i < predicted.size(); ++i) {
        prec += precision_at_k(predicted[i], actual[i], k);
        if (!actual[i].empty()) {
            rec += recall_at_k(predicted[i], actual[i], k);
            ++with_actual;
        }
    }
    return {prec / predicted.size(), with_actual ? rec / with_actual : 0.0, predicted.size()};
}

double mean_absolute_error(span<double> p, span<double> a) {
    if (p.size() != a.size()) throw std::invalid_argument("predicted and actual differ in length");
    if (p.empty()) throw std::domain_error("mean absolute error of no values");
    double sum = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) sum += std::fabs(p[i] - a[i]);
    return sum / p.size();
}

}  // namespace salesflow::orders

namespace salesflow::orders {
namespace {
double logit_clamped(double p) {
    p = std::clamp(p, 1e-6, 1.0 - 1e-6);
    return std::log(p / (1.0 - p));
}
}  // namespace

Recalibration fit_recalibration(span<double> p, span<double> y, double ridge) {
    check_pairs(p, y);
    if (!(ridge >= 0.0)) throw std::invalid_argument("ridge must be >= 0");
    Recalibration r;
    for (int it = 0; it < 50; ++it) {
        // Gradient and Hessian of the penalised log-likelihood in (a, b).
        double ga = -ridge * r.a, gb = -ridge * (r.b - 1.0);
        double haa = ridge, hab = 0.0, hbb = ridge;
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double x = logit_clamped(p[i]);
            const double q = 1.0 / (1.0 + std::exp(-(r.a + r.b * x)));
            const double w = q * (1.0 - q);
            ga += y[i] - q;
            gb += (y[i] - q) * x;
            haa += w;
            hab += w * x;
            hbb += w * x * x;
        }
        const double det = haa * hbb - hab * hab;
        if (!(det > 1e-300)) break;
        const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        r.a += da;
        r.b += db;
        if (std::fabs(da) + std::fabs(db) < 1e-10) break;
    }
    if (!std::isfinite(r.a) || !std::isfinite(r.b)) return Recalibration{};
    return r;
}

double recalibrate(const Recalibration& r, double p) {
    if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("probability outside [0, 1]");
    if (r.a == 0.0 && r.b == 1.0) return p;
    return 1.0 / (1.0 + std::exp(-(r.a + r.b * logit_clamped(p))));
}

}  // namespace salesflow::orders

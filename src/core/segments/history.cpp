// Validation and grouping of purchase histories; see history.hpp.
#include "core/segments/history.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace salesflow::segments {
namespace {

std::string fmt(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

}  // namespace

void bad_history_row(const char* model, std::size_t row, const std::string& what) {
    if (row == kSingleCustomer) throw std::invalid_argument(std::string(model) + " customer: " + what);
    throw std::invalid_argument(std::string(model) + " input row " + std::to_string(row + 1) + ": " + what);
}

void check_history(const char* model, std::size_t row, double x, double t_x, double T) {
    if (!std::isfinite(x) || !std::isfinite(t_x) || !std::isfinite(T))
        bad_history_row(model, row, "x, t_x and T must be finite numbers");
    if (x < 0.0 || x != std::floor(x))
        bad_history_row(model, row, "frequency x must be a whole number >= 0, got " + fmt(x));
    if (t_x < 0.0) bad_history_row(model, row, "recency t_x must be >= 0, got " + fmt(t_x));
    if (T < 0.0) bad_history_row(model, row, "age T must be >= 0, got " + fmt(T));
    if (x > 0.0 && t_x > T)
        bad_history_row(model, row, "recency t_x (" + fmt(t_x) + ") exceeds age T (" + fmt(T) + ")");
}

void check_horizon(double t) {
    if (!std::isfinite(t) || t < 0.0) throw std::invalid_argument("time horizon t must be a finite number >= 0");
}

double HistoryGroups::mean_T() const {
    if (customers == 0.0) return 0.0;
    double sum = 0.0;
    for (std::size_t i = 0; i < T.size(); ++i) sum += weight[i] * T[i];
    return sum / customers;
}

HistoryGroups group_histories(const char* model, span<double> x, span<double> t_x, span<double> T) {
    if (x.size() != t_x.size() || x.size() != T.size())
        throw std::invalid_argument(std::string(model) + " inputs frequency, recency and T must have the same length");
    const std::size_t n = x.size();
    for (std::size_t i = 0; i < n; ++i) check_history(model, i, x[i], t_x[i], T[i]);

    // t_x does not enter any likelihood when x = 0; zero it so such customers group by T.
    auto tx = [&](std::size_t i) { return x[i] > 0.0 ? t_x[i] : 0.0; };
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
        if (x[i] != x[j]) return x[i] < x[j];
        if (tx(i) != tx(j)) return tx(i) < tx(j);
        return T[i] < T[j];
    });

    HistoryGroups g;
    g.customers = static_cast<double>(n);
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = order[k];
        if (g.xs.empty() || g.xs.back() != x[i]) g.xs.push_back(x[i]);
        if (!g.T.empty() && g.xs[g.x_of.back()] == x[i] && g.t_x.back() == tx(i) && g.T.back() == T[i]) {
            g.weight.back() += 1.0;
            continue;
        }
        g.x_of.push_back(g.xs.size() - 1);
        g.t_x.push_back(tx(i));
        g.T.push_back(T[i]);
        g.weight.push_back(1.0);
    }
    return g;
}

}  // namespace salesflow::segments

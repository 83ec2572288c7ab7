// Per-customer purchase histories (x, t_x, T) shared by the customer-base
// models (BG/NBD, MBG/NBD, Pareto/NBD): validation with messages that name
// the model and the row, and grouping of identical histories so that a
// likelihood is evaluated once per distinct (x, t_x, T).
#pragma once

#include "core/common/span.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace salesflow::segments {

// Row index meaning "a single customer" (messages then name no row).
constexpr std::size_t kSingleCustomer = static_cast<std::size_t>(-1);

// std::invalid_argument "<model> input row N: <what>" (or "<model> customer: <what>").
[[noreturn]] void bad_history_row(const char* model, std::size_t row, const std::string& what);

// Input contract of every model: finite; x a whole number >= 0; t_x >= 0;
// T >= 0; t_x <= T when x > 0 (t_x is ignored when x = 0).
void check_history(const char* model, std::size_t row, double x, double t_x, double T);

// A prediction horizon: finite and >= 0.
void check_horizon(double t);

// Customers grouped by identical (x, t_x, T) (t_x set to 0 when x = 0), with
// the distinct x values indexed for terms that depend on x alone.
struct HistoryGroups {
    std::vector<double> xs;         // distinct x, ascending
    std::vector<std::size_t> x_of;  // per group: index into xs
    std::vector<double> t_x, T, weight;
    double customers = 0.0;
    double mean_T() const;          // weighted mean age (0 for no customers)
};

// Validates every row (check_history) and groups. Throws std::invalid_argument
// when the lengths differ.
HistoryGroups group_histories(const char* model, span<double> x, span<double> t_x, span<double> T);

}  // namespace salesflow::segments

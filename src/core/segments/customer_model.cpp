// Dispatch over the customer-base models and their holdout scoring; see
// customer_model.hpp.
#include "core/segments/customer_model.hpp"

#include "core/segments/bgnbd.hpp"
#include "core/segments/mbgnbd.hpp"
#include "core/segments/pareto_nbd.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace salesflow::segments {
namespace {

BgNbdParams beta_geometric(const CustomerModelParams& p) { return {p.theta[0], p.theta[1], p.theta[2], p.theta[3]}; }
ParetoNbdParams pareto(const CustomerModelParams& p) { return {p.theta[0], p.theta[1], p.theta[2], p.theta[3]}; }

}  // namespace

const char* customer_model_name(CustomerModel model) {
    switch (model) {
        case CustomerModel::bgnbd: return "bgnbd";
        case CustomerModel::mbgnbd: return "mbgnbd";
        case CustomerModel::pareto_nbd: return "pareto_nbd";
    }
    return "bgnbd";
}

CustomerModel parse_customer_model(const std::string& name) {
    for (CustomerModel m : kCustomerModels)
        if (name == customer_model_name(m)) return m;
    throw std::invalid_argument("unknown customer model \"" + name + "\" (bgnbd, mbgnbd or pareto_nbd)");
}

CustomerModelFit fit_customer_model(CustomerModel model, span<double> x, span<double> t_x, span<double> T) {
    const auto start = std::chrono::steady_clock::now();
    CustomerModelFit out{};
    out.params.model = model;
    if (model == CustomerModel::pareto_nbd) {
        const ParetoNbdFit f = fit_pareto_nbd(x, t_x, T);
        out.params.theta = {f.params.r, f.params.alpha, f.params.s, f.params.beta};
        out.loglik = f.loglik;
        out.iterations = f.iterations;
        out.converged = f.converged;
    } else {
        const BgNbdFit f = model == CustomerModel::bgnbd ? fit_bgnbd(x, t_x, T) : fit_mbgnbd(x, t_x, T);
        out.params.theta = {f.params.r, f.params.alpha, f.params.a, f.params.b};
        out.loglik = f.loglik;
        out.iterations = f.iterations;
        out.converged = f.converged;
    }
    out.fit_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return out;
}

double customer_model_p_alive(const CustomerModelParams& p, double x, double t_x, double T) {
    switch (p.model) {
        case CustomerModel::bgnbd: return bgnbd_p_alive(beta_geometric(p), x, t_x, T);
        case CustomerModel::mbgnbd: return mbgnbd_p_alive(beta_geometric(p), x, t_x, T);
        case CustomerModel::pareto_nbd: return pareto_nbd_p_alive(pareto(p), x, t_x, T);
    }
    throw std::invalid_argument("unknown customer model");
}

double customer_model_expected(const CustomerModelParams& p, double t, double x, double t_x, double T) {
    switch (p.model) {
        case CustomerModel::bgnbd: return bgnbd_expected_conditional(beta_geometric(p), t, x, t_x, T);
        case CustomerModel::mbgnbd: return mbgnbd_expected_conditional(beta_geometric(p), t, x, t_x, T);
        case CustomerModel::pareto_nbd: return pareto_nbd_expected_conditional(pareto(p), t, x, t_x, T);
    }
    throw std::invalid_argument("unknown customer model");
}

double customer_model_p_no_purchase(const CustomerModelParams& p, double t, double x, double t_x, double T) {
    switch (p.model) {
        case CustomerModel::bgnbd: return bgnbd_p_no_purchase(beta_geometric(p), t, x, t_x, T);
        case CustomerModel::mbgnbd: return mbgnbd_p_no_purchase(beta_geometric(p), t, x, t_x, T);
        case CustomerModel::pareto_nbd: return pareto_nbd_p_no_purchase(pareto(p), t, x, t_x, T);
    }
    throw std::invalid_argument("unknown customer model");
}

double auc(span<double> score, span<double> outcome) {
    if (score.size() != outcome.size()) throw std::invalid_argument("auc: score and outcome differ in length");
    const std::size_t n = score.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return score[i] < score[j]; });
    // Sum of the (mid-)ranks of the positives.
    double rank_sum = 0.0, positives = 0.0;
    for (std::size_t k = 0; k < n;) {
        std::size_t end = k;
        while (end < n && score[order[end]] == score[order[k]]) ++end;
        const double mid_rank = 0.5 * (static_cast<double>(k + 1) + static_cast<double>(end));
        for (std::size_t m = k; m < end; ++m) {
            const double y = outcome[order[m]];
            if (y != 0.0 && y != 1.0) throw std::invalid_argument("auc: outcomes must be 0 or 1");
            rank_sum += y * mid_rank;
            positives += y;
        }
        k = end;
    }
    const double negatives = static_cast<double>(n) - positives;
    if (positives == 0.0 || negatives == 0.0) return std::numeric_limits<double>::quiet_NaN();
    return (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives);
}

CandidateScore score_candidate(CustomerModel model, span<double> x, span<double> t_x, span<double> T,
                               span<double> no_purchase, double horizon) {
    if (no_purchase.size() != x.size()) throw std::invalid_argument("holdout outcomes and histories differ in length");
    CandidateScore s;
    s.at_cutoff = fit_customer_model(model, x, t_x, T);
    s.customers = x.size();
    std::vector<double> p(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        p[i] = customer_model_p_no_purchase(s.at_cutoff.params, horizon, x[i], t_x[i], T[i]);
    const double churned = std::accumulate(no_purchase.begin(), no_purchase.end(), 0.0);
    if (x.size() >= kMinHoldoutCustomers && churned > 0.0 && churned < static_cast<double>(x.size()))
        s.calibration = orders::fit_recalibration(p, no_purchase);
    s.brier_raw = orders::brier_score(p, no_purchase);
    std::vector<double> calibrated(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) calibrated[i] = orders::recalibrate(s.calibration, p[i]);
    s.brier = orders::brier_score(calibrated, no_purchase);
    s.auc = auc(p, no_purchase);
    return s;
}

}  // namespace salesflow::segments

// One interface over the three customer-base models (BG/NBD, MBG/NBD,
// Pareto/NBD) and their choice per tenant by a holdout backtest.
//
// Every model has four positive parameters: (r, α, a, b) for BG/NBD and
// MBG/NBD, (r, α, s, β) for Pareto/NBD. The choice (choose_customer_model):
// each candidate is fitted on the histories at an earlier cut-off day, its
// P(no purchase in the next `horizon`) is compared with what happened after
// the cut-off, a logistic recalibration (orders::fit_recalibration) is fitted
// on those pairs, and the candidate with the lowest recalibrated Brier score
// wins. The same recalibration is then applied to that model's predictions at
// the as-of day: churn risk calibrated on the tenant's own history.
#pragma once

#include "core/common/span.hpp"
#include "core/orders/metrics.hpp"

#include <array>
#include <string>
#include <vector>

namespace salesflow::segments {

enum class CustomerModel { bgnbd, mbgnbd, pareto_nbd };

// "bgnbd", "mbgnbd", "pareto_nbd"; parse throws std::invalid_argument otherwise.
const char* customer_model_name(CustomerModel model);
CustomerModel parse_customer_model(const std::string& name);
constexpr std::array<CustomerModel, 3> kCustomerModels{CustomerModel::bgnbd, CustomerModel::mbgnbd,
                                                       CustomerModel::pareto_nbd};

struct CustomerModelParams {
    CustomerModel model;
    std::array<double, 4> theta;  // (r, α, a, b) or (r, α, s, β)
};

struct CustomerModelFit {
    CustomerModelParams params;
    double loglik;
    int iterations;
    bool converged;
    double fit_ms;  // wall time of the fit
};

CustomerModelFit fit_customer_model(CustomerModel model, span<double> x, span<double> t_x, span<double> T);

double customer_model_p_alive(const CustomerModelParams& p, double x, double t_x, double T);
double customer_model_expected(const CustomerModelParams& p, double t, double x, double t_x, double T);
double customer_model_p_no_purchase(const CustomerModelParams& p, double t, double x, double t_x, double T);

// Area under the ROC curve of `score` for outcomes 1 (Mann–Whitney, ties
// counted half); NaN when either class is empty.
double auc(span<double> score, span<double> outcome);

// A candidate scored on the holdout after the cut-off.
struct CandidateScore {
    CustomerModelFit at_cutoff;      // fitted on the histories at the cut-off
    orders::Recalibration calibration;  // identity when the holdout is too small or one-sided
    double brier_raw = 0.0;          // of P(no purchase) as the model gives it
    double brier = 0.0;              // after recalibration
    double auc = 0.0;                // of P(no purchase) against "bought nothing"
    std::size_t customers = 0;
};

// Fewer holdout customers than this (or outcomes of one kind only): no
// recalibration and no choice by score (BG/NBD, the long-standing default).
constexpr std::size_t kMinHoldoutCustomers = 50;

// Scores one candidate: fits at the cut-off histories (x, t_x, T) and compares
// its P(no purchase in horizon) with `no_purchase` (1 = bought nothing).
CandidateScore score_candidate(CustomerModel model, span<double> x, span<double> t_x, span<double> T,
                               span<double> no_purchase, double horizon);

}  // namespace salesflow::segments

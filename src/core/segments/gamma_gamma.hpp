// The Gamma-Gamma model of spend per transaction: Fader, Hardie & Lee (2005),
// "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", Journal of
// Marketing Research 42(4), 415–430, and
// Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note).
// A customer's transaction values are Gamma(p, ν); ν ~ Gamma(q, γ) across
// customers. For a customer with x >= 1 repeat transactions of mean value m̄,
//   f(m̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + x m̄)^(px+q),
// the full density of m̄ (the "x^(px)" Jacobian included, which is the
// convention of the published log-likelihood −4055.92 on CDNOW), and
//   E[M | p, q, γ, m̄, x] = p (γ + x m̄) / (px + q − 1)
//                        = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m̄,
// a weighted mean of the population mean pγ/(q−1) and the customer's own m̄.
//
// Input contract (std::invalid_argument, lower-case message naming the row):
//   spans of different length; NaN/Inf; x not a whole number >= 0; avg_value < 0.
//   Parameters must be finite and > 0.
// Which rows count: x = 0 rows carry no spend information and are skipped; so
// are x >= 1 rows with avg_value = 0, whose density is degenerate at 0.
// Degenerate populations (std::domain_error): fewer than 2 usable rows →
//   "gamma-gamma needs at least 2 customers with repeat purchases"; repeat
//   buyers present but all with zero spend → "gamma-gamma needs repeat buyers
//   with positive spend; all have zero average value".
// Identical spends across customers are fitted (FitOptions::ridge keeps the
// estimates finite). No function returns NaN or Inf.
#pragma once

#include "core/common/span.hpp"
#include "core/segments/optimize.hpp"

#include <array>

namespace salesflow::segments {

struct GammaGammaParams {
    double p, q, gamma;
};

struct GammaGammaFit {
    GammaGammaParams params;
    double loglik;       // summed over the rows used, without the ridge
    int iterations;
    bool converged;
    int customers_used;  // rows with x >= 1 and avg_value > 0
};

// MLE of (p, q, γ) from x = frequency and m̄ = avg_value per customer.
GammaGammaFit fit_gamma_gamma(span<double> frequency, span<double> avg_value, const FitOptions& options = {});

// Sum of ln f(m̄ | p, q, γ, x) over the usable rows (0 if none).
double gamma_gamma_loglik(const GammaGammaParams& params, span<double> frequency, span<double> avg_value);

// Gradient of gamma_gamma_loglik with respect to (p, q, γ).
std::array<double, 3> gamma_gamma_loglik_gradient(const GammaGammaParams& params, span<double> frequency,
                                                  span<double> avg_value);

// E[M | p, q, γ, m̄, x]. x = 0: the population mean pγ/(q−1), which needs
// q > 1 (std::domain_error otherwise). x >= 1 needs px + q > 1 (domain_error).
double gamma_gamma_expected_value(const GammaGammaParams& params, double x, double avg_value);

}  // namespace salesflow::segments

// Next-order timing: NIX empirical-Bayes prior over log-normal gaps, log-t
// posterior predictive, conditional on the silence since the last order.
// See next_order.hpp for the model and its references.
#include "core/orders/next_order.hpp"

#include "core/common/cancel.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace salesflow::orders {
namespace {

namespace bm = boost::math;

// A century: beyond it a "next order" date is meaningless, and it keeps every
// day number far from int overflow.
constexpr double kMaxGapDays = 36525.0;

// Sufficient statistics of one customer's log-gaps.
struct GapStats {
    int n = 0;          // number of gaps
    double mean = 0.0;  // mean log-gap
    double ss = 0.0;    // sum of squared deviations from the mean
};

GapStats gap_stats(const int* days, std::size_t count) {
    GapStats st;
    for (std::size_t i = 1; i < count; ++i) {
        const double y = std::log(static_cast<double>(days[i]) - static_cast<double>(days[i - 1]));
        ++st.n;
        const double delta = y - st.mean;  // Welford
        st.mean += delta / st.n;
        st.ss += delta * (y - st.mean);
    }
    return st;
}

double prior_dof(const GapPrior& p) { return p.dof > 0.0 ? p.dof : p.strength; }

struct Posterior {
    double mu, kappa, nu, sigma2;
};

// Conjugate update of NIX(mu0, kappa0; sigma0^2, nu0) with n log-gaps
// (Murphy 2007 eqs. 141–144; BDA3 eq. 3.7).
Posterior update(const GapPrior& p, const GapStats& st) {
    const double k0 = p.strength, n0 = prior_dof(p), n = st.n;
    Posterior q;
    q.kappa = k0 + n;
    q.mu = (k0 * p.mu + n * st.mean) / q.kappa;
    q.nu = n0 + n;
    const double d = st.mean - p.mu;
    q.sigma2 = (n0 * p.sigma2 + st.ss + (st.n > 0 ? k0 * n * d * d / q.kappa : 0.0)) / q.nu;
    return q;
}

// log p(y_1..y_n) under the NIX prior (Murphy 2007 eq. 171).
double log_marginal(const GapPrior& p, const GapStats& st) {
    if (st.n == 0) return 0.0;
    const Posterior q = update(p, st);
    const double n0 = prior_dof(p);
    return std::lgamma(q.nu / 2.0) - std::lgamma(n0 / 2.0) + 0.5 * std::log(p.strength / q.kappa) +
           0.5 * n0 * std::log(n0 * p.sigma2) - 0.5 * q.nu * std::log(q.nu * q.sigma2) -
           0.5 * st.n * std::log(M_PI);
}

std::vector<GapStats> all_gap_stats(const std::vector<std::vector<int>>& customers) {
    std::vector<GapStats> out;
    out.reserve(customers.size());
    std::vector<int> days;
    for (const auto& c : customers) {
        days.assign(c.begin(), c.end());
        std::sort(days.begin(), days.end());
        days.erase(std::unique(days.begin(), days.end()), days.end());
        if (days.size() >= 2) out.push_back(gap_stats(days.data(), days.size()));
    }
    return out;
}

double total_loglik(const GapPrior& p, const std::vector<GapStats>& stats) {
    double sum = 0.0;
    for (const auto& st : stats) sum += log_marginal(p, st);
    return sum;
}

// Golden-section maximisation of a unimodal-enough f on [lo, hi].
template <typename F>
double golden_max(F f, double lo, double hi, int iterations = 40) {
    const double r = (std::sqrt(5.0) - 1.0) / 2.0;
    double a = lo, b = hi;
    double c = b - r * (b - a), d = a + r * (b - a);
    double fc = f(c), fd = f(d);
    for (int i = 0; i < iterations; ++i) {
        if (fc >= fd) {
            b = d; d = c; fd = fc;
            c = b - r * (b - a); fc = f(c);
        } else {
            a = c; c = d; fc = fd;
            d = a + r * (b - a); fd = f(d);
        }
    }
    return fc >= fd ? c : d;
}

void validate_prior(const GapPrior& p) {
    if (!std::isfinite(p.mu) || !std::isfinite(p.sigma2) || !std::isfinite(p.strength) ||
        !std::isfinite(p.dof))
        throw std::invalid_argument("gap prior must be finite");
    if (p.sigma2 <= 0.0) throw std::invalid_argument("gap prior sigma2 must be > 0");
    if (p.strength <= 0.0) throw std::invalid_argument("gap prior strength must be > 0");
}

// Predictive law of the continuous gap G: log G ~ t_nu(loc, scale).
struct GapLaw {
    double loc, scale, nu;
    bm::students_t_distribution<double> t;
    GapLaw(double l, double s, double v) : loc(l), scale(s), nu(v), t(v) {}

    double z(double gap) const { return (std::log(gap) - loc) / scale; }
    // P(G > gap), as an upper tail (accurate far out).
    double survival(double gap) const {
        if (gap <= 0.0) return 1.0;
        return bm::cdf(bm::complement(t, z(gap)));
    }
    // P(K > k) for the integer gap K = max(1, round(G)).
    double survival_int(double k) const { return k < 1.0 ? 1.0 : survival(k + 0.5); }
    // Gap g with P(G > g) = tail (0 < tail < 1).
    double gap_with_survival(double tail) const {
        const double zz = bm::quantile(bm::complement(t, tail));
        return std::exp(std::min(loc + scale * zz, std::log(kMaxGapDays)));
    }
};

}  // namespace

double gap_prior_loglik(const GapPrior& prior, const std::vector<std::vector<int>>& customers) {
    validate_prior(prior);
    return total_loglik(prior, all_gap_stats(customers));
}

GapPrior pooled_gap_prior(const std::vector<std::vector<int>>& customers) {
    const std::vector<GapStats> stats = all_gap_stats(customers);
    if (stats.empty())
        throw std::domain_error("pooled gap prior needs a customer with two distinct purchase days");

    // Moment starting point: mean of customer means; pooled within-customer
    // variance (or the spread of the means when every customer has one gap).
    double gaps = 0.0, sum = 0.0, ss = 0.0, dfw = 0.0, lo = stats[0].mean, hi = stats[0].mean;
    for (const auto& st : stats) {
        gaps += st.n;
        sum += st.n * st.mean;
        ss += st.ss;
        dfw += st.n - 1;
        lo = std::min(lo, st.mean);
        hi = std::max(hi, st.mean);
    }
    GapPrior p{sum / gaps, 0.0, 1.0, 4.0};
    if (dfw > 0.0 && ss > 0.0) {
        p.sigma2 = ss / dfw;
    } else {
        double v = 0.0;
        for (const auto& st : stats) v += st.n * (st.mean - p.mu) * (st.mean - p.mu);
        p.sigma2 = v / gaps;
    }
    p.sigma2 = std::clamp(p.sigma2, 1e-4, 100.0);
    if (hi - lo < 1e-9) { lo -= 1.0; hi += 1.0; }

    // Type-II ML by coordinate ascent; scale parameters searched on log scale.
    // Bounds keep degenerate tenants (one customer, identical gaps) finite.
    auto ll = [&](const GapPrior& q) { return total_loglik(q, stats); };
    for (int round = 0; round < 6; ++round) {
        check_cancel();
        p.mu = golden_max([&](double m) { GapPrior q = p; q.mu = m; return ll(q); }, lo, hi);
        p.sigma2 = std::exp(golden_max(
            [&](double ls) { GapPrior q = p; q.sigma2 = std::exp(ls); return ll(q); },
            std::log(1e-4), std::log(100.0)));
        p.strength = std::exp(golden_max(
            [&](double lk) { GapPrior q = p; q.strength = std::exp(lk); return ll(q); },
            std::log(0.01), std::log(1000.0)));
        p.dof = std::exp(golden_max(
            [&](double lv) { GapPrior q = p; q.dof = std::exp(lv); return ll(q); },
            std::log(0.5), std::log(1000.0)));
    }
    return p;
}

NextOrder predict_next_order(span<int> days, int as_of_day, const GapPrior& prior, double p_alive,
                             int horizon_days, double window_lo_q, double window_hi_q) {
    if (days.empty()) throw std::invalid_argument("customer has no purchase days");
    for (std::size_t i = 1; i < days.size(); ++i)
        if (days[i] <= days[i - 1])
            throw std::invalid_argument("purchase days must be strictly increasing (index " +
                                        std::to_string(i) + ")");
    const int last = days[days.size() - 1];
    if (last > as_of_day) throw std::invalid_argument("purchase day after as_of day");
    if (horizon_days < 1) throw std::invalid_argument("horizon_days must be >= 1");
    if (!(p_alive >= 0.0 && p_alive <= 1.0)) throw std::invalid_argument("p_alive must be in [0, 1]");
    if (!(window_lo_q > 0.0 && window_lo_q < window_hi_q && window_hi_q < 1.0))
        throw std::invalid_argument("window quantiles must satisfy 0 < lo < hi < 1");
    validate_prior(prior);

    const Posterior q = update(prior, gap_stats(days.data(), days.size()));
    const GapLaw law(q.mu, std::sqrt(q.sigma2 * (1.0 + 1.0 / q.kappa)), q.nu);
    const double s = static_cast<double>(as_of_day) - last;  // days of silence so far

    const double surv_s = law.survival_int(s);  // P(K > s)
    // Underflow guard: below this the ratio of tails comes from the power law.
    const bool far_tail = surv_s < 1e-290;
    const double zs = law.z(s + 0.5);

    // P(K > s + d | K > s) for d >= 0.
    auto cond_survival = [&](double d) {
        if (d <= 0.0) return 1.0;
        if (!far_tail) return std::min(1.0, law.survival_int(s + d) / surv_s);
        return std::pow(law.z(s + d + 0.5) / zs, -law.nu);
    };
    // Smallest whole gap k > s with P(K <= k | K > s) >= p (approximately:
    // round the continuous conditional quantile).
    auto cond_quantile_gap = [&](double p) {
        double g;
        if (!far_tail) {
            g = law.gap_with_survival((1.0 - p) * surv_s);
        } else {
            const double zq = zs * std::pow(1.0 - p, -1.0 / law.nu);
            g = std::exp(std::min(law.loc + law.scale * zq, std::log(kMaxGapDays)));
        }
        return std::clamp(std::round(g), s + 1.0, std::max(s + 1.0, kMaxGapDays));
    };
    // P(order on days as_of+a .. as_of+b | silence), a, b >= 1.
    auto p_days = [&](double a, double b) {
        return std::clamp(cond_survival(a - 1.0) - cond_survival(b), 0.0, 1.0);
    };

    NextOrder out{};
    const double e_sigma2 = q.nu > 2.0 ? q.sigma2 * q.nu / (q.nu - 2.0) : q.sigma2;
    out.expected_gap_days = std::min(std::exp(q.mu + e_sigma2 / 2.0), kMaxGapDays);
    out.predicted_day = static_cast<int>(last + cond_quantile_gap(0.5));
    out.window_start = static_cast<int>(last + cond_quantile_gap(window_lo_q));
    out.window_end = std::max(out.window_start, static_cast<int>(last + cond_quantile_gap(window_hi_q)));
    out.p_in_window = p_alive * p_days(out.window_start - static_cast<double>(as_of_day),
                                       out.window_end - static_cast<double>(as_of_day));
    out.p_within_horizon = p_alive * p_days(1.0, horizon_days);
    out.elapsed_quantile = 1.0 - surv_s;
    return out;
}

}  // namespace salesflow::orders

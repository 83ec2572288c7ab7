// Exponential smoothing state-space models ETS(E,T,S) — Hyndman, Koehler, Ord
// & Snyder (2008), "Forecasting with Exponential Smoothing" (HKOS), chapters
// 2–7; Hyndman & Athanasopoulos, FPP 3rd ed., chapter 8.
//
// Recursions. Written in terms of the observation, the level/trend/season
// updates are the same for additive and multiplicative errors (HKOS table 2.3
// rearranged): with q = ℓ + φb the level-and-trend forecast and s the season
// one cycle back,
//     ŷ   = q (+ s | · s)
//     ℓ'  = q + α (y ∖ s − q)            (∖ = minus or divide by the season)
//     b'  = φb + (β/α)(ℓ' − ℓ − φb)
//     s'  = s + γ (y ∖ q − s).
// Only the likelihood tells the error types apart: the Gaussian likelihood
// concentrated on σ² is, up to constants, n·log Σe² with e = y − ŷ (additive)
// or e = (y − ŷ)/ŷ plus 2·Σ log|ŷ| (multiplicative) (HKOS section 5.2). We
// minimise exactly that criterion, as R's ets() does, so AIC/AICc/BIC and the
// reported log-likelihood are on R's scale.
//
// Estimation (HKOS chapter 5, R's conventions): smoothing parameters in the
// "usual" region 1e-4 <= α <= 0.9999, β <= α, γ <= 1 − α, 0.8 <= φ <= 0.98,
// and inside the admissible (forecastable) region of HKOS chapter 10 for
// seasonal models (roots of the characteristic polynomial in the unit circle);
// initial states l0, b0, s0..s(m−2) estimated too (s(m−1) follows from the
// seasonal states summing to 0, or to m when multiplicative). Starting values
// follow R's heuristics: a classical decomposition of the first three seasons
// (a Fourier regression when there are fewer), a regression line through the
// first max(10, 2m) seasonally adjusted values. We work in a
// reparameterisation that builds the usual constraints in (logistic maps,
// states scaled by the data).
//
// The optimiser alternates between the two kinds of parameters instead of
// running one Nelder–Mead over all of them (12 coordinates for a damped
// weekly model, thousands of likelihood passes): the initial states by
// Gauss–Newton at fixed smoothing parameters — the one-step forecasts are
// affine in the initial states unless the season is multiplicative, so with
// additive errors one step is the exact least-squares solution (the initial
// states "concentrated out", HKOS section 5.2) — and the 1–4 smoothing
// parameters by Nelder–Mead with the states held, until a round gains less
// than 1e-6 relative. A fit costs a few hundred passes over the data instead
// of several thousand and reaches the same likelihood as the joint search to
// within optimiser noise (ForecastEts tests: at least R's on average).
// Likelihoods are often multimodal in α, so a second, brisk start (α = 0.7)
// gets a short first round too and the better start is carried on.
//
// Selection: AICc over the candidate models (HKOS section 7.2; FPP 8.6), the
// number of parameters counting σ² too.
#include "core/forecast/ets.hpp"

#include "core/common/cancel.hpp"
#include "core/forecast/common.hpp"
#include "core/forecast/optimize.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace salesflow::forecast {

namespace {

constexpr double tol = 1e-10;    // R's TOL: guards divisions by seasons/levels
constexpr double huge = 1e10;    // R's HUGEN
constexpr double lower = 1e-4, upper = 0.9999, phi_lower = 0.8, phi_upper = 0.98;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr int max_period = 24;   // longest season ets() accepts

bool has_trend(const EtsSpec& s) { return s.trend != TrendType::none; }
bool has_season(const EtsSpec& s) { return s.season != SeasonType::none; }

struct Smoothing {
    double alpha, beta, gamma, phi;
};

// Result of running the recursions over y.
struct Pass {
    double sse = 0.0;
    double sum_log = 0.0;  // Σ log|ŷ|, multiplicative error only
    bool ok = true;
    double l = 0.0, b = 0.0;
    std::vector<double> ring;  // ring[t mod m]: season in force for time t
    int n = 0;
};

// The seasonal ring starts with the m initial states: time i (0-based) reads
// ring[i mod m], which must hold s_(m-1-i) of R's order for i < m.
std::vector<double> ring_from_initial(const std::vector<double>& s0) {
    const int m = static_cast<int>(s0.size());
    std::vector<double> ring(m);
    for (int i = 0; i < m; ++i) ring[i] = s0[m - 1 - i];
    return ring;
}

// What one pass of the recursions leaves behind.
struct KernelOut {
    double sse, sum_log, l, b;
    bool ok;
};

// The recursions of the file comment for one model class. Every flag is a
// template parameter, so each of the 15 models gets its own branch-free inner
// loop; the likelihood of a fit is nearly all spent here. The updates are
// written so that the dependency chain from one step's level and trend to the
// next is as short as possible (the loop is latency-bound):
//     ℓ' = (1−α)·ℓ + (1−α)φ·b + α·t,      t = y ∖ s (the level target)
//     b' = (1−β)φ·b + β·(t − ℓ)
// which is the file comment's b' = φb + (β/α)(ℓ' − ℓ − φb) with ℓ' expanded.
// With a multiplicative season the reciprocal 1/ŷ also gives y/q = y·s/ŷ. The ring holds the seasons in time order
// (ring[i mod m] for time i) and is updated in place; the loop runs season by
// season so the ring index needs no modulo. Σ log|ŷ| is accumulated as a
// product, renormalised through one log every few hundred steps instead of a
// log per observation.
template <bool MultErr, bool Trend, bool Damped, int Season>
KernelOut filter_kernel(const double* y, int n, int m, double alpha, double beta, double gamma, double phi,
                        double l, double b, double* ring) {
    const double ph = Damped ? phi : 1.0;
    const double a1 = 1.0 - alpha, a2 = (1.0 - alpha) * ph, c1 = (1.0 - beta) * ph, g1 = 1.0 - gamma;
    double sse = 0.0, sum_log = 0.0, prod = 1.0;
    const int block = Season != 0 ? m : n;
    for (int t0 = 0; t0 < n; t0 += block) {
        const int len = std::min(block, n - t0);
        const double* yb = y + t0;
        for (int j = 0; j < len; ++j) {
            const double yt = yb[j];
            const double q = Trend ? l + ph * b : l;
            double s = 0.0, f = q, target = yt, season_target = 0.0;
            if (Season == 1) {
                s = ring[j];
                f = q + s;
                target = yt - s;
                season_target = yt - q;
            } else if (Season == 2) {
                s = ring[j];
                f = q * s;
            }
            double e;
            if (MultErr) {
                const double af = std::fabs(f);
                if (af < tol) return {0.0, 0.0, l, b, false};
                const double r = 1.0 / f;
                e = (yt - f) * r;
                if (Season == 2) {
                    // y/s stays a division of its own: through 1/ŷ it would
                    // put a division on the level's dependency chain.
                    target = std::fabs(s) < tol ? huge : yt / s;
                    season_target = std::fabs(q) < tol ? huge : yt * s * r;
                }
                if (af > 1e50 || af < 1e-50) {
                    sum_log += std::log(af);
                } else {
                    prod *= af;
                    if (prod > 1e150 || prod < 1e-150) {
                        sum_log += std::log(prod);
                        prod = 1.0;
                    }
                }
            } else {
                e = yt - f;
            }
            sse += e * e;
            if (Trend) {
                const double lnew = a1 * l + (a2 * b + alpha * target);
                b = c1 * b + (beta * target - beta * l);
                l = lnew;
            } else {
                l = a1 * l + alpha * target;
            }
            if (Season != 0) ring[j] = g1 * s + gamma * season_target;
        }
    }
    if (MultErr) sum_log += std::log(prod);
    const bool ok = std::isfinite(sse) && std::isfinite(sum_log);
    return {sse, sum_log, l, b, ok};
}

using Kernel = KernelOut (*)(const double*, int, int, double, double, double, double, double, double, double*);

template <bool MultErr, bool Trend, bool Damped>
Kernel kernel_for_season(SeasonType s) {
    switch (s) {
        case SeasonType::none: return &filter_kernel<MultErr, Trend, Damped, 0>;
        case SeasonType::additive: return &filter_kernel<MultErr, Trend, Damped, 1>;
        case SeasonType::multiplicative: return &filter_kernel<MultErr, Trend, Damped, 2>;
    }
    return nullptr;
}

template <bool MultErr>
Kernel kernel_for_trend(const EtsSpec& spec) {
    switch (spec.trend) {
        case TrendType::none: return kernel_for_season<MultErr, false, false>(spec.season);
        case TrendType::additive: return kernel_for_season<MultErr, true, false>(spec.season);
        case TrendType::damped: return kernel_for_season<MultErr, true, true>(spec.season);
    }
    return nullptr;
}

Kernel kernel_for(const EtsSpec& spec) {
    return spec.error == ErrorType::multiplicative ? kernel_for_trend<true>(spec) : kernel_for_trend<false>(spec);
}

Pass run_filter(const EtsSpec& spec, int m, const Smoothing& p, double l, double b,
                const std::vector<double>& s0, span<double> y) {
    Pass out;
    const bool seasonal = has_season(spec) && m > 1;
    if (seasonal) out.ring = ring_from_initial(s0);
    const EtsSpec eff{spec.error, spec.trend, seasonal ? spec.season : SeasonType::none};
    const KernelOut k = kernel_for(eff)(y.data(), static_cast<int>(y.size()), m, p.alpha, p.beta, p.gamma, p.phi,
                                        l, b, seasonal ? out.ring.data() : nullptr);
    out.sse = k.sse;
    out.sum_log = k.sum_log;
    out.ok = k.ok;
    out.l = k.l;
    out.b = k.b;
    out.n = static_cast<int>(y.size());
    return out;
}

// R's criterion; +inf for parameter sets the recursions cannot evaluate.
double criterion(const EtsSpec& spec, const Pass& pass) {
    if (!pass.ok) return inf;
    double lik = pass.n * std::log(pass.sse);
    if (spec.error == ErrorType::multiplicative) lik += 2.0 * pass.sum_log;
    if (std::isnan(lik)) return inf;
    return std::max(lik, -1e10);  // a perfect fit: cap like R instead of -inf
}

int count_params(const EtsSpec& spec, int m) {
    int k = 2;  // alpha, l0
    if (has_trend(spec)) k += 2;
    if (spec.trend == TrendType::damped) k += 1;
    if (has_season(spec)) k += 1 + (m - 1);
    return k;
}

// Admissible region of seasonal models (HKOS chapter 10): the characteristic
// polynomial φ(1−α−γ) + (α+β−αφ+γ−1)z + Σ_{j=2}^{m−1}(α+β−αφ)z^j + (α+β−φ)z^m
// + z^{m+1} must have its roots in the unit circle; plus the easy bounds.
bool schur_cohn_inside(double* c, double* scratch, int size, double radius);

bool admissible_seasonal(double alpha, double beta, double gamma, double phi, int m) {
    if (gamma < std::max(1.0 - 1.0 / phi - alpha, 0.0) || gamma > 1.0 + 1.0 / phi - alpha) return false;
    if (alpha < 1.0 - 1.0 / phi - gamma * (1.0 - m + phi + phi * m) / (2.0 * phi * m)) return false;
    if (beta < -(1.0 - phi) * (gamma / m + alpha)) return false;
    double c[max_period + 2], scratch[max_period + 2];
    c[0] = phi * (1.0 - alpha - gamma);
    c[1] = alpha + beta - alpha * phi + gamma - 1.0;
    for (int j = 2; j < m; ++j) c[j] = alpha + beta - alpha * phi;
    c[m] = alpha + beta - phi;
    c[m + 1] = 1.0;
    return schur_cohn_inside(c, scratch, m + 2, 1.0 + 1e-10);
}

double logistic(double u) { return 1.0 / (1.0 + std::exp(-u)); }
double logit(double p) {
    p = std::min(std::max(p, 1e-12), 1.0 - 1e-12);
    return std::log(p / (1.0 - p));
}

// Free-parameter layout: [alpha, beta?, gamma?, phi?, l0, b0?, s0..s(m-2)?].
struct Layout {
    EtsSpec spec;
    int m;
    double scale;  // data scale for level/trend/additive seasons
};

// The parameters one point of the optimiser's space stands for.
struct Point {
    Smoothing p;
    double l0, b0;
    double s0[max_period];  // R's order; all m of them
};

// Maps the optimiser's unconstrained vector to a model; false if the point
// violates a constraint the map does not build in.
bool decode(const Layout& lay, const double* u, Point& x) {
    std::size_t i = 0;
    Smoothing& p = x.p;
    p.alpha = lower + (upper - lower) * logistic(u[i++]);
    if (has_trend(lay.spec)) {
        const double hi = std::min(upper, p.alpha);
        p.beta = lower + (hi - lower) * logistic(u[i++]);
    } else {
        p.beta = 0.0;
    }
    if (has_season(lay.spec)) {
        const double hi = std::min(upper, 1.0 - p.alpha);
        p.gamma = lower + std::max(0.0, hi - lower) * logistic(u[i++]);
    } else {
        p.gamma = 0.0;
    }
    p.phi = lay.spec.trend == TrendType::damped ? phi_lower + (phi_upper - phi_lower) * logistic(u[i++]) : 1.0;
    x.l0 = u[i++] * lay.scale;
    x.b0 = has_trend(lay.spec) ? u[i++] * lay.scale : 0.0;
    if (has_season(lay.spec)) {
        const bool mult = lay.spec.season == SeasonType::multiplicative;
        double sum = 0.0;
        for (int j = 0; j < lay.m - 1; ++j) {
            x.s0[j] = mult ? u[i++] : u[i++] * lay.scale;
            sum += x.s0[j];
        }
        x.s0[lay.m - 1] = (mult ? lay.m : 0.0) - sum;
        if (mult)
            for (int j = 0; j < lay.m; ++j)
                if (x.s0[j] < 0.0) return false;
        if (!admissible_seasonal(p.alpha, p.beta, p.gamma, p.phi, lay.m)) return false;
    }
    return true;
}

bool decode(const Layout& lay, const std::vector<double>& u, EtsModel& mdl) {
    Point x;
    if (!decode(lay, u.data(), x)) return false;
    mdl.alpha = x.p.alpha;
    mdl.beta = x.p.beta;
    mdl.gamma = x.p.gamma;
    mdl.phi = x.p.phi;
    mdl.l0 = x.l0;
    mdl.b0 = x.b0;
    if (has_season(lay.spec)) mdl.s0.assign(x.s0, x.s0 + lay.m);
    return true;
}

// Gauss–Newton pieces for the initial states at fixed smoothing parameters.
// For models whose states enter linearly (no multiplicative season) the one-
// step forecasts are affine in the initial states, so with additive errors
// one step solves the least-squares problem exactly (HKOS section 5.2 on
// concentrating the initial states out); otherwise it is a Gauss–Newton step.
// The derivatives of every state with respect to the k free initial states
// (in the optimiser's scaled coordinates) are carried along the recursions.
// The normal equations JᵀJ and Jᵀr (J the n × k Jacobian ∂r_t/∂u) are
// accumulated on the way: k ≤ 26 columns, so that costs less than storing J
// and multiplying it out afterwards, and allocates nothing.
struct StateSystem {
    double jtj[(max_period + 2) * (max_period + 2)];  // row-major, stride max_period + 2; lower triangle
    double jtr[max_period + 2];
    double glog[max_period + 2];  // Σ ∂ŷ/ŷ (multiplicative error)
    double sse, sum_log;
    bool ok;
};

// KB: the column count rounded up to a compile-time bound (the padding
// columns stay zero: the derivative recursions are linear), so the per-step
// loops have fixed trip counts over local arrays the compiler keeps in
// registers, unrolls and vectorises.
template <bool MultErr, bool Trend, bool Damped, int Season, int KB>
void state_system(const double* y, int n, int m, const Smoothing& p, const Point& x, double scale, int k,
                  StateSystem& out) {
    constexpr int K = max_period + 2;
    const double ph = Damped ? p.phi : 1.0;
    const double boa = Trend ? p.beta / p.alpha : 0.0;
    const double sscale = Season == 2 ? 1.0 : scale;
    const double alpha = p.alpha, a1 = 1.0 - p.alpha, gamma = p.gamma, g1 = 1.0 - p.gamma;
    double dl[KB] = {}, db[KB] = {};
    double dring[Season != 0 ? max_period : 1][KB];
    double ring[max_period];
    double jtj[KB * KB] = {}, jtr[KB] = {}, glog[KB] = {};
    dl[0] = scale;
    if (Trend) db[1] = scale;
    const int first_season = Trend ? 2 : 1;
    if (Season != 0) {
        for (int i = 0; i < m; ++i) {
            ring[i] = x.s0[m - 1 - i];
            for (int c = 0; c < KB; ++c) dring[i][c] = 0.0;
        }
        // ring[m-1-j] is s_j; s_(m-1) (ring[0]) is minus the sum of the others.
        for (int j = 0; j < m - 1; ++j) {
            dring[m - 1 - j][first_season + j] = sscale;
            dring[0][first_season + j] = -sscale;
        }
    }
    double l = x.l0, b = x.b0, sse = 0.0, sum_log = 0.0, prod = 1.0;
    out.ok = false;
    int pos = 0;
    for (int t = 0; t < n; ++t) {
        const double yt = y[t];
        const double q = l + ph * b;
        double dq[KB], df[KB], ds[KB];
        for (int c = 0; c < KB; ++c) dq[c] = Trend ? dl[c] + ph * db[c] : dl[c];
        double s = 0.0, f = q;
        if (Season != 0) {
            s = ring[pos];
            for (int c = 0; c < KB; ++c) ds[c] = dring[pos][c];
        }
        if (Season == 1) {
            f = q + s;
            for (int c = 0; c < KB; ++c) df[c] = dq[c] + ds[c];
        } else if (Season == 2) {
            f = q * s;
            for (int c = 0; c < KB; ++c) df[c] = s * dq[c] + q * ds[c];
        } else {
            for (int c = 0; c < KB; ++c) df[c] = dq[c];
        }
        double r, dr_scale;  // residual and ∂r = dr_scale·∂ŷ
        if (MultErr) {
            if (std::fabs(f) < tol) return;
            const double inv = 1.0 / f;
            r = (yt - f) * inv;
            dr_scale = -yt * inv * inv;
            prod *= std::fabs(f);
            if (prod > 1e150 || prod < 1e-150) {
                sum_log += std::log(prod);
                prod = 1.0;
            }
            for (int c = 0; c < KB; ++c) glog[c] += df[c] * inv;
        } else {
            r = yt - f;
            dr_scale = -1.0;
        }
        sse += r * r;
        double row[KB];
        for (int a = 0; a < KB; ++a) row[a] = dr_scale * df[a];
        for (int a = 0; a < KB; ++a) {
            jtr[a] += row[a] * r;
            // Up to 8 columns the full square vectorises best; beyond, the
            // lower triangle halves the work.
            for (int c = 0; c < (KB <= 8 ? KB : a + 1); ++c) jtj[a * KB + c] += row[a] * row[c];
        }
        // Level, trend and season updates and their derivatives.
        double tg = yt, dtg_ds = 0.0;  // level target and ∂tg/∂s
        if (Season == 1) {
            tg = yt - s;
            dtg_ds = -1.0;
        } else if (Season == 2) {
            const bool tiny = std::fabs(s) < tol;
            tg = tiny ? huge : yt / s;
            dtg_ds = tiny ? 0.0 : -yt / (s * s);
        }
        const double lnew = q + alpha * (tg - q);
        double dlnew[KB];
        for (int c = 0; c < KB; ++c) dlnew[c] = Season != 0 ? a1 * dq[c] + alpha * dtg_ds * ds[c] : a1 * dq[c];
        if (Trend) {
            const double phib = ph * b;
            b = phib + boa * (lnew - l - phib);
            for (int c = 0; c < KB; ++c) {
                const double dphib = ph * db[c];
                db[c] = dphib + boa * (dlnew[c] - dl[c] - dphib);
            }
        }
        if (Season == 1) {
            ring[pos] = s + gamma * ((yt - q) - s);
            for (int c = 0; c < KB; ++c) dring[pos][c] = g1 * ds[c] - gamma * dq[c];
        } else if (Season == 2) {
            const bool tiny = std::fabs(q) < tol;
            ring[pos] = s + gamma * ((tiny ? huge : yt / q) - s);
            const double dst_dq = tiny ? 0.0 : -yt / (q * q);  // ∂(y/q)/∂q
            for (int c = 0; c < KB; ++c) dring[pos][c] = g1 * ds[c] + gamma * dst_dq * dq[c];
        }
        if (Season != 0 && ++pos == m) pos = 0;
        l = lnew;
        for (int c = 0; c < KB; ++c) dl[c] = dlnew[c];
    }
    sum_log += std::log(prod);
    for (int a = 0; a < k; ++a) {
        out.jtr[a] = jtr[a];
        out.glog[a] = glog[a];
        for (int c = 0; c <= a; ++c) out.jtj[a * K + c] = jtj[a * KB + c];
    }
    out.sse = sse;
    out.sum_log = sum_log;
    out.ok = std::isfinite(sse) && std::isfinite(sum_log) && sse > 0.0;
}

using StateSystemFn = void (*)(const double*, int, int, const Smoothing&, const Point&, double, int, StateSystem&);

template <bool MultErr, bool Trend, bool Damped, int Season>
StateSystemFn system_for_columns(int m) {
    // k = 1 + trend + (m − 1) seasonal columns: quarterly, weekly and monthly
    // seasons get a bound close to their k.
    if (Season == 0) return &state_system<MultErr, Trend, Damped, Season, 2>;
    if (m <= 5) return &state_system<MultErr, Trend, Damped, Season, 6>;
    if (m <= 7) return &state_system<MultErr, Trend, Damped, Season, 8>;
    if (m <= 12) return &state_system<MultErr, Trend, Damped, Season, 13>;
    return &state_system<MultErr, Trend, Damped, Season, max_period + 2>;
}

template <bool MultErr, bool Trend, bool Damped>
StateSystemFn system_for_season(SeasonType s, int m) {
    switch (s) {
        case SeasonType::none: return system_for_columns<MultErr, Trend, Damped, 0>(m);
        case SeasonType::additive: return system_for_columns<MultErr, Trend, Damped, 1>(m);
        case SeasonType::multiplicative: return system_for_columns<MultErr, Trend, Damped, 2>(m);
    }
    return nullptr;
}

template <bool MultErr>
StateSystemFn system_for_trend(const EtsSpec& spec, int m) {
    switch (spec.trend) {
        case TrendType::none: return system_for_season<MultErr, false, false>(spec.season, m);
        case TrendType::additive: return system_for_season<MultErr, true, false>(spec.season, m);
        case TrendType::damped: return system_for_season<MultErr, true, true>(spec.season, m);
    }
    return nullptr;
}

StateSystemFn system_for(const EtsSpec& spec, int m) {
    return spec.error == ErrorType::multiplicative ? system_for_trend<true>(spec, m) : system_for_trend<false>(spec, m);
}

// The criterion as a function of the optimiser's vector: decode, run the
// model's kernel, nothing allocated.
struct Objective {
    Layout lay;
    Kernel kernel;
    const double* y;
    int n;
    Point x;
    double ring[max_period];

    double operator()(const std::vector<double>& u) {
        if (!decode(lay, u.data(), x)) return inf;
        const int m = lay.m;
        const bool seasonal = has_season(lay.spec);
        if (seasonal)
            for (int i = 0; i < m; ++i) ring[i] = x.s0[m - 1 - i];
        const KernelOut k =
            kernel(y, n, m, x.p.alpha, x.p.beta, x.p.gamma, x.p.phi, x.l0, x.b0, seasonal ? ring : nullptr);
        if (!k.ok) return inf;
        double lik = n * std::log(k.sse);
        if (lay.spec.error == ErrorType::multiplicative) lik += 2.0 * k.sum_log;
        if (std::isnan(lik)) return inf;
        return std::max(lik, -1e10);
    }
};

// Least squares of y on the columns of X.
Eigen::VectorXd least_squares(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    return X.colPivHouseholderQr().solve(y);
}

// R's starting states (see the file comment).
void initial_states(span<double> y, const EtsSpec& spec, int m, EtsModel& mdl) {
    const int n = static_cast<int>(y.size());
    std::vector<double> adjusted(y.begin(), y.end());
    if (has_season(spec)) {
        const bool mult = spec.season == SeasonType::multiplicative;
        if (n < 4) throw std::invalid_argument("series too short for a seasonal model");
        std::vector<double> seasonal;  // seasonal component, one per observation used
        if (n < 3 * m) {
            // Too short to decompose: a line plus one Fourier pair.
            const bool with_sin = m > 2;
            Eigen::MatrixXd X(n, with_sin ? 4 : 3);
            Eigen::VectorXd Y(n);
            const double pi = 3.14159265358979323846;
            for (int t = 0; t < n; ++t) {
                const double tt = t + 1.0;
                int c = 0;
                X(t, c++) = 1.0;
                X(t, c++) = tt;
                if (with_sin) X(t, c++) = std::sin(2.0 * pi * tt / m);
                X(t, c++) = std::cos(2.0 * pi * tt / m);
                Y[t] = y[t];
            }
            const Eigen::VectorXd beta = least_squares(X, Y);
            seasonal.resize(n);
            for (int t = 0; t < n; ++t) {
                const double trend = beta[0] + beta[1] * (t + 1.0);
                seasonal[t] = mult ? y[t] / trend : y[t] - trend;
            }
        } else {
            const std::vector<double> fig = seasonal_figure(span<double>(y.data(), 3 * m), m,
                                                            mult ? Decomposition::multiplicative : Decomposition::additive);
            seasonal.resize(3 * m);
            for (int t = 0; t < 3 * m; ++t) seasonal[t] = fig[t % m];
        }
        // s_j (R's order) is the season of time −j ≡ m − j, i.e. seasonal[m−1−j].
        mdl.s0.assign(m, 0.0);
        for (int j = 0; j < m - 1; ++j) mdl.s0[j] = seasonal[m - 1 - j];
        if (mult) {
            double sum = 0.0;
            for (int j = 0; j < m - 1; ++j) {
                mdl.s0[j] = std::max(mdl.s0[j], 1e-2);
                sum += mdl.s0[j];
            }
            if (sum > m) {
                const double denom = sum + 1e-2 * (m - 1);
                for (int j = 0; j < m - 1; ++j) mdl.s0[j] /= denom;
            }
        }
        double sum = 0.0;
        for (int j = 0; j < m - 1; ++j) sum += mdl.s0[j];
        mdl.s0[m - 1] = (mult ? m : 0.0) - sum;
        adjusted.resize(seasonal.size());
        for (std::size_t t = 0; t < seasonal.size(); ++t)
            adjusted[t] = mult ? y[t] / std::max(seasonal[t], 1e-2) : y[t] - seasonal[t];
    }
    const int mm = has_season(spec) ? m : 1;
    const int maxn = std::min(std::max(10, 2 * mm), static_cast<int>(adjusted.size()));
    if (!has_trend(spec)) {
        double s = 0.0;
        for (int t = 0; t < maxn; ++t) s += adjusted[t];
        mdl.l0 = s / maxn;
        mdl.b0 = 0.0;
    } else {
        // Line through (1..maxn, adjusted): level at time 0 and slope.
        if (maxn < 2) throw std::invalid_argument("series too short for a trend model");
        const auto [a0, slope] = linear_trend(span<double>(adjusted.data(), maxn));
        mdl.l0 = a0 - slope;  // intercept at x = 0 when the first point is x = 1
        mdl.b0 = slope;
        if (std::fabs(mdl.l0 + mdl.b0) < 1e-8) {
            mdl.l0 *= 1 + 1e-3;
            mdl.b0 *= 1 - 1e-3;
        }
    }
}

void fill_information(EtsModel& mdl, double lik, double sse, int n) {
    mdl.n = n;
    mdl.lik = lik;
    mdl.n_params = count_params(mdl.spec, mdl.period);
    const double k = mdl.n_params + 1.0;  // σ² is estimated too
    mdl.loglik = -0.5 * lik;
    mdl.aic = lik + 2.0 * k;
    mdl.bic = lik + std::log(static_cast<double>(n)) * k;
    mdl.aicc = n - k - 1.0 > 0.0 ? mdl.aic + 2.0 * k * (k + 1.0) / (n - k - 1.0) : no_likelihood;
    mdl.sigma2 = n > mdl.n_params ? sse / (n - mdl.n_params) : sse / n;
}

void check_ets_input(span<double> y, int period, const EtsSpec& spec) {
    check_series(y, period);
    if (spec.error == ErrorType::multiplicative || spec.season == SeasonType::multiplicative)
        for (double v : y)
            if (v <= 0.0) throw std::invalid_argument("multiplicative ets models need strictly positive data");
    if (has_season(spec)) {
        if (period < 2) throw std::invalid_argument("seasonal ets models need a period of at least 2");
        if (period > 24) throw std::invalid_argument("seasonal ets models need a period of at most 24");
    }
}

}  // namespace

namespace {

// Schur–Cohn on c[0..size), destroying it; scratch holds as many doubles.
bool schur_cohn_inside(double* c, double* scratch, int size, double radius) {
    // Roots of p(z) inside radius r  <=>  roots of p(r·z) inside the unit circle.
    double rk = 1.0;
    for (int i = 0; i < size; ++i) {
        c[i] *= rk;
        rk *= radius;
    }
    while (size > 1 && c[size - 1] == 0.0) --size;
    // p is stable iff |c0| < |cd| and the reduced polynomial
    // (cd·p(z) − c0·p*(z))/z is stable.
    double* r = scratch;
    while (size > 1) {
        const int d = size - 1;
        const double a0 = c[0], ad = c[d];
        if (!(std::fabs(a0) < std::fabs(ad))) return false;
        for (int j = 0; j < d; ++j) r[j] = ad * c[j + 1] - a0 * c[d - 1 - j];
        const double lead = r[d - 1];
        if (lead == 0.0 || !std::isfinite(lead)) return false;
        for (int j = 0; j < d; ++j) r[j] /= lead;  // keep the numbers in range
        std::swap(c, r);
        size = d;
    }
    return true;
}

}  // namespace

bool roots_inside(std::vector<double> c, double radius) {
    std::vector<double> scratch(c.size());
    return schur_cohn_inside(c.data(), scratch.data(), static_cast<int>(c.size()), radius);
}

std::string ets_code(const EtsSpec& s) {
    std::string code(1, s.error == ErrorType::additive ? 'A' : 'M');
    code += s.trend == TrendType::none ? "N" : s.trend == TrendType::additive ? "A" : "Ad";
    code += s.season == SeasonType::none ? 'N' : s.season == SeasonType::additive ? 'A' : 'M';
    return code;
}

bool parse_ets_code(const std::string& code, EtsSpec* spec) {
    const std::size_t len = code.size();
    if (len != 3 && len != 4) return false;
    auto is_letter = [](char c) { return c == 'A' || c == 'M' || c == 'N'; };
    if (!is_letter(code[0]) || !is_letter(code[1]) || !is_letter(code[len - 1])) return false;
    if (len == 4 && code[2] != 'd') return false;
    EtsSpec s;
    if (code[0] == 'N') throw std::invalid_argument("ets error type must be A or M");
    s.error = code[0] == 'A' ? ErrorType::additive : ErrorType::multiplicative;
    if (code[1] == 'M') throw std::invalid_argument("multiplicative trend ets models are not supported");
    if (code[1] == 'N' && len == 4) throw std::invalid_argument("a damped model needs a trend");
    s.trend = code[1] == 'N' ? TrendType::none : (len == 4 ? TrendType::damped : TrendType::additive);
    s.season = code[len - 1] == 'N' ? SeasonType::none
               : code[len - 1] == 'A' ? SeasonType::additive : SeasonType::multiplicative;
    if (s.error == ErrorType::additive && s.season == SeasonType::multiplicative)
        throw std::invalid_argument("forbidden ets model: additive error with multiplicative season is unstable");
    *spec = s;
    return true;
}

namespace {

// One Gauss–Newton direction for the free initial states; false if none.
bool state_step(const Objective& objective, StateSystemFn system, bool mult_err, const std::vector<double>& u,
                std::size_t first, StateSystem& sys, Eigen::VectorXd& delta) {
    const int k = static_cast<int>(u.size() - first);
    Point x;
    if (!decode(objective.lay, u.data(), x)) return false;
    system(objective.y, objective.n, objective.lay.m, x.p, x, objective.lay.scale, k, sys);
    if (!sys.ok) return false;
    constexpr int K = max_period + 2;
    Eigen::MatrixXd H(k, k);
    Eigen::VectorXd g(k);
    for (int a = 0; a < k; ++a) {
        g[a] = sys.jtr[a];
        for (int c = 0; c <= a; ++c) H(a, c) = H(c, a) = sys.jtj[a * K + c];
    }
    double tr = 0.0;
    for (int a = 0; a < k; ++a) {
        if (mult_err) g[a] += sys.sse / objective.n * sys.glog[a];
        tr += H(a, a);
    }
    for (int a = 0; a < k; ++a) H(a, a) += 1e-10 * tr / k + 1e-300;
    delta = -H.ldlt().solve(g);
    return delta.allFinite();
}

// Gauss–Newton on the free initial states u[first..) at fixed smoothing
// parameters, with step halving: a step is kept only if the criterion falls.
// With multiplicative errors the criterion's Σ log|ŷ| makes the Gauss–Newton
// model poor far from the optimum, so the plain least-squares direction (the
// additive-error one) is tried too and the better step kept.
double refine_states(Objective& objective, const EtsSpec& spec, std::vector<double>& u, std::size_t first,
                     double value, int iterations, bool try_least_squares) {
    const int k = static_cast<int>(u.size() - first);
    if (k <= 0 || !std::isfinite(value)) return value;
    const bool mult_err = spec.error == ErrorType::multiplicative;
    // Additive error and linear states: the first full step is the exact
    // least-squares solution, nothing is left for a second one.
    const bool exact = !mult_err && spec.season != SeasonType::multiplicative;
    const StateSystemFn systems[2] = {system_for(spec, objective.lay.m),
                                      system_for(EtsSpec{ErrorType::additive, spec.trend, spec.season}, objective.lay.m)};
    std::vector<double> trial(u.size()), best_u;
    Eigen::VectorXd delta;
    StateSystem sys;
    for (int it = 0; it < iterations; ++it) {
        double best = value;
        bool full_step = false;
        const int directions = mult_err && try_least_squares && it == 0 ? 2 : 1;
        for (int which = 0; which < directions; ++which) {
            if (!state_step(objective, systems[which], mult_err && which == 0, u, first, sys, delta)) continue;
            double t = 1.0;
            for (int ls = 0; ls < 8; ++ls, t *= 0.5) {
                trial = u;
                for (int a = 0; a < k; ++a) trial[first + a] += t * delta[a];
                const double v = objective(trial);
                if (v < best) {
                    best = v;
                    best_u = trial;
                    full_step = ls == 0;
                    break;
                }
                if (v < value) break;  // improves, just not on the other direction
            }
        }
        if (!(best < value)) break;
        const double gain = value - best;
        u = best_u;
        value = best;
        if (gain <= 1e-9 * (std::fabs(value) + 1.0) || (exact && full_step)) break;
    }
    return value;
}

}  // namespace

namespace {

// Search settings (see the file comment). The smoothing-parameter searches are
// low-dimensional (1–4 coordinates), so a few hundred evaluations are ample;
// the screening budget only has to tell two starting basins apart.
constexpr int screen_evaluations = 30;
constexpr int smoothing_evaluations = 300;
constexpr double smoothing_reltol = 1e-6;  // on R's criterion (≈ n·log σ²): far below AICc noise

// A model's estimation problem: the objective and the optimiser's starting
// vector [alpha, beta?, gamma?, phi?, l0, b0?, s0..s(m-2)?] with its initial
// simplex steps. Coordinates before first_state are smoothing parameters.
struct Problem {
    EtsSpec spec;
    int m = 1;
    Objective objective;
    std::vector<double> u, step;
    std::size_t first_state = 0;
    int max_evaluations = smoothing_evaluations;
    double reltol = smoothing_reltol;
    int state_iterations = 2;  // Gauss–Newton steps per state refinement after the start
};

Problem make_problem(span<double> y, int period, const EtsSpec& spec, EtsModel& mdl) {
    check_ets_input(y, period, spec);
    const int n = static_cast<int>(y.size());
    const int m = has_season(spec) ? period : 1;
    mdl.spec = spec;
    mdl.period = m;
    if (count_params(spec, m) + 1 >= n - 1)
        throw std::invalid_argument("series too short for ets model " + ets_code(spec));
    initial_states(y, spec, m, mdl);

    // R's starting smoothing parameters (small α favours smooth fits first).
    const double alpha0 = lower + 0.2 * (upper - lower) / period;
    const double beta0 = lower + 0.1 * (std::min(upper, alpha0) - lower);
    const double gamma0 = lower + 0.05 * (std::min(upper, 1.0 - alpha0) - lower);
    const double phi0 = phi_lower + 0.99 * (phi_upper - phi_lower);

    double scale = 0.0;
    for (double v : y) scale += std::fabs(v);
    scale /= n;
    if (!(scale > 0.0)) scale = 1.0;
    Problem pb;
    pb.spec = spec;
    pb.m = m;
    pb.objective = Objective{Layout{spec, m, scale}, kernel_for(spec), y.data(), n, {}, {}};
    std::vector<double>& u = pb.u;
    std::vector<double>& step = pb.step;
    u.push_back(logit((alpha0 - lower) / (upper - lower)));
    step.push_back(1.0);
    if (has_trend(spec)) {
        u.push_back(logit((beta0 - lower) / (std::min(upper, alpha0) - lower)));
        step.push_back(1.0);
    }
    if (has_season(spec)) {
        u.push_back(logit((gamma0 - lower) / (std::min(upper, 1.0 - alpha0) - lower)));
        step.push_back(1.0);
    }
    if (spec.trend == TrendType::damped) {
        u.push_back(logit((phi0 - phi_lower) / (phi_upper - phi_lower)));
        step.push_back(-1.0);
    }
    pb.first_state = u.size();
    u.push_back(mdl.l0 / scale);
    step.push_back(0.1);
    if (has_trend(spec)) {
        u.push_back(mdl.b0 / scale);
        step.push_back(0.01);
    }
    if (has_season(spec)) {
        const bool mult = spec.season == SeasonType::multiplicative;
        for (int j = 0; j < m - 1; ++j) {
            u.push_back(mult ? mdl.s0[j] : mdl.s0[j] / scale);
            step.push_back(0.05);
        }
    }
    return pb;
}

// The optimiser's coordinates of a fitted model (the inverse of decode).
std::vector<double> encode(const Problem& pb, const EtsModel& mdl) {
    const double scale = pb.objective.lay.scale;
    std::vector<double> u;
    u.push_back(logit((mdl.alpha - lower) / (upper - lower)));
    if (has_trend(pb.spec)) u.push_back(logit((mdl.beta - lower) / (std::min(upper, mdl.alpha) - lower)));
    if (has_season(pb.spec))
        u.push_back(logit((mdl.gamma - lower) / std::max(1e-12, std::min(upper, 1.0 - mdl.alpha) - lower)));
    if (pb.spec.trend == TrendType::damped) u.push_back(logit((mdl.phi - phi_lower) / (phi_upper - phi_lower)));
    u.push_back(mdl.l0 / scale);
    if (has_trend(pb.spec)) u.push_back(mdl.b0 / scale);
    if (has_season(pb.spec)) {
        const bool mult = pb.spec.season == SeasonType::multiplicative;
        for (int j = 0; j < pb.m - 1; ++j) u.push_back(mult ? mdl.s0[j] : mdl.s0[j] / scale);
    }
    return u;
}

// Nelder–Mead over the smoothing coordinates of u with the states held.
double search_smoothing(Problem& pb, std::vector<double>& u, double value, double step_scale, int max_evaluations) {
    const std::size_t d = pb.first_state;
    std::vector<double> full = u;
    auto sub = [&](const std::vector<double>& v) {
        for (std::size_t i = 0; i < d; ++i) full[i] = v[i];
        return pb.objective(full);
    };
    std::vector<double> x0(u.begin(), u.begin() + d), step(pb.step.begin(), pb.step.begin() + d);
    for (double& v : step) v *= step_scale;
    NelderMeadOptions nm;
    nm.max_evaluations = max_evaluations;
    nm.reltol = pb.reltol;
    const NelderMeadResult r = nelder_mead_min(sub, x0, step, nm);
    if (r.value < value) {
        for (std::size_t i = 0; i < d; ++i) u[i] = r.x[i];
        value = r.value;
    }
    return value;
}

// First round from a starting vector: states by Gauss–Newton for the start's
// smoothing parameters, then the smoothing parameters, then the states again.
double first_round(Problem& pb, std::vector<double>& u, int max_evaluations) {
    double value = pb.objective(u);
    if (!std::isfinite(value) && has_season(pb.spec)) {
        // The heuristic seasonal start is infeasible (not admissible): start
        // from neutral seasonal states instead.
        for (std::size_t i = u.size() - (pb.m - 1); i < u.size(); ++i)
            u[i] = pb.spec.season == SeasonType::multiplicative ? 1.0 : 0.0;
        value = pb.objective(u);
    }
    if (!std::isfinite(value)) return value;
    value = refine_states(pb.objective, pb.spec, u, pb.first_state, value, 2, true);
    value = search_smoothing(pb, u, value, 1.0, max_evaluations);
    return refine_states(pb.objective, pb.spec, u, pb.first_state, value, 2, false);
}

// Further rounds with shrinking simplices until a round gains next to nothing.
double more_rounds(Problem& pb, std::vector<double>& u, double value, double step_scale, int rounds) {
    for (int round = 0; round < rounds && std::isfinite(value); ++round) {
        const double before = value;
        value = search_smoothing(pb, u, value, step_scale, pb.max_evaluations);
        value = refine_states(pb.objective, pb.spec, u, pb.first_state, value, pb.state_iterations, false);
        step_scale *= 0.3;
        if (before - value < 1e-6 * (std::fabs(value) + 1.0)) break;
    }
    return value;
}

EtsModel finish_fit(const Problem& pb, const std::vector<double>& u, double value, EtsModel& mdl, span<double> y) {
    if (!std::isfinite(value) || !decode(pb.objective.lay, u, mdl))
        throw std::invalid_argument("ets model " + ets_code(pb.spec) + " could not be fitted to this series");
    ets_evaluate(mdl, y);
    return mdl;
}

}  // namespace

EtsModel fit_ets(span<double> y, int period, const EtsSpec& spec, const EtsFitOptions& options) {
    EtsModel mdl;
    Problem pb = make_problem(y, period, spec, mdl);
    pb.max_evaluations = std::min(options.max_evaluations, smoothing_evaluations);
    pb.reltol = options.reltol;
    pb.state_iterations = options.state_iterations;
    // R's timid start and, with options.restart, a brisk one (α = 0.7, the
    // others mid-range): likelihoods are often maximised near α = 1 or β = α,
    // a basin the timid start does not reach (on the M3 sample this matters
    // for trend and non-trend models alike). Both get a short first round; the
    // better one is carried to convergence.
    const bool second_start = options.restart;
    std::vector<double> u = pb.u;
    double value = first_round(pb, u, second_start ? screen_evaluations : pb.max_evaluations);
    if (second_start) {
        std::vector<double> u2 = pb.u;
        u2[0] = logit((0.7 - lower) / (upper - lower));
        for (std::size_t i = 1; i < pb.first_state; ++i) u2[i] = 0.0;
        const double v2 = first_round(pb, u2, screen_evaluations);
        if (v2 < value) {
            value = v2;
            u.swap(u2);
        }
    }
    value = more_rounds(pb, u, value, second_start ? 1.0 : 0.3, options.rounds);
    return finish_fit(pb, u, value, mdl, y);
}

EtsModel fit_ets(span<double> y, int period, const EtsModel& start, const EtsFitOptions& options) {
    EtsModel mdl;
    Problem pb = make_problem(y, period, start.spec, mdl);
    pb.max_evaluations = std::min(options.max_evaluations, smoothing_evaluations);
    pb.reltol = options.reltol;
    pb.state_iterations = options.state_iterations;
    if (has_season(start.spec) && static_cast<int>(start.s0.size()) != pb.m)
        throw std::invalid_argument("ets start model has the wrong number of seasonal states");
    std::vector<double> u = encode(pb, start);
    double value = pb.objective(u);
    if (!std::isfinite(value)) return fit_ets(y, period, start.spec, options);
    value = refine_states(pb.objective, pb.spec, u, pb.first_state, value, pb.state_iterations, false);
    value = more_rounds(pb, u, value, 0.3, options.rounds);
    return finish_fit(pb, u, value, mdl, y);
}

EtsModel ets_start_from(const EtsModel& from, const EtsSpec& spec, int period) {
    EtsModel s;
    s.spec = spec;
    s.period = has_season(spec) ? period : 1;
    s.alpha = from.alpha;
    s.beta = !has_trend(spec) ? 0.0 : has_trend(from.spec) ? std::min(from.beta, from.alpha)
                                                           : lower + 0.1 * (std::min(upper, s.alpha) - lower);
    s.gamma = !has_season(spec) ? 0.0 : has_season(from.spec) ? from.gamma
                                                               : lower + 0.05 * (std::min(upper, 1.0 - s.alpha) - lower);
    s.phi = spec.trend != TrendType::damped ? 1.0
            : from.spec.trend == TrendType::damped ? from.phi : phi_lower + 0.99 * (phi_upper - phi_lower);
    s.l0 = from.l0;
    s.b0 = has_trend(spec) && has_trend(from.spec) ? from.b0 : 0.0;
    if (has_season(spec)) {
        const int m = s.period;
        const bool mult = spec.season == SeasonType::multiplicative;
        s.s0.assign(m, mult ? 1.0 : 0.0);
        if (has_season(from.spec) && static_cast<int>(from.s0.size()) == m) {
            const bool from_mult = from.spec.season == SeasonType::multiplicative;
            const double level = std::fabs(from.l0) > tol ? from.l0 : 1.0;
            for (int j = 0; j < m; ++j) {
                const double v = from.s0[j];
                s.s0[j] = mult == from_mult ? v : mult ? std::max(1e-2, 1.0 + v / level) : (v - 1.0) * level;
            }
            if (mult && !from_mult) {
                // Multiplicative seasons average one.
                double sum = 0.0;
                for (double v : s.s0) sum += v;
                for (double& v : s.s0) v *= m / sum;
            }
        }
    }
    return s;
}

std::vector<EtsSpec> ets_candidates(span<double> y, int period) {
    bool positive = true;
    for (double v : y)
        if (v <= 0.0) positive = false;
    const bool seasonal = period >= 2 && period <= 24;
    const int n = static_cast<int>(y.size());
    std::vector<EtsSpec> out;
    for (ErrorType e : {ErrorType::additive, ErrorType::multiplicative}) {
        if (e == ErrorType::multiplicative && !positive) continue;
        for (TrendType t : {TrendType::none, TrendType::additive, TrendType::damped}) {
            for (SeasonType s : {SeasonType::none, SeasonType::additive, SeasonType::multiplicative}) {
                if (s != SeasonType::none && !seasonal) continue;
                if (s == SeasonType::multiplicative && !positive) continue;
                if (e == ErrorType::additive && s == SeasonType::multiplicative) continue;
                const EtsSpec spec{e, t, s};
                if (count_params(spec, s == SeasonType::none ? 1 : period) + 1 >= n - 1) continue;
                out.push_back(spec);
            }
        }
    }
    return out;
}

std::vector<EtsModel> fit_ets_all(span<double> y, int period, const EtsFitOptions& options,
                                  const std::vector<EtsModel>& warm) {
    check_series(y, period);
    const std::vector<EtsSpec> specs = ets_candidates(y, period);
    std::vector<EtsModel> out;
    for (const EtsSpec& spec : specs) {
        check_cancel();
        const EtsModel* start = nullptr;
        for (const EtsModel& w : warm)
            if (w.spec.error == spec.error && w.spec.trend == spec.trend && w.spec.season == spec.season) start = &w;
        try {
            out.push_back(start ? fit_ets(y, period, *start, options) : fit_ets(y, period, spec, options));
        } catch (const std::invalid_argument&) {
            // this model cannot be fitted here; the others compete
        }
    }
    return out;
}

const EtsModel& best_by_aicc(const std::vector<EtsModel>& models) {
    if (models.empty()) throw std::invalid_argument("no ets model could be fitted to this series");
    std::size_t best = 0;
    for (std::size_t i = 1; i < models.size(); ++i)
        if (models[i].aicc < models[best].aicc) best = i;
    return models[best];
}

EtsModel fit_ets_auto(span<double> y, int period, const EtsFitOptions& options) {
    check_series(y, period);
    if (ets_candidates(y, period).empty()) throw std::invalid_argument("series too short for any ets model");
    return best_by_aicc(fit_ets_all(y, period, options));
}

void ets_evaluate(EtsModel& model, span<double> y) {
    const int m = has_season(model.spec) ? model.period : 1;
    if (has_season(model.spec) && static_cast<int>(model.s0.size()) != m)
        throw std::invalid_argument("ets model has the wrong number of seasonal states");
    const Pass pass = run_filter(model.spec, m, {model.alpha, model.beta, model.gamma, model.phi}, model.l0,
                                 model.b0, model.s0, y);
    const double lik = criterion(model.spec, pass);
    if (!std::isfinite(lik)) throw std::invalid_argument("ets model cannot be evaluated on this series");
    fill_information(model, lik, pass.sse, static_cast<int>(y.size()));
}

namespace {

struct FinalState {
    double l, b;
    std::vector<double> ring;
    int pos;  // ring index of the first forecast step
};

FinalState final_state(const EtsModel& model, span<double> y) {
    const int m = has_season(model.spec) ? model.period : 1;
    const Pass pass = run_filter(model.spec, m, {model.alpha, model.beta, model.gamma, model.phi}, model.l0,
                                 model.b0, model.s0, y);
    return {pass.l, pass.b, pass.ring, static_cast<int>(y.size() % m)};
}

}  // namespace

std::vector<double> ets_point_forecast(const EtsModel& model, span<double> y, int horizon) {
    const FinalState st = final_state(model, y);
    const int m = has_season(model.spec) ? model.period : 1;
    const double phi = model.spec.trend == TrendType::damped ? model.phi : 1.0;
    std::vector<double> out(horizon);
    double damp_sum = 0.0, phik = 1.0;
    for (int h = 1; h <= horizon; ++h) {
        phik *= phi;
        damp_sum += phik;
        double f = st.l + (has_trend(model.spec) ? damp_sum * st.b : 0.0);
        if (has_season(model.spec)) {
            const double s = st.ring[(st.pos + h - 1) % m];
            f = model.spec.season == SeasonType::multiplicative ? f * s : f + s;
        }
        out[h - 1] = f;
    }
    return out;
}

std::vector<std::vector<double>> ets_origin_forecasts(const EtsModel& model, span<double> y, int first_origin,
                                                      int horizon) {
    const int n = static_cast<int>(y.size());
    const bool trend = has_trend(model.spec), seasonal = has_season(model.spec);
    const bool mult_season = model.spec.season == SeasonType::multiplicative;
    const int m = seasonal ? model.period : 1;
    if (seasonal && static_cast<int>(model.s0.size()) != m)
        throw std::invalid_argument("ets model has the wrong number of seasonal states");
    const double phi = model.spec.trend == TrendType::damped ? model.phi : 1.0;
    const double alpha = model.alpha, beta = model.beta, gamma = model.gamma;
    std::vector<double> ring = seasonal ? ring_from_initial(model.s0) : std::vector<double>();
    // Σ_{i=1}^{h} φ^i for the trend's contribution h steps ahead.
    std::vector<double> damp(horizon + 1, 0.0);
    double phik = 1.0;
    for (int h = 1; h <= horizon; ++h) {
        phik *= phi;
        damp[h] = damp[h - 1] + phik;
    }
    std::vector<std::vector<double>> out;
    out.reserve(std::max(0, n - first_origin));
    double l = model.l0, b = model.b0;
    for (int t = 0; t < n; ++t) {
        const int pos = t % m;
        if (t >= std::max(first_origin, 0)) {
            const int hh = std::min(horizon, n - t);
            std::vector<double> path(hh);
            for (int h = 1; h <= hh; ++h) {
                double f = l + (trend ? damp[h] * b : 0.0);
                if (seasonal) {
                    const double s = ring[(pos + h - 1) % m];
                    f = mult_season ? f * s : f + s;
                }
                path[h - 1] = f;
            }
            out.push_back(std::move(path));
        }
        // The kernel's recursions (see filter_kernel), one step.
        const double yt = y[t];
        const double q = trend ? l + phi * b : l;
        double s = 0.0, target = yt, season_target = 0.0;
        if (seasonal) {
            s = ring[pos];
            if (mult_season) {
                target = std::fabs(s) < tol ? huge : yt / s;
                season_target = std::fabs(q) < tol ? huge : yt / q;
            } else {
                target = yt - s;
                season_target = yt - q;
            }
        }
        if (trend) {
            const double lnew = (1.0 - alpha) * l + ((1.0 - alpha) * phi * b + alpha * target);
            b = (1.0 - beta) * phi * b + (beta * target - beta * l);
            l = lnew;
        } else {
            l = (1.0 - alpha) * l + alpha * target;
        }
        if (seasonal) ring[pos] = (1.0 - gamma) * s + gamma * season_target;
    }
    return out;
}

Forecast ets_forecast(const EtsModel& model, span<double> y, int horizon) {
    check_horizon(horizon);
    std::vector<double> point = ets_point_forecast(model, y, horizon);
    const int m = has_season(model.spec) ? model.period : 1;
    const double sigma2 = model.sigma2;
    const double phi = model.spec.trend == TrendType::damped ? model.phi : 1.0;
    // c_j = α + β·Σ_{i=1}^{j} φ^i + γ·[j ≡ 0 mod m]: the weight of an error j
    // steps back in the h-step forecast of the linear models (HKOS table 6.1).
    std::vector<double> c(horizon, 0.0);
    double damp_sum = 0.0, phij = 1.0;
    for (int j = 1; j < horizon; ++j) {
        phij *= phi;
        damp_sum += phij;
        c[j] = model.alpha + (has_trend(model.spec) ? model.beta * damp_sum : 0.0) +
               (has_season(model.spec) && j % m == 0 ? model.gamma : 0.0);
    }
    std::vector<double> var(horizon);
    if (model.spec.error == ErrorType::additive) {
        // Class 1: v_h = σ²(1 + Σ_{j<h} c_j²).
        double acc = 1.0;
        for (int h = 1; h <= horizon; ++h) {
            if (h > 1) acc += c[h - 1] * c[h - 1];
            var[h - 1] = sigma2 * acc;
        }
    } else if (model.spec.season != SeasonType::multiplicative) {
        // Class 2 (HKOS section 6.3): v_h = (1+σ²)θ_h − μ_h², with
        // θ_h = μ_h² + σ² Σ_{j=1}^{h−1} c_j² θ_{h−j}.
        std::vector<double> theta(horizon);
        for (int h = 1; h <= horizon; ++h) {
            double t = point[h - 1] * point[h - 1];
            for (int j = 1; j < h; ++j) t += sigma2 * c[j] * c[j] * theta[h - 1 - j];
            theta[h - 1] = t;
            var[h - 1] = (1.0 + sigma2) * t - point[h - 1] * point[h - 1];
        }
    } else {
        // Class 3 (HKOS section 6.4): y_{t+1} = (w1'x_t)(w2'z_t)(1+ε) with the
        // level/trend vector x and the season vector z both driven by the same
        // ε: x' = (F1 + G1ε)x, z' = (F2 + G2ε)z. The outer product M = x z'
        // evolves as vec M' = (A + εB + ε²C) vec M with A = F2⊗F1,
        // B = F2⊗G1 + G2⊗F1, C = G2⊗G1, so its mean and second moment follow
        // exactly from E ε² = σ², E ε⁴ = 3σ⁴; then
        // Var y = (1+σ²)·h'Vh + σ²·μ², h = w2⊗w1, V = Cov(vec M).
        const FinalState st = final_state(model, y);
        const bool trend = has_trend(model.spec);
        const int q = trend ? 2 : 1;
        Eigen::MatrixXd F1(q, q), G1(q, q);
        Eigen::VectorXd w1(q), x(q);
        if (trend) {
            F1 << 1.0, phi, 0.0, phi;
            G1 << model.alpha, model.alpha * phi, model.beta, model.beta * phi;
            w1 << 1.0, phi;
            x << st.l, st.b;
        } else {
            F1 << 1.0;
            G1 << model.alpha;
            w1 << 1.0;
            x << st.l;
        }
        // z = (s_t, s_{t−1}, …, s_{t−m+1}): the newest first.
        Eigen::MatrixXd F2 = Eigen::MatrixXd::Zero(m, m), G2 = Eigen::MatrixXd::Zero(m, m);
        F2(0, m - 1) = 1.0;
        for (int i = 1; i < m; ++i) F2(i, i - 1) = 1.0;
        G2(0, m - 1) = model.gamma;
        Eigen::VectorXd w2 = Eigen::VectorXd::Zero(m), z(m);
        w2[m - 1] = 1.0;
        for (int i = 0; i < m; ++i) z[i] = st.ring[((st.pos - 1 - i) % m + m) % m];
        auto kron = [](const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
            Eigen::MatrixXd k(a.rows() * b.rows(), a.cols() * b.cols());
            for (int i = 0; i < a.rows(); ++i)
                for (int j = 0; j < a.cols(); ++j) k.block(i * b.rows(), j * b.cols(), b.rows(), b.cols()) = a(i, j) * b;
            return k;
        };
        const Eigen::MatrixXd A = kron(F2, F1), B = kron(F2, G1) + kron(G2, F1), C = kron(G2, G1);
        const Eigen::VectorXd hv = kron(w2, w1);
        Eigen::VectorXd mean(q * m);
        for (int j = 0; j < m; ++j)
            for (int i = 0; i < q; ++i) mean[j * q + i] = x[i] * z[j];  // vec(x z') column-major
        Eigen::MatrixXd V = Eigen::MatrixXd::Zero(q * m, q * m);
        for (int h = 1; h <= horizon; ++h) {
            const double mu = hv.dot(mean);
            // Beyond one season the updated seasons and level are both driven by
            // the same errors, so E[y] drifts from the plain recursion by terms
            // in σ²; we report the exact mean, as R's forecast.ets() does.
            point[h - 1] = mu;
            var[h - 1] = (1.0 + sigma2) * hv.dot(V * hv) + sigma2 * mu * mu;
            const Eigen::MatrixXd S = V + mean * mean.transpose();
            const Eigen::MatrixXd S2 = A * S * A.transpose() +
                                       sigma2 * (B * S * B.transpose() + A * S * C.transpose() + C * S * A.transpose()) +
                                       3.0 * sigma2 * sigma2 * (C * S * C.transpose());
            mean = (A + sigma2 * C) * mean;
            V = S2 - mean * mean.transpose();
        }
    }
    std::vector<double> sd(horizon);
    for (int h = 0; h < horizon; ++h) sd[h] = std::sqrt(std::max(0.0, var[h]));
    return normal_forecast(point, sd);
}

std::vector<std::pair<std::string, double>> ets_params(const EtsModel& model) {
    std::vector<std::pair<std::string, double>> p;
    p.emplace_back("alpha", model.alpha);
    if (has_trend(model.spec)) p.emplace_back("beta", model.beta);
    if (has_season(model.spec)) p.emplace_back("gamma", model.gamma);
    if (model.spec.trend == TrendType::damped) p.emplace_back("phi", model.phi);
    p.emplace_back("l", model.l0);
    if (has_trend(model.spec)) p.emplace_back("b", model.b0);
    for (std::size_t j = 0; j < model.s0.size(); ++j) p.emplace_back("s" + std::to_string(j), model.s0[j]);
    p.emplace_back("sigma2", model.sigma2);
    return p;
}

}  // namespace salesflow::forecast

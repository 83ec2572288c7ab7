// Croston's method (Croston 1972), its bias-corrected SBA variant (Syntetos &
// Boylan 2005: multiply by 1 − α/2) and TSB (Teunter, Syntetos & Babai 2011),
// with the demand classification of Syntetos, Boylan & Croston (2005).
//
// Croston smooths the non-zero demand sizes z and the intervals p between them
// separately, each by simple exponential smoothing started at its first value
// (as R's croston() does: ses(initial = "simple")), and forecasts z/p. TSB
// instead smooths the probability of demand every period, so a part that stops
// selling decays towards zero instead of freezing at its last rate.
//
// Intervals. These methods give a mean demand rate, not a distribution. We
// model demand in one period as negative binomial (a Poisson–gamma mixture,
// the usual count model for intermittent demand) with the forecast as mean and
// the in-sample one-step mean squared error as variance (Poisson when that
// variance does not exceed the mean), and report its quantiles via Boost.Math.
// The variance is held flat over the horizon, like the point forecast.
#include "core/forecast/intermittent.hpp"

#include "core/common/cancel.hpp"
#include "core/forecast/common.hpp"

#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/poisson.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace salesflow::forecast {

DemandProfile classify_demand(span<double> y) {
    DemandProfile p{0.0, 0.0, 0, DemandClass::none};
    double s = 0.0, ss = 0.0;
    for (double v : y)
        if (v > 0) {
            ++p.nonzero;
            s += v;
            ss += v * v;
        }
    if (p.nonzero == 0) return p;
    p.adi = static_cast<double>(y.size()) / p.nonzero;
    const double mean = s / p.nonzero;
    const double var = p.nonzero > 1 ? (ss - p.nonzero * mean * mean) / (p.nonzero - 1) : 0.0;
    p.cv2 = std::max(0.0, var) / (mean * mean);
    const bool sparse = p.adi >= 1.32, variable = p.cv2 >= 0.49;
    p.klass = sparse ? (variable ? DemandClass::lumpy : DemandClass::intermittent)
                     : (variable ? DemandClass::erratic : DemandClass::smooth);
    return p;
}

const char* demand_class_name(DemandClass c) {
    switch (c) {
        case DemandClass::smooth: return "smooth";
        case DemandClass::erratic: return "erratic";
        case DemandClass::intermittent: return "intermittent";
        case DemandClass::lumpy: return "lumpy";
        case DemandClass::none: return "none";
    }
    return "none";
}

bool is_intermittent(span<double> y) {
    for (double v : y)
        if (v < 0) return false;
    const DemandProfile p = classify_demand(y);
    return p.klass == DemandClass::intermittent || p.klass == DemandClass::lumpy;
}

const char* intermittent_name(IntermittentMethod m) {
    switch (m) {
        case IntermittentMethod::croston: return "croston";
        case IntermittentMethod::sba: return "sba";
        case IntermittentMethod::tsb: return "tsb";
    }
    return "croston";
}

namespace {

// Runs the method over y; returns the final forecast and, if wanted, the
// in-sample one-step squared error sum and count (from the first demand on,
// where the method has something to say).
struct Pass {
    double level;
    double sse;
    int count;
};

Pass croston_pass(span<double> y, double alpha, double factor) {
    double z = 0.0, p = 0.0;  // smoothed size, smoothed interval
    bool started = false;
    int since = 0;
    Pass out{0.0, 0.0, 0};
    for (double v : y) {
        ++since;
        if (started) {
            const double e = v - factor * z / p;
            out.sse += e * e;
            ++out.count;
        }
        if (v > 0) {
            if (!started) {
                z = v;
                p = since;
                started = true;
            } else {
                z += alpha * (v - z);
                p += alpha * (since - p);
            }
            since = 0;
        }
    }
    out.level = started ? factor * z / p : 0.0;
    return out;
}

Pass tsb_pass(span<double> y, double alpha, double beta) {
    int nz = 0;
    double s = 0.0;
    for (double v : y)
        if (v > 0) {
            ++nz;
            s += v;
        }
    Pass out{0.0, 0.0, 0};
    if (nz == 0) return out;
    double z = s / nz;                                   // size: mean non-zero demand
    double p = static_cast<double>(nz) / y.size();       // probability: share of periods with demand
    for (double v : y) {
        const double e = v - p * z;
        out.sse += e * e;
        ++out.count;
        if (v > 0) {
            p += beta * (1.0 - p);
            z += alpha * (v - z);
        } else {
            p -= beta * p;
        }
    }
    out.level = p * z;
    return out;
}

Pass run(const IntermittentModel& m, span<double> y) {
    switch (m.method) {
        case IntermittentMethod::croston: return croston_pass(y, m.alpha, 1.0);
        case IntermittentMethod::sba: return croston_pass(y, m.alpha, 1.0 - m.alpha / 2.0);
        case IntermittentMethod::tsb: return tsb_pass(y, m.alpha, m.beta);
    }
    return croston_pass(y, m.alpha, 1.0);
}

void check_demand(span<double> y) {
    check_series(y, 1);
    for (double v : y)
        if (v < 0) throw std::invalid_argument("intermittent demand methods need non-negative data");
}

}  // namespace

IntermittentModel fit_intermittent(span<double> y, IntermittentMethod method, double alpha) {
    check_demand(y);
    if (!(alpha > 0.0 && alpha <= 1.0)) throw std::invalid_argument("alpha must be in (0, 1]");
    if (method != IntermittentMethod::tsb) return {method, alpha, 0.0};
    // TSB: grid search of (alpha, beta) on in-sample MSE; the grid spans the
    // values Teunter et al. found useful (small beta for slow obsolescence).
    static const double grid[] = {0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5};
    IntermittentModel best{method, 0.1, 0.1};
    double best_mse = std::numeric_limits<double>::infinity();
    for (double a : grid) {
        check_cancel();
        for (double b : grid) {
            const Pass p = tsb_pass(y, a, b);
            const double mse = p.count > 0 ? p.sse / p.count : 0.0;
            if (mse < best_mse - 1e-12) {
                best_mse = mse;
                best = {method, a, b};
            }
        }
    }
    return best;
}

double intermittent_level(const IntermittentModel& model, span<double> y) { return run(model, y).level; }

std::vector<double> intermittent_origin_levels(const IntermittentModel& model, span<double> y, int first_origin) {
    const int n = static_cast<int>(y.size());
    const int first = std::max(first_origin, 0);
    std::vector<double> out;
    out.reserve(std::max(0, n - first));
    if (model.method != IntermittentMethod::tsb) {
        // Croston/SBA: the state after a prefix is the state of the one pass.
        const double a = model.alpha;
        const double factor = model.method == IntermittentMethod::sba ? 1.0 - a / 2.0 : 1.0;
        double z = 0.0, p = 0.0;
        bool started = false;
        int since = 0;
        for (int t = 0; t < n; ++t) {
            if (t >= first) out.push_back(started ? factor * z / p : 0.0);
            ++since;
            if (y[t] > 0) {
                if (!started) {
                    z = y[t];
                    p = since;
                    started = true;
                } else {
                    z += a * (y[t] - z);
                    p += a * (since - p);
                }
                since = 0;
            }
        }
        return out;
    }
    // TSB starts from the prefix's own mean size and demand share, so each
    // prefix has other starting values. The recursions are affine in them,
    // p_o = A·p0 + B and z_o = C·z0 + D, so one pass carries A, B, C, D and
    // the running counts instead of a pass per prefix.
    const double a = model.alpha, b = model.beta;
    double A = 1.0, B = 0.0, C = 1.0, D = 0.0, sum = 0.0;
    int nz = 0;
    for (int t = 0; t < n; ++t) {
        if (t >= first) {
            if (nz == 0) {
                out.push_back(0.0);
            } else {
                const double p0 = static_cast<double>(nz) / t, z0 = sum / nz;
                out.push_back((A * p0 + B) * (C * z0 + D));
            }
        }
        if (y[t] > 0) {
            A *= 1.0 - b;
            B = B * (1.0 - b) + b;
            C *= 1.0 - a;
            D = D * (1.0 - a) + a * y[t];
            ++nz;
            sum += y[t];
        } else {
            A *= 1.0 - b;
            B *= 1.0 - b;
        }
    }
    return out;
}

Forecast intermittent_forecast(const IntermittentModel& model, span<double> y, int horizon) {
    check_demand(y);
    const Pass p = run(model, y);
    const double mu = p.level;
    const double var = p.count > 0 ? p.sse / p.count : 0.0;
    Forecast f;
    f.point.assign(horizon, mu);
    Interval iv{mu, mu, mu, mu};
    if (mu > 0.0) {
        if (var > mu * (1.0 + 1e-9)) {
            // Negative binomial with mean mu and variance var: r = mu²/(var−mu).
            const double r = mu * mu / (var - mu);
            const boost::math::negative_binomial nb(r, r / (r + mu));
            iv = {quantile(nb, 0.10), quantile(nb, 0.90), quantile(nb, 0.025), quantile(nb, 0.975)};
        } else {
            const boost::math::poisson po(mu);
            iv = {quantile(po, 0.10), quantile(po, 0.90), quantile(po, 0.025), quantile(po, 0.975)};
        }
    }
    f.intervals.assign(horizon, iv);
    return f;
}

}  // namespace salesflow::forecast

// The Theta method (Assimakopoulos & Nikolopoulos 2000) as SES with drift
// (Hyndman & Billah 2003): the theta=0 line is the regression trend, the
// theta=2 line is extrapolated by SES, and their equal-weight combination is
// SES plus half the trend slope b, with the drift term b/2·(h − 1 + 1/α −
// (1−α)^n/α) that Hyndman & Billah derive. Seasonal series are adjusted by a
// classical multiplicative decomposition first and reseasonalised after,
// following the M3 implementation and R's thetaf().
#include "core/forecast/theta.hpp"

#include "core/forecast/common.hpp"
#include "core/forecast/ets.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace salesflow::forecast {

namespace {

constexpr double qnorm95 = 1.6448536269514722;

bool constant(span<double> y) {
    for (double v : y)
        if (v != y[0]) return false;
    return true;
}

std::vector<double> adjust(const ThetaModel& model, span<double> y) {
    std::vector<double> x(y.begin(), y.end());
    if (model.seasonal)
        for (std::size_t t = 0; t < x.size(); ++t) x[t] /= model.figure[t % model.period];
    return x;
}

// SES by least squares (its maximum likelihood, the criterion ets() uses for
// ETS(A,N,N)): the initial level is concentrated out exactly (the errors are
// linear in it, see ses_best_level), leaving a one-dimensional search over α
// in ets()'s range [1e-4, 0.9999]: a grid on the logistic scale, then golden
// section around the best grid point. One pass over x per α, no optimiser
// state: a few dozen passes where a general ETS fit needs hundreds.
struct SesFit {
    double alpha, l0, sse;
};

SesFit ses_at(const std::vector<double>& x, double alpha) {
    // e_t = d_t − c_t·l0 with d_t the errors for l0 = 0 and c_t = (1−α)^t, so
    // SSE(l0) = Σd² − 2·l0·Σcd + l0²·Σc², least at l0 = Σcd / Σc².
    // The level update is written keep·ℓ + α·v so that one multiply-add, not
    // a subtraction and a multiply-add, sits on the step-to-step dependency.
    double l = 0.0, c = 1.0, sdd = 0.0, scd = 0.0, scc = 0.0;
    const double keep = 1.0 - alpha;
    for (double v : x) {
        const double d = v - l;
        sdd += d * d;
        scd += c * d;
        scc += c * c;
        l = keep * l + alpha * v;
        c *= keep;
    }
    const double l0 = scc > 0.0 ? scd / scc : 0.0;
    return {alpha, l0, std::max(0.0, sdd - l0 * scd)};
}

SesFit fit_ses(const std::vector<double>& x) {
    constexpr double lo = 1e-4, hi = 0.9999;
    auto alpha_of = [](double u) { return lo + (hi - lo) / (1.0 + std::exp(-u)); };
    constexpr int grid = 10;  // u = −9, −7, …, 9
    constexpr double step = 2.0;
    SesFit best{0.0, 0.0, std::numeric_limits<double>::infinity()};
    int best_i = 0;
    for (int i = 0; i < grid; ++i) {
        const SesFit f = ses_at(x, alpha_of(-9.0 + step * i));
        if (f.sse < best.sse) {
            best = f;
            best_i = i;
        }
    }
    // Golden section on [u_best − step, u_best + step].
    const double g = 0.6180339887498949;
    double a = -9.0 + step * (best_i - 1), b = -9.0 + step * (best_i + 1);
    double c = b - g * (b - a), d = a + g * (b - a);
    SesFit fc = ses_at(x, alpha_of(c)), fd = ses_at(x, alpha_of(d));
    for (int it = 0; it < 22; ++it) {  // the bracket shrinks to 4·0.618^22 ≈ 1e-4
        if (fc.sse < fd.sse) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = ses_at(x, alpha_of(c));
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = ses_at(x, alpha_of(d));
        }
    }
    for (const SesFit& f : {fc, fd})
        if (f.sse < best.sse) best = f;
    return best;
}

double ses_level(const ThetaModel& model, const std::vector<double>& x) {
    double l = model.l0;
    for (double v : x) l += model.alpha * (v - l);
    return l;
}

}  // namespace

std::vector<double> theta_adjusted(const ThetaModel& model, span<double> y) { return adjust(model, y); }

double ses_best_level(span<double> x, double alpha) {
    double l = 0.0, c = 1.0, num = 0.0, den = 0.0;
    for (double v : x) {
        const double d = v - l;  // error with l0 = 0
        num += c * d;
        den += c * c;
        l += alpha * (v - l);
        c *= 1.0 - alpha;
    }
    return den > 0.0 ? num / den : 0.0;
}

bool theta_seasonal(span<double> y, int period) {
    const int n = static_cast<int>(y.size());
    if (period < 2 || constant(y) || n <= 2 * period) return false;
    const std::vector<double> r = autocorrelations(y, period);
    double s = 0.0;
    for (int k = 0; k < period - 1; ++k) s += r[k] * r[k];
    const double stat = std::sqrt((1.0 + 2.0 * s) / n);
    return std::fabs(r[period - 1]) / stat > qnorm95;
}

ThetaModel fit_theta(span<double> y, int period) {
    check_series(y, period);
    if (y.size() < 3) throw std::invalid_argument("series too short for theta (at least 3 values)");
    ThetaModel model;
    model.period = period;
    if (theta_seasonal(y, period)) {
        std::vector<double> fig = seasonal_figure(y, period, Decomposition::multiplicative);
        bool usable = true;
        for (double f : fig)
            if (!std::isfinite(f) || std::fabs(f) < 1e-10) usable = false;
        if (usable) {
            model.seasonal = true;
            model.figure = std::move(fig);
        }
    }
    const std::vector<double> x = adjust(model, y);
    const SesFit ses = fit_ses(x);
    model.alpha = ses.alpha;
    model.l0 = ses.l0;
    // As ets() reports it: SSE over n minus the two estimated parameters.
    const int n = static_cast<int>(x.size());
    model.sigma2 = ses.sse / std::max(1, n - 2);
    model.drift = linear_trend(x).second / 2.0;
    return model;
}

std::vector<double> theta_point_forecast(const ThetaModel& model, span<double> y, int horizon) {
    const std::vector<double> x = adjust(model, y);
    const int n = static_cast<int>(x.size());
    const double level = ses_level(model, x);
    const double a = model.alpha;
    const double tail = (1.0 - std::pow(1.0 - a, n)) / a;
    std::vector<double> out(horizon);
    for (int h = 0; h < horizon; ++h) {
        double f = level + model.drift * (h + tail);
        if (model.seasonal) f *= model.figure[(n + h) % model.period];
        out[h] = f;
    }
    return out;
}

std::vector<std::vector<double>> theta_origin_forecasts(const ThetaModel& model, span<double> y, int first_origin,
                                                        int horizon) {
    const std::vector<double> x = adjust(model, y);
    const int n = static_cast<int>(x.size());
    const double a = model.alpha;
    std::vector<std::vector<double>> out;
    double level = model.l0, decay = 1.0;  // decay = (1−α)^o
    for (int o = 0; o < n; ++o) {
        if (o >= std::max(first_origin, 0)) {
            const int hh = std::min(horizon, n - o);
            const double tail = (1.0 - decay) / a;
            std::vector<double> path(hh);
            for (int h = 0; h < hh; ++h) {
                double f = level + model.drift * (h + tail);
                if (model.seasonal) f *= model.figure[(o + h) % model.period];
                path[h] = f;
            }
            out.push_back(std::move(path));
        }
        level += a * (x[o] - level);
        decay *= 1.0 - a;
    }
    return out;
}

Forecast theta_forecast(const ThetaModel& model, span<double> y, int horizon) {
    check_horizon(horizon);
    const std::vector<double> point = theta_point_forecast(model, y, horizon);
    std::vector<double> sd(horizon);
    const double s = std::sqrt(model.sigma2);
    for (int h = 0; h < horizon; ++h) sd[h] = s * std::sqrt(1.0 + h * model.alpha * model.alpha);
    return normal_forecast(point, sd);
}

}  // namespace salesflow::forecast

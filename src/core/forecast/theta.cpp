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
    const EtsModel ses = fit_ets(x, period, EtsSpec{ErrorType::additive, TrendType::none, SeasonType::none});
    model.alpha = std::max(1e-10, ses.alpha);
    model.l0 = ses.l0;
    model.sigma2 = ses.sigma2;
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

// Baselines, Theta and the intermittent-demand methods against R (fixtures
// from make_fixtures.R and the car-parts Croston test vectors).
#include "core/forecast/baselines.hpp"
#include "core/forecast/intermittent.hpp"
#include "core/forecast/select.hpp"
#include "core/forecast/theta.hpp"

#include "test_forecast_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

namespace fc = salesflow::forecast;
namespace fx = forecast_fixtures;

namespace {

void expect_matches(const fc::Forecast& f, const std::vector<fx::Row>& rows, double rtol) {
    ASSERT_EQ(f.point.size(), rows.size());
    for (std::size_t h = 0; h < rows.size(); ++h) {
        const double scale = std::max(1.0, std::fabs(rows[h].mean)) * rtol;
        EXPECT_NEAR(f.point[h], rows[h].mean, scale) << "step " << h + 1;
        EXPECT_NEAR(f.intervals[h].lo80, rows[h].lo80, scale) << "step " << h + 1;
        EXPECT_NEAR(f.intervals[h].hi80, rows[h].hi80, scale) << "step " << h + 1;
        EXPECT_NEAR(f.intervals[h].lo95, rows[h].lo95, scale) << "step " << h + 1;
        EXPECT_NEAR(f.intervals[h].hi95, rows[h].hi95, scale) << "step " << h + 1;
    }
}

}  // namespace

TEST(ForecastBaselines, NaiveSnaiveMeanMatchR) {
    const auto rows = fx::forecasts("methods.csv");
    for (const auto& s : fx::series()) {
        SCOPED_TRACE(s.name);
        expect_matches(fc::naive_forecast(s.y, s.horizon), rows.at(s.name).at("naive"), 1e-9);
        expect_matches(fc::snaive_forecast(s.y, s.horizon, s.period), rows.at(s.name).at("snaive"), 1e-9);
        expect_matches(fc::mean_forecast(s.y, s.horizon), rows.at(s.name).at("mean"), 1e-9);
    }
}

// thetaf() with R's SES alpha plugged in (and its initial level, which thetaf
// reports only through ses(y) for non-seasonal series; for seasonal ones we
// take the least-squares level for that alpha, which R's optimiser approximates): seasonal adjustment, drift, reseasonalisation and intervals
// must then agree with R. Our own fit must reach R's in-sample SSE or better.
TEST(ForecastTheta, MatchesRThetaf) {
    const auto rows = fx::forecasts("methods.csv");
    const auto fits = fx::ets_fits();
    for (const auto& s : fx::series()) {
        SCOPED_TRACE(s.name);
        const auto& p = fits.values.at(s.name).at("theta");
        fc::ThetaModel m = fc::fit_theta(s.y, s.period);
        EXPECT_NEAR(m.drift, p.at("drift"), 1e-9 * std::max(1.0, std::fabs(p.at("drift"))));
        // Our SES variance (our optimum) is no larger than R's, up to 0.1%.
        EXPECT_LT(m.sigma2, p.at("sigma2") * 1.001);
        m.alpha = p.at("alpha");
        // Not seasonal: thetaf's SES is ses(y), whose level R reports.
        m.l0 = m.seasonal ? fc::ses_best_level(fc::theta_adjusted(m, s.y), m.alpha)
                          : fits.values.at(s.name).at("ses").at("l");
        m.sigma2 = p.at("sigma2");
        expect_matches(fc::theta_forecast(m, s.y, s.horizon), rows.at(s.name).at("theta"), 1e-6);
    }
}

TEST(ForecastTheta, SeasonalityTestFollowsThetaf) {
    const auto all = fx::series();
    for (const auto& s : all) {
        if (s.name == "AirPassengers" || s.name == "USAccDeaths" || s.name == "UKgas") {
            EXPECT_TRUE(fc::theta_seasonal(s.y, s.period)) << s.name;
        }
        if (s.period == 1) {
            EXPECT_FALSE(fc::theta_seasonal(s.y, s.period)) << s.name;
        }
    }
}

// The backtest's one-pass origin forecasts equal theta_point_forecast on every
// prefix (seasonal and not).
TEST(ForecastTheta, OriginForecastsMatchEachPrefix) {
    for (const auto& s : fx::series()) {
        if (s.name != "AirPassengers" && s.name != "Nile") continue;
        SCOPED_TRACE(s.name);
        const fc::ThetaModel m = fc::fit_theta(s.y, s.period);
        const int n = static_cast<int>(s.y.size()), first = n - 20, h = 12;
        const auto paths = fc::theta_origin_forecasts(m, s.y, first, h);
        ASSERT_EQ(static_cast<int>(paths.size()), n - first);
        for (int o = first; o < n; ++o) {
            const std::vector<double> prefix(s.y.begin(), s.y.begin() + o);
            const std::vector<double> ref = fc::theta_point_forecast(m, prefix, std::min(h, n - o));
            ASSERT_EQ(paths[o - first].size(), ref.size());
            for (std::size_t k = 0; k < ref.size(); ++k)
                EXPECT_NEAR(paths[o - first][k], ref[k], 1e-9 * std::max(1.0, std::fabs(ref[k])));
        }
    }
}

TEST(ForecastIntermittent, CrostonMatchesRTestVectors) {
    const auto rows = fx::read_csv(test_data::path("carparts/croston_R_forecast_testvectors.csv"));
    ASSERT_EQ(rows.size(), 60u);
    for (const auto& r : rows) {
        std::vector<double> y;
        for (const auto& v : fx::split(r[1], ' '))
            if (!v.empty()) y.push_back(std::stod(v));
        const double expected = std::stod(r[2]);
        const fc::IntermittentModel m = fc::fit_intermittent(y, fc::IntermittentMethod::croston);
        const double got = fc::intermittent_level(m, y);
        EXPECT_NEAR(got, expected, 1e-9 * std::fabs(expected)) << "part " << r[0];
        // SBA is Croston deflated by 1 − α/2.
        const fc::IntermittentModel sba = fc::fit_intermittent(y, fc::IntermittentMethod::sba);
        EXPECT_NEAR(fc::intermittent_level(sba, y), 0.95 * expected, 1e-9 * std::fabs(expected));
    }
}

TEST(ForecastIntermittent, ClassifiesDemand) {
    const std::vector<double> smooth = {5, 6, 5, 7, 6, 5, 6, 5, 6, 7};
    const std::vector<double> lumpy = {0, 0, 9, 0, 0, 0, 1, 0, 0, 30, 0, 0};
    const std::vector<double> intermittent = {0, 2, 0, 0, 2, 0, 3, 0, 0, 2, 0, 2};
    EXPECT_EQ(fc::classify_demand(smooth).klass, fc::DemandClass::smooth);
    EXPECT_EQ(fc::classify_demand(lumpy).klass, fc::DemandClass::lumpy);
    EXPECT_EQ(fc::classify_demand(intermittent).klass, fc::DemandClass::intermittent);
    EXPECT_TRUE(fc::is_intermittent(lumpy));
    EXPECT_FALSE(fc::is_intermittent(smooth));
    EXPECT_EQ(fc::classify_demand(std::vector<double>(5, 0.0)).klass, fc::DemandClass::none);
}

TEST(ForecastIntermittent, TsbDecaysAfterObsolescenceAndIntervalsAreSane) {
    // A part that sold regularly, then stopped: TSB's probability decays,
    // Croston keeps its last rate.
    std::vector<double> y;
    for (int i = 0; i < 40; ++i) y.push_back(i % 2 == 0 ? 3.0 : 0.0);
    for (int i = 0; i < 30; ++i) y.push_back(0.0);
    const auto tsb = fc::fit_intermittent(y, fc::IntermittentMethod::tsb);
    const auto cro = fc::fit_intermittent(y, fc::IntermittentMethod::croston);
    EXPECT_LT(fc::intermittent_level(tsb, y), fc::intermittent_level(cro, y));
    const fc::Forecast f = fc::intermittent_forecast(cro, y, 5);
    for (const auto& iv : f.intervals) {
        EXPECT_GE(iv.lo95, 0.0);
        EXPECT_LE(iv.lo95, iv.lo80);
        EXPECT_LE(iv.lo80, f.point[0] + 1.0);
        EXPECT_LE(iv.hi80, iv.hi95);
        EXPECT_GT(iv.hi95, 0.0);
    }
    EXPECT_THROW(fc::fit_intermittent(std::vector<double>{1, -1, 0}, fc::IntermittentMethod::croston),
                 std::invalid_argument);
}

// Car parts (Hyndman's expsmooth data), last 12 months held out, every
// complete series with some demand in training: RMSE of each method next to
// R forecast 8.20's figures in carparts_baseline_accuracy_h12.csv (computed on
// its 2,404 complete series: Croston 0.9011, SBA 0.8871, TSB 0.8079, SES
// 0.7877, Mean 0.8601). Croston is R's own algorithm here, so it must land on
// R's figure; the others within 3% of R's.
TEST(ForecastIntermittent, CarPartsHoldoutMatchesRFigures) {
    const auto rows = fx::read_csv(test_data::path("carparts/carparts_long.csv"));
    std::map<std::string, std::vector<double>> parts;
    std::vector<std::string> order;
    for (const auto& r : rows) {
        if (!parts.count(r[0])) order.push_back(r[0]);
        parts[r[0]].push_back(std::stod(r[2]));
    }
    const std::vector<std::string> methods = {"croston", "sba", "tsb", "ses", "mean"};
    std::vector<double> se(methods.size(), 0.0);
    long n = 0;
    int used = 0;
    for (const auto& name : order) {
        const auto& y = parts[name];
        if (y.size() != 51) continue;
        const std::vector<double> train(y.begin(), y.end() - 12);
        double s = 0;
        for (double v : train) s += v;
        if (s <= 0) continue;
        for (std::size_t k = 0; k < methods.size(); ++k) {
            const auto f = fc::forecast(train, 12, 1, methods[k]);
            double e2 = 0.0;
            for (int h = 0; h < 12; ++h) {
                const double a = y[train.size() + h];
                e2 += (a - f.point[h]) * (a - f.point[h]);
            }
            se[k] += std::sqrt(e2 / 12);  // RMSE per series, averaged over series
        }
        ++n;
        ++used;
    }
    std::printf("car parts (%d series) RMSE:", used);
    std::vector<double> rmse(methods.size());
    for (std::size_t k = 0; k < methods.size(); ++k) {
        rmse[k] = se[k] / n;
        std::printf(" %s %.4f", methods[k].c_str(), rmse[k]);
    }
    std::printf("\n");
    const double r_figures[] = {0.9011, 0.8871, 0.8079, 0.7877, 0.8601};
    for (std::size_t k = 0; k < methods.size(); ++k)
        EXPECT_LT(rmse[k], r_figures[k] * 1.03) << methods[k];
}

// The backtest's one-pass levels are exactly the levels each prefix gives
// (TSB's starting values depend on the prefix, Croston's do not).
TEST(ForecastIntermittent, OriginLevelsMatchEachPrefix) {
    std::mt19937 rng(17);
    std::bernoulli_distribution demand(0.3);
    std::poisson_distribution<int> size(2.0);
    std::vector<double> y(80);
    for (double& v : y) v = demand(rng) ? 1.0 + size(rng) : 0.0;
    y[0] = 0.0;  // a first origin before any demand is covered too
    const std::vector<fc::IntermittentModel> models = {
        fc::fit_intermittent(y, fc::IntermittentMethod::croston), fc::fit_intermittent(y, fc::IntermittentMethod::sba),
        fc::fit_intermittent(y, fc::IntermittentMethod::tsb), {fc::IntermittentMethod::tsb, 0.1, 0.1}};
    for (const auto& m : models) {
        SCOPED_TRACE(fc::intermittent_name(m.method));
        const int first = 1;
        const std::vector<double> levels = fc::intermittent_origin_levels(m, y, first);
        ASSERT_EQ(levels.size(), y.size() - first);
        for (std::size_t o = first; o < y.size(); ++o) {
            const std::vector<double> prefix(y.begin(), y.begin() + o);
            const double ref = fc::intermittent_level(m, prefix);
            EXPECT_NEAR(levels[o - first], ref, 1e-12 * std::max(1.0, ref)) << "origin " << o;
        }
    }
}

// Issue #6: on the car parts set as bench/forecast_vs_r.R defines it (all 51
// months, at least two demands in the first 39, the last 12 held out) 'auto'
// must be no worse than R's best baseline there, SES with α = 0.1 (RMSE
// 0.7877; 'auto' scored 0.962 with period 12 when it chose by MASE).
TEST(ForecastIntermittent, AutoOnCarPartsBeatsTheBestRBaseline) {
    const auto rows = fx::read_csv(test_data::path("carparts/carparts_long.csv"));
    std::map<std::string, std::vector<double>> parts;
    std::vector<std::string> order;
    for (const auto& r : rows) {
        if (!parts.count(r[0])) order.push_back(r[0]);
        parts[r[0]].push_back(std::stod(r[2]));
    }
    double rmse = 0.0;
    int used = 0, intermittent_picks = 0;
    for (const auto& name : order) {
        const auto& y = parts[name];
        if (y.size() != 51) continue;
        int demands = 0;
        for (int t = 0; t < 39; ++t) demands += y[t] > 0;
        if (demands < 2) continue;
        const std::vector<double> train(y.begin(), y.begin() + 39);
        const fc::FitAndForecast r = fc::fit_and_forecast(train, 12, 12, "auto");
        const std::string& m = r.fit.method;
        intermittent_picks += m == "sba" || m == "tsb" || m == "ses" || m == "mean";
        double e2 = 0.0;
        for (int h = 0; h < 12; ++h) e2 += (y[39 + h] - r.forecast.point[h]) * (y[39 + h] - r.forecast.point[h]);
        rmse += std::sqrt(e2 / 12);
        ++used;
    }
    ASSERT_EQ(used, 2404);
    rmse /= used;
    std::printf("car parts auto (period 12): RMSE %.4f over %d series\n", rmse, used);
    EXPECT_LE(rmse, 0.7877);
    // Nearly all are intermittent: they get the intermittent candidates only.
    EXPECT_GE(intermittent_picks, 2380);
}

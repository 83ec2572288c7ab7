// Readers for the R reference values in test/fixtures/forecast (written by
// make_fixtures.R with R 4.2.2 and forecast 8.20) and the data sets in test/data.
#pragma once

#include "core/forecast/ets.hpp"
#include "test_data.hpp"

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace forecast_fixtures {

inline std::string fixture_path(const std::string& file) {
    return std::string(SALESFLOW_SOURCE_DIR) + "/test/fixtures/forecast/" + file;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

inline std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::istringstream in = test_data::stream(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string clean;
        for (char c : line)
            if (c != '"') clean += c;
        rows.push_back(split(clean, ','));
    }
    return rows;
}

struct Series {
    std::string name;
    int period;
    int horizon;
    std::vector<double> y;
};

inline std::vector<Series> series() {
    std::vector<Series> out;
    for (const auto& r : read_csv(fixture_path("series.csv"))) {
        Series s{r[0], std::stoi(r[1]), std::stoi(r[2]), {}};
        for (const auto& v : split(r[3], ' '))
            if (!v.empty()) s.y.push_back(std::stod(v));
        out.push_back(s);
    }
    return out;
}

// series -> model -> name -> value (numbers); "model" keys of auto rows are
// kept in auto_models.
struct Fits {
    std::map<std::string, std::map<std::string, std::map<std::string, double>>> values;
    std::map<std::string, std::string> auto_models;
};

inline Fits ets_fits() {
    Fits f;
    for (const auto& r : read_csv(fixture_path("ets_fits.csv"))) {
        if (r[2] == "model") {
            f.auto_models[r[0]] = r[3];
            continue;
        }
        f.values[r[0]][r[1]][r[2]] = std::stod(r[3]);
    }
    return f;
}

struct Row {
    double mean, lo80, hi80, lo95, hi95;
};

// series -> model/method -> rows by step
inline std::map<std::string, std::map<std::string, std::vector<Row>>> forecasts(const std::string& file) {
    std::map<std::string, std::map<std::string, std::vector<Row>>> out;
    for (const auto& r : read_csv(fixture_path(file)))
        out[r[0]][r[1]].push_back({std::stod(r[3]), std::stod(r[4]), std::stod(r[5]), std::stod(r[6]), std::stod(r[7])});
    return out;
}

// An EtsModel holding R's estimates for `code` (parameters and initial states).
inline salesflow::forecast::EtsModel model_from_r(const std::string& code, int period,
                                                  const std::map<std::string, double>& p) {
    using namespace salesflow::forecast;
    EtsSpec spec;
    parse_ets_code(code, &spec);
    EtsModel m;
    m.spec = spec;
    m.period = spec.season == SeasonType::none ? 1 : period;
    m.alpha = p.at("alpha");
    if (p.count("beta")) m.beta = p.at("beta");
    if (p.count("gamma")) m.gamma = p.at("gamma");
    if (p.count("phi")) m.phi = p.at("phi");
    m.l0 = p.at("l");
    if (p.count("b")) m.b0 = p.at("b");
    if (spec.season != SeasonType::none) {
        for (int j = 0; j < period - 1; ++j) m.s0.push_back(p.at("s" + std::to_string(j)));
        m.s0.push_back(p.at("s_last"));
    }
    return m;
}

}  // namespace forecast_fixtures

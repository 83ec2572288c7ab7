// The CDNOW cohort of Fader, Hardie & Lee (2005) for the segments tests and
// benchmark: 2,357 customers, time in weeks, calibration ending 1997-09-30.
// Read from test/data/cdnow (see test/data/README.md).
#pragma once

#include "test_data.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace salesflow::segments::testdata {

// One numeric column per header name, rows in file order.
struct Table {
    std::vector<std::string> header;
    std::vector<std::vector<double>> columns;

    const std::vector<double>& column(const std::string& name) const {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return columns[i];
        throw std::runtime_error("no column " + name);
    }
    std::size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
};

inline Table read_numeric_csv(const std::string& path) {
    std::istringstream in = test_data::stream(path);
    Table t;
    std::string line, cell;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();  // one of the files has CRLF ends
    std::istringstream head(line);
    while (std::getline(head, cell, ',')) t.header.push_back(cell);
    t.columns.resize(t.header.size());
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::istringstream row(line);
        for (std::size_t c = 0; c < t.header.size(); ++c) {
            if (!std::getline(row, cell, ',')) throw std::runtime_error("short row in " + path);
            t.columns[c].push_back(std::stod(cell));
        }
    }
    return t;
}

// ID, frequency, recency, T.
inline Table cdnow_summary() { return read_numeric_csv(test_data::path("cdnow/cdnow_customers_summary.csv")); }

// ID, x, t_x, T, zbar (mean spend of the repeat purchases; 0 when x = 0).
inline Table cdnow_with_spend() {
    return read_numeric_csv(test_data::path("cdnow/cdnow_customers_summary_with_transactions.csv"));
}

// The cohort's (x, t_x, T) in weeks, read once.
struct CdnowHistories {
    std::vector<double> x, t_x, T;
};
inline const CdnowHistories& cdnow_histories() {
    static const CdnowHistories data = [] {
        const auto t = cdnow_summary();
        return CdnowHistories{t.column("frequency"), t.column("recency"), t.column("T")};
    }();
    return data;
}

}  // namespace salesflow::segments::testdata

// Reader for the SciPy reference values in test/fixtures/inventory (written by
// make_fixtures.py there with SciPy 1.10): small CSVs with a header row.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace inventory_fixtures {

struct Row {
    std::map<std::string, std::string> cells;
    const std::string& text(const std::string& column) const {
        const auto it = cells.find(column);
        if (it == cells.end()) throw std::runtime_error("fixture has no column " + column);
        return it->second;
    }
    double number(const std::string& column) const { return std::stod(text(column)); }
};

inline std::vector<std::string> split_commas(const std::string& line) {
    std::vector<std::string> out;
    std::string cell;
    std::istringstream in(line);
    while (std::getline(in, cell, ',')) out.push_back(cell);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
}

inline std::vector<Row> read(const std::string& file) {
    const std::string path = std::string(SALESFLOW_SOURCE_DIR) + "/test/fixtures/inventory/" + file;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::string line;
    std::getline(in, line);
    const auto header = split_commas(line);
    std::vector<Row> rows;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto cells = split_commas(line);
        if (cells.size() != header.size()) throw std::runtime_error("ragged fixture row in " + path);
        Row row;
        for (std::size_t i = 0; i < header.size(); ++i) row.cells[header[i]] = cells[i];
        rows.push_back(std::move(row));
    }
    if (rows.empty()) throw std::runtime_error("empty fixture " + path);
    return rows;
}

}  // namespace inventory_fixtures

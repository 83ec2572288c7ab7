// The real data sets the unit tests read live in test/data/ (see its README),
// stored gzip-compressed. Readers ask for the plain name; when only the .gz
// exists it is decompressed with `gzip -dc`, so a test can equally be pointed
// at an uncompressed copy (e.g. the full M3 set, SALESFLOW_M3_DIR).
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace test_data {

// test/data/<relative>, e.g. path("cdnow/cdnow_customers_summary.csv").
inline std::string path(const std::string& relative) { return std::string(SALESFLOW_TEST_DATA_DIR) + "/" + relative; }

// The bytes of `file`, or of `file`.gz decompressed; throws when neither can be read.
inline std::string read(const std::string& file) {
    if (std::ifstream plain{file, std::ios::binary}) {
        std::ostringstream out;
        out << plain.rdbuf();
        return out.str();
    }
    const std::string gz = file + ".gz";
    if (!std::ifstream{gz}) throw std::runtime_error("cannot open " + file + " or " + gz);
    FILE* p = popen(("gzip -dc -- '" + gz + "'").c_str(), "r");
    if (!p) throw std::runtime_error("cannot run gzip -dc on " + gz);
    std::string out;
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (pclose(p) != 0) throw std::runtime_error("gzip -dc failed on " + gz);
    return out;
}

// The same as a stream to read line by line.
inline std::istringstream stream(const std::string& file) { return std::istringstream(read(file)); }

}  // namespace test_data

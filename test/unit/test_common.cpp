// Unit tests of src/core/common: the span view and cooperative cancellation.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/common/cancel.hpp"
#include "core/common/span.hpp"

namespace {

bool g_flag = false;
bool flag_probe() { return g_flag; }

struct ProbeReset {
    ~ProbeReset() {
        salesflow::set_cancel_probe(nullptr);
        g_flag = false;
    }
};

}  // namespace

TEST(CommonSpan, ViewsAVectorWithoutCopying) {
    std::vector<double> v{1.0, 2.5, -3.0};
    salesflow::span<double> s(v);
    EXPECT_EQ(s.size(), 3u);
    EXPECT_EQ(s.data(), v.data());
    EXPECT_DOUBLE_EQ(std::accumulate(s.begin(), s.end(), 0.0), 0.5);
    EXPECT_DOUBLE_EQ(s[1], 2.5);
}

TEST(CommonSpan, EmptyByDefault) {
    salesflow::span<long> s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.begin(), s.end());
}

TEST(CommonCancel, NoProbeNeverCancels) {
    ProbeReset reset;
    salesflow::set_cancel_probe(nullptr);
    EXPECT_NO_THROW(salesflow::check_cancel());
}

TEST(CommonCancel, ProbeThrowsCancelledWhenSet) {
    ProbeReset reset;
    salesflow::set_cancel_probe(&flag_probe);
    EXPECT_NO_THROW(salesflow::check_cancel());
    g_flag = true;
    EXPECT_THROW(salesflow::check_cancel(), salesflow::cancelled);
}

TEST(CommonCancel, CancelledUnwindsALoopAndFreesItsObjects) {
    ProbeReset reset;
    salesflow::set_cancel_probe(&flag_probe);
    int iterations = 0;
    auto long_loop = [&] {
        std::vector<double> buffer(1000, 1.0);  // must be released by unwinding
        for (;;) {
            if (++iterations == 100) g_flag = true;
            salesflow::check_cancel();
        }
    };
    EXPECT_THROW(long_loop(), salesflow::cancelled);
    EXPECT_EQ(iterations, 100);
}

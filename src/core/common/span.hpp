// A minimal read-only view over contiguous elements (C++17 has no std::span).
//
// The binding layer maps PostgreSQL array data into spans without copying;
// core functions take spans so they work equally on std::vector in tests.
#pragma once

#include <cstddef>
#include <vector>

namespace salesflow {

template <typename T>
class span {
public:
    constexpr span() noexcept = default;
    constexpr span(const T* data, std::size_t size) noexcept : data_(data), size_(size) {}
    span(const std::vector<T>& v) noexcept : data_(v.data()), size_(v.size()) {}  // NOLINT: implicit by design

    constexpr const T* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr const T* begin() const noexcept { return data_; }
    constexpr const T* end() const noexcept { return data_ + size_; }

private:
    const T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace salesflow

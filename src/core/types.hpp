// The central aliases: where kernels run, where data lives, and the shapes we use.
// Every View in kbnn is LayoutRight (row-major), so a (rows, cols) buffer can be
// reinterpreted as (rows * k, cols / k) without a copy: conv activations are NHWC.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace kbnn {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using HostSpace = Kokkos::HostSpace;
// Whether host code may read MemSpace: what picks host-shaped kernels and host loops.
constexpr bool host_accessible = Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible;

// Training precision. Layers are templated on the scalar so that gradient checks
// can run in double; the trainer uses Real.
using Real = float;

template <class T>
using View1 = Kokkos::View<T*, Kokkos::LayoutRight, MemSpace>;
template <class T>
using View2 = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
// A 2-D window onto memory owned by another View (reshapes, activation slices).
template <class T>
using Matrix = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace,
                            Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

// A 64-bit index: on CUDA and HIP the default is the space's 32-bit unsigned size_type,
// and Kokkos aborts on a bound beyond it ("RangePolicy bound type error"), which an
// element-per-thread kernel over a large batch reaches (im2col: examples x P x K).
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
static_assert(sizeof(Range::index_type) == 8, "kernels index beyond 2^32 elements");

// Per-example shape of an activation: height x width x channels (NHWC).
struct Shape {
  int height = 1;
  int width = 1;
  int channels = 0;
  std::int64_t size() const { return std::int64_t(height) * width * channels; }
};

// Reinterprets a contiguous buffer as a (rows, cols) matrix without copying.
template <class View>
Matrix<typename View::value_type> as_matrix(const View& v, std::size_t rows, std::size_t cols) {
  return Matrix<typename View::value_type>(v.data(), rows, cols);
}

// Rows [first, first + count) of a matrix, in place (LayoutRight rows are contiguous).
template <class T>
Matrix<T> rows_of(const Matrix<T>& m, std::size_t first, std::size_t count) {
  return Matrix<T>(m.data() + first * m.extent(1), count, m.extent(1));
}

}  // namespace kbnn

// How a memory-bound kernel spreads its work over threads. Kernels that offer both
// compute the same numbers either way:
//   rows:     one thread per row copies or sums whole contiguous runs: no index
//             division per element, long loops a CPU core vectorises;
//   elements: one thread per output number, so that neighbouring GPU threads touch
//             neighbouring addresses (coalesced) and there are enough threads to fill
//             the device; the index arithmetic is cheap next to the memory traffic.
// The build picks the shape from its memory space; tests run both on the CPU.
#pragma once

#include "core/types.hpp"

#include <cstdint>

namespace kbnn {

enum class ThreadShape { rows, elements };
constexpr ThreadShape native_shape = host_accessible ? ThreadShape::rows : ThreadShape::elements;

// Calls f(r, j) once for every element (r, j) of a rows x cols grid, where no element's
// value depends on another's: one thread per row r running j = 0, 1, ... in order, or
// one thread per element. f is a KOKKOS_LAMBDA, and the kernel is named `name`.
template <class F>
void for_each_element(const char* name, std::int64_t rows, int cols, const F& f,
                      ThreadShape shape = native_shape) {
  if (shape == ThreadShape::elements) {
    Kokkos::parallel_for(
        name, Range(0, rows * cols), KOKKOS_LAMBDA(const std::int64_t i) {
          f(i / cols, static_cast<int>(i % cols));
        });
    return;
  }
  Kokkos::parallel_for(
      name, Range(0, rows), KOKKOS_LAMBDA(const std::int64_t r) {
        for (int j = 0; j < cols; ++j) f(r, j);
      });
}

}  // namespace kbnn

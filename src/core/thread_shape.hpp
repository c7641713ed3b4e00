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

namespace kbnn {

enum class ThreadShape { rows, elements };
constexpr ThreadShape native_shape = host_accessible ? ThreadShape::rows : ThreadShape::elements;

}  // namespace kbnn

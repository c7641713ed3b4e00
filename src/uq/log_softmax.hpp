// The log-softmax of one row of logits divided by a temperature, in double, from the
// row's largest value: what the Monte-Carlo passes (uq/monte_carlo.cpp) and the
// temperature fit (uq/temperature.cpp) both compute, on the device or the host. `Logits`
// is anything indexed (row, class).
#pragma once

#include "core/math.hpp"

#include <cstdint>

namespace kbnn {

// log softmax of row b of the logits times `scale` (1 / T), in double, from the largest.
// T = 1 takes the logits as they are: even a product by 1.0 lets the compiler contract
// the arithmetic around it otherwise (FMA), which moved entropies by an ulp. The branch
// is the same for every thread.
template <class Logits>
struct LogSoftmax {
  const Logits& logits;
  std::int64_t b;
  double scale, top = 0, log_total = 0;
  KOKKOS_INLINE_FUNCTION LogSoftmax(const Logits& l, std::int64_t row, int classes, double s)
      : logits(l), b(row), scale(s) {
    top = z(0);
    for (int k = 1; k < classes; ++k) top = z(k) > top ? z(k) : top;
    double total = 0;
    for (int k = 0; k < classes; ++k) total += math::exp(z(k) - top);
    log_total = math::log(total);
  }
  KOKKOS_INLINE_FUNCTION double z(int k) const {
    return scale == 1.0 ? double(logits(b, k)) : double(logits(b, k)) * scale;
  }
  KOKKOS_INLINE_FUNCTION double operator()(int k) const { return z(k) - top - log_total; }
};

}  // namespace kbnn

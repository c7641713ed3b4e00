// Device-callable math that compiles against Kokkos 3.4 (Kokkos::Experimental::)
// and Kokkos 4 (Kokkos::). Kernels call kbnn::math::exp etc., never std::.
#pragma once

#include "core/float_math.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace kbnn::math {

#if KOKKOS_VERSION >= 40000
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::log;
using Kokkos::log1p;
using Kokkos::sin;
using Kokkos::sqrt;
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::log;
using Kokkos::Experimental::log1p;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
#endif

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows.
// sigmoid(x) = 1 / (1 + exp(-x)) = d softplus / dx, from the same exp(-|x|).
// In float they are worked in double with core/float_math.hpp's branch-free functions,
// selecting on bit patterns: the per-weight loops over them vectorize, and the float
// result is the correctly rounded one (glibc's log1pf(expf(x)) is an ulp off in about
// 1% of cases). NaN passes through.
KOKKOS_INLINE_FUNCTION float softplus(float x) {
  const auto bits = bit_cast<std::int32_t>(x);
  const float positive_part = bit_cast<float>(std::int32_t(bits & ~(bits >> 31)));  // max(x, 0)
  const double t = f64::exp_nonpositive(-double(fabs(x)));
  return float(double(positive_part) + f64::log1p_unit(t));
}
KOKKOS_INLINE_FUNCTION float sigmoid(float x) {
  const double t = f64::exp_nonpositive(-double(fabs(x)));
  // The numerator is 1 for x >= 0 and exp(x) = t below: a mask from x's sign bit.
  const std::int64_t below = -std::int64_t(bit_cast<std::int32_t>(x) < 0);
  const double numerator = bit_cast<double>((bit_cast<std::int64_t>(1.0) & ~below) |
                                            (bit_cast<std::int64_t>(t) & below));
  return float(numerator / (1.0 + t));
}
KOKKOS_INLINE_FUNCTION double softplus(double x) {
  return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
KOKKOS_INLINE_FUNCTION double sigmoid(double x) {
  const double t = exp(-fabs(x));
  return (x >= 0.0 ? 1.0 : t) / (1.0 + t);
}

}  // namespace kbnn::math

// Device-callable math that compiles against Kokkos 3.4 (Kokkos::Experimental::)
// and Kokkos 4 (Kokkos::). Kernels call kbnn::math::exp etc., never std::.
#pragma once

#include "core/float_math.hpp"

#include <Kokkos_Core.hpp>

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

namespace detail {
// exp(-|x|) and log(1 + t) for t in [0, 1]: branch-free in float (core/float_math.hpp),
// so that the per-weight loops vectorize; the library's in double.
KOKKOS_INLINE_FUNCTION float exp_minus_abs(float x) { return f32::exp_nonpositive(-fabs(x)); }
KOKKOS_INLINE_FUNCTION double exp_minus_abs(double x) { return exp(-fabs(x)); }
KOKKOS_INLINE_FUNCTION float log1p_unit(float t) { return f32::log1p_unit(t); }
KOKKOS_INLINE_FUNCTION double log1p_unit(double t) { return log1p(t); }
}  // namespace detail

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows.
template <class T>
KOKKOS_INLINE_FUNCTION T softplus(T x) {
  return (x > T(0) ? x : T(0)) + detail::log1p_unit(detail::exp_minus_abs(x));
}

// d softplus / dx = sigmoid(x) = 1 / (1 + exp(-x)), from the same exp(-|x|) as softplus
// (a kernel that wants both computes it once).
template <class T>
KOKKOS_INLINE_FUNCTION T sigmoid(T x) {
  const T t = detail::exp_minus_abs(x);
  return (x >= T(0) ? T(1) : t) / (T(1) + t);
}

}  // namespace kbnn::math

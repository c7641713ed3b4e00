// Device-callable math that compiles against Kokkos 3.4 (Kokkos::Experimental::)
// and Kokkos 4 (Kokkos::). Kernels call kbnn::math::exp etc., never std::.
#pragma once

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

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact, never overflows.
template <class T>
KOKKOS_INLINE_FUNCTION T softplus(T x) {
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

// d softplus / dx = sigmoid(x).
template <class T>
KOKKOS_INLINE_FUNCTION T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

}  // namespace kbnn::math

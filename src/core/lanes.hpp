// A fixed-width bundle of numbers for register-blocked kernels: `Lanes<Scalar, N>` is
// N accumulators that stay in a vector register across a loop. Kernels take N =
// simd::width<Scalar>() (core/simd_width.hpp), one register of the compile target; a
// wider bundle would be split over several registers and spill in blocked loops.
// On CPUs it is a GCC / Clang vector type, because compilers do not keep a plain
// array accumulator in registers there (measured: 8x slower). Elsewhere (GPU
// compilers, which do keep unrolled arrays in registers, or a target without a known
// vector unit) it is a plain array.
#pragma once

#include "core/simd_width.hpp"

#include <Kokkos_Core.hpp>

namespace kbnn {

// The same choice in a GPU compilation's host and device passes (KBNN_GPU_COMPILATION,
// core/simd_width.hpp), so that a kernel's Lanes have one layout in both.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(KBNN_GPU_COMPILATION)
#define KBNN_LANES_ARE_VECTORS 1
#endif

#if defined(KBNN_LANES_ARE_VECTORS)
template <class Scalar, int N>
struct Lanes {
  typedef Scalar Vector __attribute__((vector_size(N * sizeof(Scalar))));
  Vector v = {};
  // this += x * (the N numbers at p); p need not be aligned.
  KOKKOS_INLINE_FUNCTION void fma(Scalar x, const Scalar* p) {
    Vector w;
    __builtin_memcpy(&w, p, sizeof w);
    v += x * w;
  }
  KOKKOS_INLINE_FUNCTION Scalar operator[](int i) const { return v[i]; }
};
#else
template <class Scalar, int N>
struct Lanes {
  Scalar v[N] = {};
  KOKKOS_INLINE_FUNCTION void fma(Scalar x, const Scalar* p) {
    for (int i = 0; i < N; ++i) v[i] += x * p[i];
  }
  KOKKOS_INLINE_FUNCTION Scalar operator[](int i) const { return v[i]; }
};
#endif

}  // namespace kbnn

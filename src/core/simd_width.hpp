// The vector registers of the compile target, for register-blocked kernels: how many
// bytes one holds and how many there are. Kernels derive their vector width and their
// blocking factors (rows per thread, accumulators) from these two numbers alone, so
// that one source is tuned for whatever -march the build uses, not for one machine.
//
// Read from the compiler's target macros (Debian's Kokkos 3.4 has no Kokkos SIMD).
// GPU compilations take one fixed answer in both their host and device passes, so the
// two passes agree on every type built from it (Lanes, the kernels' blocking).
#pragma once

#include <Kokkos_Macros.hpp>

// A GPU compilation, in its host pass and in every device pass alike. Only macros that
// the compiler defines in all passes may choose a type's layout: __CUDACC__ (nvcc,
// clang CUDA), __HIPCC__ (hipcc, clang HIP) and SYCL_LANGUAGE_VERSION (every SYCL
// compiler). __CUDA_ARCH__, __HIP_DEVICE_COMPILE__ and __SYCL_DEVICE_ONLY__ are defined
// in the device pass only: keying on them gave the host pass of a SYCL build AVX-512's
// 64-byte answer and its device pass 16 bytes, two different kernel types.
#if defined(__CUDACC__) || defined(__HIPCC__) || defined(SYCL_LANGUAGE_VERSION)
#define KBNN_GPU_COMPILATION 1
#endif
#if (defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__) || \
     defined(__SYCL_DEVICE_ONLY__)) && !defined(KBNN_GPU_COMPILATION)
#error "kbnn: a device pass without its compilation's all-pass macro; see core/simd_width.hpp"
#endif

namespace kbnn {
namespace simd {

#if defined(KBNN_GPU_COMPILATION)
// A GPU thread keeps a small unrolled array in its (many) scalar registers.
constexpr int register_bytes = 16;
constexpr int registers = 32;
#elif defined(__AVX512F__)
constexpr int register_bytes = 64;  // zmm
constexpr int registers = 32;
#elif defined(__AVX__)
constexpr int register_bytes = 32;  // ymm (AVX and AVX2)
constexpr int registers = 16;
#elif defined(__ARM_NEON)
constexpr int register_bytes = 16;  // q registers
constexpr int registers = 32;
#elif defined(__SSE2__)
constexpr int register_bytes = 16;  // xmm
constexpr int registers = 16;
#else
constexpr int register_bytes = 0;   // no vector unit known: scalar code
constexpr int registers = 16;
#endif

// Numbers of type Scalar in one register (1 on the scalar path). Callable in kernels
// outside constant expressions too (nvcc warns on a host-only constexpr call there).
template <class Scalar>
KOKKOS_INLINE_FUNCTION constexpr int width() {
  return register_bytes >= int(sizeof(Scalar)) ? register_bytes / int(sizeof(Scalar)) : 1;
}

// Registers needed for n numbers of type Scalar.
template <class Scalar>
KOKKOS_INLINE_FUNCTION constexpr int vectors_for(int n) {
  return (n + width<Scalar>() - 1) / width<Scalar>();
}

}  // namespace simd
}  // namespace kbnn

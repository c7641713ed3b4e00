// The vector registers of the compile target, for register-blocked kernels: how many
// bytes one holds and how many there are. Kernels derive their vector width and their
// blocking factors (rows per thread, accumulators) from these two numbers alone, so
// that one source is tuned for whatever -march the build uses, not for one machine.
//
// Read from the compiler's target macros (Debian's Kokkos 3.4 has no Kokkos SIMD).
// GPU compilations take one fixed answer in both their host and device passes, so the
// two passes agree on every type built from it.
#pragma once

namespace kbnn {
namespace simd {

#if defined(__CUDACC__) || defined(__HIPCC__) || defined(__SYCL_DEVICE_ONLY__)
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

// Numbers of type Scalar in one register (1 on the scalar path).
template <class Scalar>
constexpr int width() {
  return register_bytes >= int(sizeof(Scalar)) ? register_bytes / int(sizeof(Scalar)) : 1;
}

// Registers needed for n numbers of type Scalar.
template <class Scalar>
constexpr int vectors_for(int n) {
  return (n + width<Scalar>() - 1) / width<Scalar>();
}

}  // namespace simd
}  // namespace kbnn

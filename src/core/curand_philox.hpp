// Bridge to cuRAND's Philox4x32-10 generator: the bulk path that fills noise buffers
// where the CUDA toolkit is present, and the exact map from cuRAND's output stream onto
// kbnn::philox4x32_10. The map lets the tests check cuRAND against the Random123
// reference, and lets a portable Kokkos kernel reproduce cuRAND's stream where cuRAND
// is absent (a CPU build without the toolkit).
//
// Only CurandPhilox needs cuRAND: its definitions live in curand_philox.cpp, which the
// build compiles (and defines KBNN_HAVE_CURAND for) only when the CUDA toolkit is found.
// The mapping functions below are plain Kokkos code and this header does not include
// curand.h, so it can be included from any translation unit.
//
// How cuRAND's Philox stream maps onto philox4x32_10(counter, k0, k1). Found by
// experiment with the host generator of cuRAND 10.4.0 (CUDA 13.0), checked over 10^6
// words and offsets from 0 to 2^50 + 2^48 + 262141, and kept checked by
// tests/test_curand.cpp:
//
//  * key: k0 = low 32 bits of the 64-bit seed, k1 = high 32 bits. The seed is used as
//    it is, with no hashing.
//  * position: the offset (curandSetGeneratorOffset) counts 32-bit words of a single
//    stream, and each curandGenerate* call carries on from where the last one
//    stopped, so word p of the stream does not depend on how the calls were sized.
//  * ordering: cuRAND runs 65536 subsequences side by side, and in each round every
//    subsequence produces one 4-word Philox block. Block b = p / 4 comes from
//    subsequence b % 65536 at round b / 65536:
//        counter = { lo32(b / 65536), hi32(b / 65536), b % 65536, 0 }
//        word p  = philox4x32_10(counter, k0, k1).v[p % 4]
//    This is the device API's curand_init(seed, subsequence = b % 65536,
//    offset = 4 * (b / 65536)). On the host generator, CURAND_ORDERING_PSEUDO_DEFAULT,
//    _BEST and _LEGACY all produce this layout. It refuses _SEEDED and _DYNAMIC with
//    CURAND_STATUS_OUT_OF_RANGE. CurandPhilox sets _LEGACY explicitly, because that is
//    the ordering NVIDIA promises not to change between releases.
//    (Past word 2^64 the round keeps counting without wrapping, into counter word 1.
//    The map below covers positions below 2^64, which is far more than a run uses.)
//  * seed zero, offset zero therefore starts with the Random123 known answer for
//    counter 0 and key 0: 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
//  * normals (curandGenerateNormal, float): the element at position p (the offset
//    counts normals in the same units as words) is Box-Muller applied to the word pair
//    (x, y) = words (2 floor(p/2), 2 floor(p/2) + 1), computed in float:
//        u = x 2^-32 + 2^-33,  v = (y 2^-32 + 2^-33) 2 pi,  s = sqrt(-2 log u),
//        z = s sin v for even p, s cos v for odd p;  result = mean + stddev z.
//    curand_philox_normal below reproduces the host generator bit for bit with glibc's
//    logf/sinf/cosf. The device generator uses __sincosf, so expect differences of
//    about 1e-6 there.
//  * Not checked here, because the machine this was written on has no GPU: whether the
//    device generator (curandCreateGenerator) gives the same stream. NVIDIA documents
//    that host and device generators give the same sequence, and tests/test_curand.cpp
//    runs the device generator whenever Kokkos' default space is CUDA.
//
// This stream is NOT NoiseKey's stream. NoiseKey puts (index, layer|stream, step) into
// the counter, while cuRAND fixes counter word 3 at 0 and word 2 below 65536. A seed
// filled by cuRAND gives different numbers from NoiseKey::normal for the same seed.
#pragma once

#include "core/math.hpp"
#include "core/philox.hpp"

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

// cuRAND's opaque generator (curand.h declares curandGenerator_t as a pointer to it).
// Declaring it here keeps CUDA headers out of every file that includes this one.
struct curandGenerator_st;

namespace kbnn {

// Counter of the Philox block that holds word `position` of cuRAND's Philox stream.
KOKKOS_INLINE_FUNCTION Philox4x32 curand_philox_counter(std::uint64_t position) {
  constexpr std::uint64_t subsequences = 65536;
  const std::uint64_t block = position / 4;
  const std::uint64_t round = block / subsequences;
  return Philox4x32{{static_cast<std::uint32_t>(round), static_cast<std::uint32_t>(round >> 32),
                     static_cast<std::uint32_t>(block % subsequences), 0u}};
}

// Word `position` of cuRAND's Philox stream for `seed`: what curandGenerate writes there.
KOKKOS_INLINE_FUNCTION std::uint32_t curand_philox_uint32(std::uint64_t seed,
                                                          std::uint64_t position) {
  const Philox4x32 r =
      philox4x32_10(curand_philox_counter(position), static_cast<std::uint32_t>(seed),
                    static_cast<std::uint32_t>(seed >> 32));
  return r.v[position % 4];
}

// Element `position` of curandGenerateNormal's stream for `seed` (mean 0, stddev 1).
// The arithmetic is cuRAND's own, done in float, so that the result matches its host
// generator exactly and not just to within float rounding.
KOKKOS_INLINE_FUNCTION float curand_philox_normal(std::uint64_t seed, std::uint64_t position) {
  const std::uint64_t first = position & ~std::uint64_t(1);
  const std::uint32_t x = curand_philox_uint32(seed, first);
  const std::uint32_t y = curand_philox_uint32(seed, first + 1);
  // cuRAND's CURAND_2POW32_INV and CURAND_2POW32_INV_2PI, as float literals.
  constexpr float two_pow_m32 = 2.3283064e-10f;
  constexpr float two_pow_m32_2pi = 2.3283064e-10f * 6.2831855f;
  const float u = x * two_pow_m32 + two_pow_m32 / 2;
  const float v = y * two_pow_m32_2pi + two_pow_m32_2pi / 2;
  const float s = math::sqrt(-2.0f * math::log(u));
  return (position % 2 == 0) ? math::sin(v) * s : math::cos(v) * s;
}

// RAII owner of a cuRAND Philox4x32-10 generator that tracks its own stream position,
// so that callers can checkpoint offset() and restore it with set_offset().
//
// Buffers passed in must live where the generator writes: host memory for
// Target::host and CUDA device memory for Target::device. default_target matches
// kbnn::MemSpace, so a View1<float>'s data() is always a valid buffer for a generator
// built with the default target.
class CurandPhilox {
 public:
  enum class Target { host, device };

#ifdef KOKKOS_ENABLE_CUDA
  static constexpr Target default_target =
      std::is_same<Kokkos::DefaultExecutionSpace, Kokkos::Cuda>::value ? Target::device
                                                                        : Target::host;
#else
  static constexpr Target default_target = Target::host;
#endif

  // Creates the generator at offset 0. Throws kbnn::RuntimeError if cuRAND refuses,
  // for example a device generator with no usable GPU.
  explicit CurandPhilox(std::uint64_t seed = 0, Target target = default_target);
  ~CurandPhilox();

  CurandPhilox(const CurandPhilox&) = delete;
  CurandPhilox& operator=(const CurandPhilox&) = delete;
  CurandPhilox(CurandPhilox&& other) noexcept;
  CurandPhilox& operator=(CurandPhilox&& other) noexcept;

  // Changes the key and keeps offset(). cuRAND on its own does not keep the position
  // when it is reseeded in the middle of a stream (see curand_philox.cpp).
  void set_seed(std::uint64_t seed);
  // Moves to stream position `offset` (in 32-bit words, see the map above).
  void set_offset(std::uint64_t offset);

  std::uint64_t seed() const { return seed_; }
  // Stream position of the next word to be generated.
  std::uint64_t offset() const { return offset_; }
  Target target() const { return target_; }

  // out[i] = curand_philox_uint32(seed(), offset() + i), for i < n. Advances by n.
  void generate_uint32(std::uint32_t* out, std::size_t n);

  // out[i] = mean + stddev * curand_philox_normal(seed(), offset() + i), for i < n.
  // The device generator only accepts an even count, so an odd n draws its last value
  // through a two-element scratch buffer, which costs an extra allocation and copy.
  // The offset always advances by n rounded up to an even number, so host and device
  // generators remain at the same position after the same calls.
  void fill_normal(float* out, std::size_t n, float mean, float stddev);

 private:
  curandGenerator_st* gen_ = nullptr;
  Target target_ = Target::host;
  std::uint64_t seed_ = 0;
  std::uint64_t offset_ = 0;
};

}  // namespace kbnn

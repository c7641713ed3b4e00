// Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers: as easy as 1, 2, 3"),
// written as portable Kokkos code. Counter-based: the draw for (key, counter) is a pure
// function, so any thread on any rank or device computes the same number for the same
// (seed, step, layer, index) without sharing state. This is what makes a run
// rank-count invariant and a restart exact.
#pragma once

#include "core/math.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace kbnn {

struct Philox4x32 {
  std::uint32_t v[4];
};

namespace detail {
KOKKOS_INLINE_FUNCTION void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                      std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
}  // namespace detail

// The generator itself: 10 rounds of the Philox S-box and key schedule.
KOKKOS_INLINE_FUNCTION Philox4x32 philox4x32_10(Philox4x32 ctr, std::uint32_t k0,
                                                std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += W0;
      k1 += W1;
    }
    std::uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(M0, ctr.v[0], hi0, lo0);
    detail::mulhilo32(M1, ctr.v[2], hi1, lo1);
    ctr = Philox4x32{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
  }
  return ctr;
}

// What a stream of draws is for; part of the counter, so streams never overlap.
enum class Stream : std::uint32_t {
  init_mu = 1,
  init_rho = 2,
  init_bias = 3,
  weight_noise = 4,
  bias_noise = 5,
  sign_in = 6,
  sign_out = 7,
  shuffle = 8,
  output_noise = 9,  // local reparameterization: one normal per output element
};

// The key is the run's seed; the counter is (index lo, index hi, layer|stream, step).
// `step` is the optimizer step in training and the Monte-Carlo sample (offset by
// 2^31) in prediction, so training and evaluation draws differ too.
struct NoiseKey {
  std::uint64_t seed = 0;
  std::uint32_t step = 0;
  std::uint32_t layer = 0;

  KOKKOS_INLINE_FUNCTION Philox4x32 draw(Stream stream, std::uint64_t index) const {
    const Philox4x32 ctr{{static_cast<std::uint32_t>(index),
                          static_cast<std::uint32_t>(index >> 32),
                          (layer << 8) | static_cast<std::uint32_t>(stream), step}};
    return philox4x32_10(ctr, static_cast<std::uint32_t>(seed),
                         static_cast<std::uint32_t>(seed >> 32));
  }

  // Element i of a standard-normal stream: one Philox call gives 4 normals
  // (two Box-Muller pairs), so element i comes from call i / 4.
  template <class Scalar>
  KOKKOS_INLINE_FUNCTION Scalar normal(Stream stream, std::uint64_t i) const {
    const Philox4x32 r = draw(stream, i / 4);
    const int pair = static_cast<int>(i % 4) / 2;
    double z0, z1;
    box_muller(r.v[2 * pair], r.v[2 * pair + 1], z0, z1);
    return static_cast<Scalar>(i % 2 == 0 ? z0 : z1);
  }

  // Two independent standard normals from two 32-bit words (Box-Muller). In float,
  // as cuRAND does: the numbers are weight noise. The branch-free float log and
  // sin/cos of core/float_math.hpp let a loop of draws vectorize.
  KOKKOS_INLINE_FUNCTION static void box_muller(std::uint32_t a, std::uint32_t b, double& z0,
                                                double& z1) {
    // u1 in (0, 1] so log(u1) is finite (2^-24 and 1 are exact floats); the angle is
    // 2 pi (b >> 8) / 2^24, in [0, 2 pi).
    const float u1 = float((a >> 8) + 1) * 5.9604645e-08f;  // ((a >> 8) + 1) / 2^24
    const float radius = math::sqrt(-2.0f * math::f32::log_positive(u1));
    float sin_angle, cos_angle;
    math::f32::sincos_turn24(b >> 8, sin_angle, cos_angle);
    z0 = radius * cos_angle;
    z1 = radius * sin_angle;
  }

  // Element i of a Rademacher (+1 / -1) stream: one Philox call gives 128 signs.
  template <class Scalar>
  KOKKOS_INLINE_FUNCTION Scalar sign(Stream stream, std::uint64_t i) const {
    const Philox4x32 r = draw(stream, i / 128);
    const std::uint32_t word = r.v[(i % 128) / 32];
    return ((word >> (i % 32)) & 1u) ? Scalar(1) : Scalar(-1);
  }
};

}  // namespace kbnn

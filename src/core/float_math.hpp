// Branch-free float exp, log and sin/cos for the kernels that run once per weight and
// step (noise draws, softplus, the KL gradient). glibc's expf, logf, log1pf and sincosf
// are scalar calls that stop a loop from vectorizing; these are plain arithmetic, so a
// loop over them vectorizes on any CPU and runs as ordinary code on GPUs. Each is a
// Cody-Waite range reduction and a minimax polynomial (the coefficients of Moshier's
// Cephes library), within 2 ulp of the correctly rounded result on its domain
// (tests/test_float_math.cpp checks every domain against double-precision libm).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstring>

namespace kbnn::math::f32 {

namespace detail {
KOKKOS_INLINE_FUNCTION float from_bits(std::uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
KOKKOS_INLINE_FUNCTION float from_bits(std::int32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
KOKKOS_INLINE_FUNCTION std::int32_t to_bits(float x) {
  std::int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}
}  // namespace detail

// exp(x) for x <= 0 (and -inf, and NaN), down through the subnormals to 0.
// Branch-free in integers: GCC if-converts no float select under its default
// -ftrapping-math, and one such select keeps the whole loop from vectorizing.
KOKKOS_INLINE_FUNCTION float exp_nonpositive(float x) {
  // Clamp |x| at 150, where exp(-|x|) rounds to 0 anyway, on the bit pattern of |x|
  // (which orders like |x|, -inf included). NaN is kept aside and returned as it came.
  const std::int32_t bits = detail::to_bits(x);
  const std::int32_t magnitude = bits & 0x7fffffff, limit = 0x43160000;  // 150
  const std::int32_t nan_mask = -std::int32_t(magnitude > 0x7f800000);
  const std::int32_t clamped = magnitude < limit ? magnitude : limit;
  x = -detail::from_bits(clamped);
  // n = round(x / ln 2) (x <= 0: truncating x / ln 2 - 1/2 rounds), x = n ln 2 + r with
  // ln 2 in two parts (0.693359375 - 2.12194440e-4) so that r is exact, |r| <= ln 2 / 2.
  const std::int32_t n = std::int32_t(x * 1.44269504088896341f - 0.5f);
  const float fn = float(n);
  const float r = (x - fn * 0.693359375f) + fn * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * r * r + r + 1.0f;
  // Times 2^n in two normal factors (n >= -217), so that a subnormal result is rounded once.
  const std::int32_t half = n >> 1;
  const float result = e_r * detail::from_bits((half + 127) << 23) *
                       detail::from_bits((n - half + 127) << 23);
  return detail::from_bits((bits & nan_mask) | (detail::to_bits(result) & ~nan_mask));
}

// log(x) for finite normal x > 0.
KOKKOS_INLINE_FUNCTION float log_positive(float x) {
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)): log x = e ln 2 + log(1 + f), f = m - 1.
  // Subtracting sqrt(1/2)'s pattern makes the exponent field e (an arithmetic shift).
  const std::int32_t bits = detail::to_bits(x);
  const std::int32_t e = (bits - 0x3f3504f3) >> 23;
  const float f = detail::from_bits(bits - e * (1 << 23)) - 1.0f;
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  const float fe = float(e);
  const float y = p * f * z - 2.12194440e-4f * fe - 0.5f * z;
  return (f + y) + 0.693359375f * fe;
}

// log(1 + t) for t in [0, 1]: log of the rounded sum, corrected by the rounding error.
KOKKOS_INLINE_FUNCTION float log1p_unit(float t) {
  const float u = 1.0f + t;
  return log_positive(u) + (t - (u - 1.0f)) / u;
}

// sin and cos of x in [-pi/4, pi/4].
KOKKOS_INLINE_FUNCTION float sin_octant(float x) {
  const float z = x * x;
  float p = -1.9515295891e-4f;
  p = p * z + 8.3321608736e-3f;
  p = p * z - 1.6666654611e-1f;
  return p * z * x + x;
}
KOKKOS_INLINE_FUNCTION float cos_octant(float x) {
  const float z = x * x;
  float p = 2.443315711809948e-5f;
  p = p * z - 1.388731625493765e-3f;
  p = p * z + 4.166664568298827e-2f;
  return p * z * z - 0.5f * z + 1.0f;
}

// sin and cos of 2 pi j / 2^24 for an integer j in [0, 2^24): the angles of Box-Muller.
// The quadrant and the octant come from j's bits, so the reduction is exact. Selects
// and sign flips are masks on bit patterns (see exp_nonpositive).
KOKKOS_INLINE_FUNCTION void sincos_turn24(std::uint32_t j, float& sin_out, float& cos_out) {
  const std::uint32_t quadrant = j >> 22;               // angle = quadrant pi/2 + theta
  const std::int32_t f = std::int32_t(j & 0x3fffffu);   // theta = f / 2^22 * pi/2
  // Above pi/4 use pi/2 - theta: x = pi/2 / 2^22 * (2^21 - |f - 2^21|), in [0, pi/4].
  const std::int32_t d = f - 0x200000, d_sign = -std::int32_t(d < 0);
  const float x = float(0x200000 - ((d ^ d_sign) - d_sign)) * 3.74507028e-7f;
  const std::uint32_t s0 = detail::to_bits(sin_octant(x)), c0 = detail::to_bits(cos_octant(x));
  // (sin, cos) of theta + q pi/2 is (s, c), (c, -s), (-s, -c), (-c, s); theta above
  // pi/4 swaps s and c once more.
  const std::uint32_t swap = 0u - (((quadrant & 1u) ^ std::uint32_t(d > 0)) & 1u);
  const std::uint32_t s = (s0 & ~swap) | (c0 & swap), c = (c0 & ~swap) | (s0 & swap);
  const std::uint32_t sin_sign = (quadrant & 2u) << 30;         // quadrants 2 and 3
  const std::uint32_t cos_sign = ((quadrant + 1u) & 2u) << 30;  // quadrants 1 and 2
  sin_out = detail::from_bits(std::int32_t(s ^ sin_sign));
  cos_out = detail::from_bits(std::int32_t(c ^ cos_sign));
}

}  // namespace kbnn::math::f32

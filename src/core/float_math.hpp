// Branch-free exp, log and sin/cos for the kernels that run once per weight and step
// (noise draws, softplus, the KL gradient). glibc's expf, logf, log1pf and sincosf are
// scalar calls that stop a loop from vectorizing; these are plain arithmetic, so a loop
// over them vectorizes on any CPU and runs as ordinary code on GPUs. Each is a
// Cody-Waite range reduction and a polynomial:
//   f32: log and sin/cos in float for Box-Muller (Moshier's Cephes coefficients),
//        within 1 ulp;
//   f64: exp and log1p in double for softplus and sigmoid of float arguments, about
//        1e-15 relative, so that those come out correctly rounded.
// tests/test_float_math.cpp checks every domain against libm.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <type_traits>

namespace kbnn::math {

// The same bits as another type of the same size (std::bit_cast is C++20). The builtin
// behind std::bit_cast (GCC >= 11, Clang, nvcc, hipcc, icpx) works in every device pass,
// where std::memcpy is not allowed (SYCL) or an opaque call; and it is constexpr.
// (Kokkos::bit_cast is memcpy outside SYCL, and Debian's Kokkos 3.4 lacks it.)
template <class To, class From>
KOKKOS_INLINE_FUNCTION constexpr To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of different sizes");
  static_assert(std::is_trivially_copyable_v<To> && std::is_trivially_copyable_v<From>,
                "bit_cast needs trivially copyable types");
  return __builtin_bit_cast(To, from);
}

}  // namespace kbnn::math

namespace kbnn::math::f32 {

// log(x) for finite normal x > 0.
KOKKOS_INLINE_FUNCTION float log_positive(float x) {
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)): log x = e ln 2 + log(1 + f), f = m - 1.
  // Subtracting sqrt(1/2)'s pattern makes the exponent field e (an arithmetic shift).
  const std::int32_t bits = bit_cast<std::int32_t>(x);
  const std::int32_t e = (bits - 0x3f3504f3) >> 23;
  const float f = bit_cast<float>(std::int32_t(bits - e * (1 << 23))) - 1.0f;
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
  const auto s0 = bit_cast<std::uint32_t>(sin_octant(x)), c0 = bit_cast<std::uint32_t>(cos_octant(x));
  // (sin, cos) of theta + q pi/2 is (s, c), (c, -s), (-s, -c), (-c, s); theta above
  // pi/4 swaps s and c once more.
  const std::uint32_t swap = 0u - (((quadrant & 1u) ^ std::uint32_t(d > 0)) & 1u);
  const std::uint32_t s = (s0 & ~swap) | (c0 & swap), c = (c0 & ~swap) | (s0 & swap);
  const std::uint32_t sin_sign = (quadrant & 2u) << 30;         // quadrants 2 and 3
  const std::uint32_t cos_sign = ((quadrant + 1u) & 2u) << 30;  // quadrants 1 and 2
  sin_out = bit_cast<float>(std::uint32_t(s ^ sin_sign));
  cos_out = bit_cast<float>(std::uint32_t(c ^ cos_sign));
}

}  // namespace kbnn::math::f32

namespace kbnn::math::f64 {

// exp(x) for x <= 0 (and -inf, and NaN), relative error about 1e-15. |x| is clamped at
// 150 (exp(-150) = 7e-66, which a float result rounds to 0); NaN is returned as it came.
// Selects act on integers: GCC if-converts no float select under its default
// -ftrapping-math, and one such select keeps the whole loop from vectorizing.
KOKKOS_INLINE_FUNCTION double exp_nonpositive(double x) {
  const auto bits = bit_cast<std::int64_t>(x);
  const std::int64_t magnitude = bits & 0x7fffffffffffffffLL, limit = 0x4062c00000000000LL;  // 150
  const std::int64_t nan_mask = -std::int64_t(magnitude > 0x7ff0000000000000LL);
  x = -bit_cast<double>(std::int64_t(magnitude < limit ? magnitude : limit));
  // n = round(x / ln 2) (x <= 0: truncating x / ln 2 - 1/2 rounds); r = x - n ln 2 with
  // ln 2 in two parts (fdlibm's), |r| <= ln 2 / 2.
  const std::int32_t n = std::int32_t(x * 1.4426950408889634 - 0.5);
  const double fn = double(n);
  const double r = (x - fn * 6.93147180369123816490e-01) - fn * 1.90821492927058770002e-10;
  // Taylor series to r^12 / 12!: the next term is below 2e-16 of the sum.
  double p = 1.0 / 479001600;
  p = p * r + 1.0 / 39916800;
  p = p * r + 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const double result = p * bit_cast<double>(std::int64_t(n + 1023) << 52);  // times 2^n
  return bit_cast<double>((bits & nan_mask) | (bit_cast<std::int64_t>(result) & ~nan_mask));
}

// log(1 + t) for t in [0, 1], relative error about 1e-16: u = 1 + t, halved above
// sqrt(2) (adding ln 2), and log u = 2 atanh(s), s = (u - 1) / (u + 1), |s| <= 0.172,
// as an odd series to s^21; then corrected by the rounding error of 1 + t.
KOKKOS_INLINE_FUNCTION double log1p_unit(double t) {
  const double u = 1.0 + t;
  const double high = u > 1.4142135623730951 ? 1.0 : 0.0;
  const double m = u * (1.0 - 0.5 * high);
  const double s = (m - 1.0) / (m + 1.0), z = s * s;
  double p = 1.0 / 21;
  p = p * z + 1.0 / 19;
  p = p * z + 1.0 / 17;
  p = p * z + 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  p = p * z + 1.0;
  return 2.0 * s * p + high * 6.93147180559945309417e-01 + (t - (u - 1.0)) / u;
}

}  // namespace kbnn::math::f64

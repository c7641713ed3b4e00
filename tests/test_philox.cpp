// Tests of the counter-based generator behind all of kbnn's randomness: Philox4x32-10
// against the Random123 known answers, and the statistics and independence of
// NoiseKey's normal and sign streams. Every draw is made inside a Kokkos kernel on
// kbnn::ExecSpace, so the tested path is the one training runs on the device.
#include "catch.hpp"

#include "core/philox.hpp"
#include "core/types.hpp"

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace {

using HostVector = Kokkos::View<double*, Kokkos::LayoutRight, Kokkos::HostSpace>;

// One Random123 known-answer vector (kat_vectors, philox4x32_10 lines).
struct KnownAnswer {
  std::uint32_t ctr[4];
  std::uint32_t key[2];
  std::uint32_t expected[4];
};

// Runs philox4x32_10 on each (counter, key) in a kernel and returns the outputs
// (case, word) on the host.
Kokkos::View<std::uint32_t**, Kokkos::LayoutRight, Kokkos::HostSpace> philox_on_device(
    const KnownAnswer* cases, int count) {
  kbnn::View2<std::uint32_t> in("kbnn::test::philox_in", count, 6);  // (case, ctr0..3 key0..1)
  kbnn::View2<std::uint32_t> out("kbnn::test::philox_out", count, 4);  // (case, word)
  auto in_host = Kokkos::create_mirror_view(in);
  for (int c = 0; c < count; ++c) {
    for (int j = 0; j < 4; ++j) in_host(c, j) = cases[c].ctr[j];
    for (int j = 0; j < 2; ++j) in_host(c, 4 + j) = cases[c].key[j];
  }
  Kokkos::deep_copy(in, in_host);
  Kokkos::parallel_for(
      "kbnn::test::philox_known_answers", kbnn::Range(0, count), KOKKOS_LAMBDA(const int c) {
        const kbnn::Philox4x32 ctr{{in(c, 0), in(c, 1), in(c, 2), in(c, 3)}};
        const kbnn::Philox4x32 r = kbnn::philox4x32_10(ctr, in(c, 4), in(c, 5));
        for (int j = 0; j < 4; ++j) out(c, j) = r.v[j];
      });
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
}

// Elements [first, first + n) of a NoiseKey normal stream, drawn in a kernel.
HostVector normals(const kbnn::NoiseKey& key, kbnn::Stream stream, std::uint64_t first,
                   std::size_t n) {
  kbnn::View1<double> draws(Kokkos::view_alloc("kbnn::test::normals", Kokkos::WithoutInitializing),
                            n);
  Kokkos::parallel_for(
      "kbnn::test::noise_normal", kbnn::Range(0, n), KOKKOS_LAMBDA(const std::size_t i) {
        draws(i) = key.normal<double>(stream, first + i);
      });
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), draws);
}

// Elements [first, first + n) of a NoiseKey sign stream, drawn in a kernel.
HostVector signs(const kbnn::NoiseKey& key, kbnn::Stream stream, std::uint64_t first,
                 std::size_t n) {
  kbnn::View1<double> draws(Kokkos::view_alloc("kbnn::test::signs", Kokkos::WithoutInitializing),
                            n);
  Kokkos::parallel_for(
      "kbnn::test::noise_sign", kbnn::Range(0, n), KOKKOS_LAMBDA(const std::size_t i) {
        draws(i) = key.sign<double>(stream, first + i);
      });
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), draws);
}

double mean_of(const HostVector& x) {
  double sum = 0;
  for (std::size_t i = 0; i < x.extent(0); ++i) sum += x(i);
  return sum / x.extent(0);
}

// Unbiased sample variance.
double variance_of(const HostVector& x) {
  const double mean = mean_of(x);
  double sum = 0;
  for (std::size_t i = 0; i < x.extent(0); ++i) sum += (x(i) - mean) * (x(i) - mean);
  return sum / (x.extent(0) - 1);
}

// Sample correlation of x(i) and x(i + lag).
double lag_correlation(const HostVector& x, std::size_t lag) {
  const double mean = mean_of(x);
  const double var = variance_of(x);
  const std::size_t pairs = x.extent(0) - lag;
  double sum = 0;
  for (std::size_t i = 0; i < pairs; ++i) sum += (x(i) - mean) * (x(i + lag) - mean);
  return sum / pairs / var;
}

// How many positions hold the same value in both sequences.
std::size_t equal_count(const HostVector& a, const HostVector& b) {
  std::size_t equal = 0;
  for (std::size_t i = 0; i < a.extent(0); ++i) equal += (a(i) == b(i)) ? 1 : 0;
  return equal;
}

constexpr std::size_t sample_size = std::size_t(1) << 20;

}  // namespace

TEST_CASE("philox4x32_10 reproduces the Random123 known-answer vectors", "[rng]") {
  const KnownAnswer cases[] = {
      {{0u, 0u, 0u, 0u}, {0u, 0u}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  const int count = sizeof(cases) / sizeof(cases[0]);
  const auto out = philox_on_device(cases, count);
  for (int c = 0; c < count; ++c) {
    for (int j = 0; j < 4; ++j) {
      INFO("vector " << c << ", word " << j);
      CHECK(out(c, j) == cases[c].expected[j]);
    }
  }
}

TEST_CASE("NoiseKey::normal draws standard normals", "[rng]") {
  const kbnn::NoiseKey key{12345, 7, 2};
  const HostVector x = normals(key, kbnn::Stream::weight_noise, 0, sample_size);
  const double n = static_cast<double>(sample_size);

  // The sample mean of n standard normals has standard error 1/sqrt(n).
  CHECK(std::fabs(mean_of(x)) < 5 / std::sqrt(n));

  // The sample variance of n normals has variance 2 sigma^4 / (n - 1) (from
  // (n - 1) s^2 / sigma^2 ~ chi^2_{n-1}), so its standard error is sqrt(2 / (n - 1)),
  // about 0.0014 at n = 2^20. Five standard errors allow for chance and still detect a
  // wrong scale (from a wrong 2^-32 constant or a dropped factor of 2 under the sqrt).
  CHECK(std::fabs(variance_of(x) - 1) < 5 * std::sqrt(2 / (n - 1)));

  // P(|Z| < 1) = erf(1 / sqrt 2). The fraction is binomial, with standard error
  // sqrt(p (1 - p) / n), about 0.00045, so this checks the shape as well as the scale.
  const double p = std::erf(1 / std::sqrt(2.0));
  std::size_t inside = 0;
  for (std::size_t i = 0; i < sample_size; ++i) inside += (std::fabs(x(i)) < 1) ? 1 : 0;
  CHECK(std::fabs(inside / n - p) < 5 * std::sqrt(p * (1 - p) / n));

  // A Box-Muller pair (cos, sin of the same radius) is independent, and so are the two
  // pairs taken from one Philox call. For independent draws the lag-k correlation has
  // standard error 1/sqrt(n).
  for (std::size_t lag : {1, 2, 4}) {
    INFO("lag " << lag);
    CHECK(std::fabs(lag_correlation(x, lag)) < 5 / std::sqrt(n));
  }
}

TEST_CASE("NoiseKey::normal is deterministic and separates streams, layers, steps, seeds",
          "[rng]") {
  const std::size_t n = 4096;
  const std::uint64_t first = 1000;
  const kbnn::NoiseKey key{0x0123456789abcdefull, 3, 1};
  const HostVector base = normals(key, kbnn::Stream::weight_noise, first, n);

  // Same key and index, new kernel: the same value, bit for bit.
  const HostVector again = normals(key, kbnn::Stream::weight_noise, first, n);
  CHECK(equal_count(base, again) == n);

  // Any change to the key or the counter gives unrelated draws. Double-precision normals
  // from unrelated 64-bit inputs never coincide by chance, so any equal value means two
  // inputs map to the same counter.
  kbnn::NoiseKey other_step = key, other_layer = key, other_seed_lo = key, other_seed_hi = key;
  other_step.step += 1;
  other_layer.layer += 1;
  other_seed_lo.seed ^= 1;
  other_seed_hi.seed ^= std::uint64_t(1) << 32;
  CHECK(equal_count(base, normals(key, kbnn::Stream::bias_noise, first, n)) == 0);
  CHECK(equal_count(base, normals(other_step, kbnn::Stream::weight_noise, first, n)) == 0);
  CHECK(equal_count(base, normals(other_layer, kbnn::Stream::weight_noise, first, n)) == 0);
  CHECK(equal_count(base, normals(other_seed_lo, kbnn::Stream::weight_noise, first, n)) == 0);
  CHECK(equal_count(base, normals(other_seed_hi, kbnn::Stream::weight_noise, first, n)) == 0);
  // The high half of the index is part of the counter too (element i / 4 is the call).
  const std::uint64_t far = std::uint64_t(1) << 34;
  CHECK(equal_count(base, normals(key, kbnn::Stream::weight_noise, first + far, n)) == 0);
}

TEST_CASE("NoiseKey::sign draws independent fair signs", "[rng]") {
  const kbnn::NoiseKey key{2024, 11, 4};
  const HostVector s = signs(key, kbnn::Stream::sign_in, 0, sample_size);
  const double n = static_cast<double>(sample_size);

  std::size_t not_unit = 0;
  for (std::size_t i = 0; i < sample_size; ++i) not_unit += (s(i) == 1 || s(i) == -1) ? 0 : 1;
  CHECK(not_unit == 0);

  // A fair sign has variance 1, so the mean of n of them has standard error 1/sqrt(n).
  CHECK(std::fabs(mean_of(s)) < 5 / std::sqrt(n));

  // Lag 1: neighbouring bits of a word. Lags 32 and 128 cover the same bit of the next
  // word and of the next Philox call, where a wrong shift or word index would show.
  for (std::size_t lag : {1, 32, 128}) {
    INFO("lag " << lag);
    CHECK(std::fabs(lag_correlation(s, lag)) < 5 / std::sqrt(n));
  }

  // Signs involve integers only, so the device and the host must agree exactly.
  std::size_t host_mismatch = 0;
  for (std::size_t i = 0; i < 4096; ++i) {
    host_mismatch += (s(i) == key.sign<double>(kbnn::Stream::sign_in, i)) ? 0 : 1;
  }
  CHECK(host_mismatch == 0);

  // Other streams, such as sign_out (used for the same layer and step), give other signs.
  // Two independent fair sign sequences agree at about half the positions, with
  // standard deviation sqrt(n) / 2.
  const HostVector t = signs(key, kbnn::Stream::sign_out, 0, sample_size);
  CHECK(std::fabs(equal_count(s, t) - n / 2) < 5 * std::sqrt(n) / 2);
}

// What a GPU compilation's host and device passes must agree on: the vector width and
// register count of core/simd_width.hpp and the layout of core/lanes.hpp's Lanes, read
// back from a kernel on kbnn::ExecSpace and compared with the host's. On a CPU build the
// kernel is host code and the check holds trivially; on CUDA, HIP or SYCL it compares
// the device pass's answer with the host pass's (the kit runs it on the GPU). And
// bit_cast is the constexpr builtin that device passes accept, not std::memcpy.
#include "catch.hpp"

#include "core/float_math.hpp"
#include "core/lanes.hpp"
#include "core/simd_width.hpp"
#include "core/types.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace {

constexpr int kFloatWidth = kbnn::simd::width<float>();

// What this pass knows about the vector unit, one number per entry.
KOKKOS_INLINE_FUNCTION int pass_fact(int which) {
  switch (which) {
    case 0: return kbnn::simd::register_bytes;
    case 1: return kbnn::simd::registers;
    case 2: return kbnn::simd::width<float>();
    case 3: return kbnn::simd::width<double>();
    case 4: return int(sizeof(kbnn::Lanes<float, kFloatWidth>));
    default: return int(sizeof(kbnn::Lanes<double, kbnn::simd::width<double>()>));
  }
}

}  // namespace

TEST_CASE("host and device passes agree on the vector unit and Lanes", "[simd][device]") {
  constexpr int facts = 6;
  kbnn::View1<int> device_facts("kbnn::test::device_facts", facts);
  Kokkos::parallel_for(
      "kbnn::test::pass_facts", kbnn::Range(0, facts),
      KOKKOS_LAMBDA(const std::int64_t i) { device_facts(i) = pass_fact(int(i)); });
  const auto seen = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), device_facts);
  for (int i = 0; i < facts; ++i) {
    INFO("fact " << i << " (0 register bytes, 1 registers, 2-3 widths, 4-5 sizeof Lanes)");
    CHECK(seen(i) == pass_fact(i));
  }
}

TEST_CASE("Lanes accumulate x * p in every lane, in a kernel", "[simd][device]") {
  kbnn::View1<float> row("kbnn::test::row", kFloatWidth), sums("kbnn::test::sums", kFloatWidth);
  Kokkos::parallel_for(
      "kbnn::test::lanes_row", kbnn::Range(0, kFloatWidth),
      KOKKOS_LAMBDA(const std::int64_t i) { row(i) = float(i + 1); });
  Kokkos::parallel_for(
      "kbnn::test::lanes_fma", kbnn::Range(0, 1), KOKKOS_LAMBDA(const std::int64_t) {
        kbnn::Lanes<float, kFloatWidth> acc;
        acc.fma(2.0f, row.data());
        acc.fma(0.5f, row.data());
        for (int k = 0; k < kFloatWidth; ++k) sums(k) = acc[k];
      });
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sums);
  for (int k = 0; k < kFloatWidth; ++k) CHECK(host(k) == 2.5f * float(k + 1));
}

// Constant evaluation rejects std::memcpy: these compile only with the builtin.
static_assert(kbnn::math::bit_cast<std::uint32_t>(1.0f) == 0x3f800000u, "float 1.0's bits");
static_assert(kbnn::math::bit_cast<std::int64_t>(-2.0) == std::int64_t(0xc000000000000000ull),
              "double -2.0's bits");
static_assert(kbnn::math::bit_cast<float>(0x40490fdbu) == 3.14159274f, "pi's float bits");

TEST_CASE("bit_cast round-trips in a kernel", "[simd][device]") {
  kbnn::View1<std::uint32_t> bits("kbnn::test::bits", 2);
  Kokkos::parallel_for(
      "kbnn::test::bit_cast", kbnn::Range(0, 1), KOKKOS_LAMBDA(const std::int64_t) {
        bits(0) = kbnn::math::bit_cast<std::uint32_t>(-0.0f);
        bits(1) = kbnn::math::bit_cast<std::uint32_t>(kbnn::math::bit_cast<float>(0x7f7fffffu));
      });
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), bits);
  CHECK(host(0) == 0x80000000u);
  CHECK(host(1) == 0x7f7fffffu);
}

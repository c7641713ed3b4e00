// The branch-free float functions of core/float_math.hpp against double-precision libm,
// over each function's whole domain, evaluated in kernels on kbnn::ExecSpace (the path
// training takes). Errors are in units in the last place (ulp) of the float result.
#include "catch.hpp"

#include "core/float_math.hpp"
#include "core/math.hpp"
#include "core/types.hpp"

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

namespace f32 = kbnn::math::f32;
using HostFloats = Kokkos::View<float*, Kokkos::HostSpace>;

enum class Function { exp, log, log1p, sin, cos, softplus, sigmoid };

// f(x) for every x, computed in a kernel.
std::vector<float> evaluate(Function f, const std::vector<float>& x) {
  const std::size_t n = x.size();
  kbnn::View1<float> in("kbnn::test::in", n), out("kbnn::test::out", n);
  Kokkos::deep_copy(in, HostFloats(const_cast<float*>(x.data()), n));
  Kokkos::parallel_for(
      "kbnn::test::float_math", kbnn::Range(0, std::int64_t(n)), KOKKOS_LAMBDA(const std::int64_t i) {
        const float v = in(i);
        float s, c;
        switch (f) {
          case Function::exp: out(i) = f32::exp_nonpositive(v); break;
          case Function::log: out(i) = f32::log_positive(v); break;
          case Function::log1p: out(i) = f32::log1p_unit(v); break;
          case Function::sin:
          case Function::cos:
            f32::sincos_turn24(std::uint32_t(v), s, c);  // v holds an exact integer j
            out(i) = f == Function::sin ? s : c;
            break;
          case Function::softplus: out(i) = kbnn::math::softplus(v); break;
          case Function::sigmoid: out(i) = kbnn::math::sigmoid(v); break;
        }
      });
  std::vector<float> result(n);
  Kokkos::deep_copy(HostFloats(result.data(), n), out);
  return result;
}

// |got - want| in ulp of the float nearest want (the spacing at the smallest normal
// for results below it).
double ulp_error(float got, double want) {
  const float w = std::fabs(float(want));
  const float normal = std::numeric_limits<float>::min();
  const double ulp = w < normal ? std::nextafter(0.0f, 1.0f)
                                : double(std::nextafter(w, std::numeric_limits<float>::infinity())) - w;
  return std::fabs(double(got) - want) / ulp;
}

template <class Reference>
double max_ulp_error(Function f, const std::vector<float>& x, Reference reference) {
  const std::vector<float> y = evaluate(f, x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::fmax(worst, ulp_error(y[i], reference(x[i])));
  return worst;
}

std::vector<float> grid(float from, float to, int points) {
  std::vector<float> x(points + 1);
  for (int i = 0; i <= points; ++i) x[i] = from + (to - from) * float(i) / float(points);
  return x;
}

}  // namespace

TEST_CASE("exp_nonpositive is within 1.1 ulp down to the subnormals, and 0, 1 and NaN stay exact",
          "[float_math]") {
  const auto exp = [](float x) { return std::exp(double(x)); };
  CHECK(max_ulp_error(Function::exp, grid(-87.0f, 0.0f, 2000000), exp) < 1.1);
  // Subnormal results (below -87.3) and the values that round to 0 (below -103.9).
  CHECK(max_ulp_error(Function::exp, grid(-110.0f, -87.0f, 200000), exp) < 1.1);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> y = evaluate(Function::exp, {0.0f, -0.0f, -200.0f, -inf, std::nanf("")});
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == 1.0f);
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == 0.0f);
  CHECK(std::isnan(y[4]));  // a diverging run must see its NaN
}

TEST_CASE("log_positive is within 1 ulp over every normal float", "[float_math]") {
  std::vector<float> x;
  for (std::uint32_t bits = 0x00800000u; bits < 0x7f800000u; bits += 251) {
    float v;
    std::memcpy(&v, &bits, sizeof v);
    x.push_back(v);
  }
  for (float v : grid(0.5f, 2.0f, 300000)) x.push_back(v);  // around 1, where log is small
  // Near 1 the result is tiny and an ulp of it is tinier still: measure those in ulp of 1e-7.
  const std::vector<float> y = evaluate(Function::log, x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = std::log(double(x[i]));
    worst = std::fmax(worst, std::fabs(want) < 1e-7 ? std::fabs(y[i] - want) / 1e-14
                                                    : ulp_error(y[i], want));
  }
  CHECK(worst < 1.0);
}

TEST_CASE("log1p_unit is within 1.3 ulp on [0, 1], tiny arguments included", "[float_math]") {
  std::vector<float> t = grid(0.0f, 1.0f, 2000000);
  for (int k = 0; k <= 1000; ++k) t.push_back(std::ldexp(1.0f, -k / 8));
  CHECK(max_ulp_error(Function::log1p, t, [](float v) { return std::log1p(double(v)); }) < 1.3);
}

TEST_CASE("sincos_turn24 gives sin and cos of 2 pi j / 2^24 within 1e-7 for every j",
          "[float_math]") {
  // Every quadrant and octant boundary, and a stride through all 2^24 angles.
  std::vector<float> j;
  for (std::uint32_t k = 0; k < (1u << 24); k += 61) j.push_back(float(k));
  for (std::uint32_t edge = 0; edge <= 8; ++edge)
    for (std::int32_t d = -2; d <= 2; ++d) {
      const std::int64_t k = std::int64_t(edge) * (1 << 21) + d;
      if (k >= 0 && k < (1 << 24)) j.push_back(float(k));
    }
  const std::vector<float> s = evaluate(Function::sin, j), c = evaluate(Function::cos, j);
  double worst = 0;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const double angle = 2 * M_PI * double(j[i]) / 16777216.0;
    worst = std::fmax(worst, std::fabs(s[i] - std::sin(angle)));
    worst = std::fmax(worst, std::fabs(c[i] - std::cos(angle)));
  }
  CHECK(worst < 1e-7);
}

TEST_CASE("float softplus and sigmoid are within 2 and 2.5 ulp of double libm; NaN and infinities pass",
          "[float_math]") {
  const std::vector<float> x = grid(-120.0f, 40.0f, 1000000);
  CHECK(max_ulp_error(Function::softplus, x, [](float v) {
          return std::fmax(double(v), 0.0) + std::log1p(std::exp(-std::fabs(double(v))));
        }) < 2.0);
  CHECK(max_ulp_error(Function::sigmoid, x, [](float v) { return 1 / (1 + std::exp(-double(v))); }) < 2.5);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special{std::nanf(""), inf, -inf};
  const std::vector<float> sp = evaluate(Function::softplus, special);
  const std::vector<float> sg = evaluate(Function::sigmoid, special);
  CHECK(std::isnan(sp[0]));
  CHECK(std::isnan(sg[0]));
  CHECK(sp[1] == inf);
  CHECK(sg[1] == 1.0f);
  CHECK(sp[2] == 0.0f);
  CHECK(sg[2] == 0.0f);
}

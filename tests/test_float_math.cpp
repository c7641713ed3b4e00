// The branch-free functions of core/float_math.hpp against libm, over each function's
// whole domain, evaluated in kernels on kbnn::ExecSpace (the path training takes):
// float log and sin/cos in ulp of the float result, double exp and log1p relative to
// long double, and float softplus and sigmoid against the correctly rounded result.
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

enum class Function { log, sin, cos, softplus, sigmoid };

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
          case Function::log: out(i) = f32::log_positive(v); break;
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

std::vector<float> grid(float from, float to, int points) {
  std::vector<float> x(points + 1);
  for (int i = 0; i <= points; ++i) x[i] = from + (to - from) * float(i) / float(points);
  return x;
}

}  // namespace

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

namespace {
// f64::exp_nonpositive (d = 0) or f64::log1p_unit (d = 1) of every x, in a kernel.
std::vector<double> evaluate_f64(int d, const std::vector<double>& x) {
  const std::size_t n = x.size();
  kbnn::View1<double> in("kbnn::test::in", n), out("kbnn::test::out", n);
  Kokkos::deep_copy(in, Kokkos::View<double*, Kokkos::HostSpace>(const_cast<double*>(x.data()), n));
  Kokkos::parallel_for(
      "kbnn::test::f64_math", kbnn::Range(0, std::int64_t(n)), KOKKOS_LAMBDA(const std::int64_t i) {
        out(i) = d == 0 ? kbnn::math::f64::exp_nonpositive(in(i)) : kbnn::math::f64::log1p_unit(in(i));
      });
  std::vector<double> result(n);
  Kokkos::deep_copy(Kokkos::View<double*, Kokkos::HostSpace>(result.data(), n), out);
  return result;
}
}  // namespace

TEST_CASE("f64 exp_nonpositive and log1p_unit are within 1e-15 relative; 0, 1 and NaN stay exact",
          "[float_math]") {
  std::vector<double> x, t;
  for (int i = 0; i <= 1000000; ++i) {
    x.push_back(-150.0 * i / 1000000.0);
    t.push_back(double(i) / 1000000.0);
  }
  for (int k = 1; k <= 1000; ++k) t.push_back(std::ldexp(1.0, -k));  // tiny arguments
  const std::vector<double> e = evaluate_f64(0, x), l = evaluate_f64(1, t);
  double worst_exp = 0, worst_log1p = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double want = std::exp((long double)x[i]);
    worst_exp = std::fmax(worst_exp, double(std::fabs((e[i] - want) / want)));
  }
  for (std::size_t i = 1; i < t.size(); ++i) {
    const long double want = std::log1p((long double)t[i]);
    worst_log1p = std::fmax(worst_log1p, double(std::fabs((l[i] - want) / want)));
  }
  CHECK(worst_exp < 1e-15);
  CHECK(worst_log1p < 1e-15);
  CHECK(l[0] == 0.0);  // log1p(0)
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> special = evaluate_f64(0, {0.0, -0.0, -200.0, -inf, std::nan("")});
  CHECK(special[0] == 1.0);
  CHECK(special[1] == 1.0);
  CHECK(special[2] < 1e-65);  // clamped at exp(-150): 0 to any float
  CHECK(special[3] < 1e-65);
  CHECK(std::isnan(special[4]));  // a diverging run must see its NaN
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

TEST_CASE("float softplus and sigmoid are correctly rounded; NaN and infinities pass",
          "[float_math]") {
  const std::vector<float> x = grid(-120.0f, 40.0f, 1000000);
  const std::vector<float> sp = evaluate(Function::softplus, x), sg = evaluate(Function::sigmoid, x);
  int wrong_softplus = 0, wrong_sigmoid = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double v = x[i], t = std::exp(-std::fabs(v));
    wrong_softplus += sp[i] != float((v > 0 ? v : 0.0L) + std::log1p(t));
    wrong_sigmoid += sg[i] != float((v >= 0 ? 1.0L : t) / (1.0L + t));
  }
  // Double precision misrounds a float only within ~1e-15 of a rounding boundary: a
  // few in a million at most.
  CHECK(wrong_softplus <= 3);
  CHECK(wrong_sigmoid <= 3);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special{std::nanf(""), inf, -inf, 0.0f, -0.0f};
  const std::vector<float> p = evaluate(Function::softplus, special);
  const std::vector<float> g = evaluate(Function::sigmoid, special);
  CHECK(std::isnan(p[0]));
  CHECK(std::isnan(g[0]));
  CHECK(p[1] == inf);
  CHECK(g[1] == 1.0f);
  CHECK(p[2] == 0.0f);
  CHECK(g[2] == 0.0f);
  CHECK(p[3] == float(std::log(2.0)));
  CHECK(p[4] == float(std::log(2.0)));
  CHECK(g[3] == 0.5f);
  CHECK(g[4] == 0.5f);
}

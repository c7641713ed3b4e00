// Each kernel of layers/affine_*_kernel(s).hpp (and gemm_blocks, col2im) against a plain
// host loop written from its definition, on random inputs with odd sizes, so that
// partial vectors and partial row blocks are exercised; the elementwise ones in both
// thread shapes, which must agree bit for bit.
#include "catch.hpp"

#include "core/gemm.hpp"
#include "core/im2col.hpp"
#include "core/simd_width.hpp"
#include "layers/affine_bias_kernels.hpp"
#include "layers/affine_local_kernels.hpp"
#include "layers/affine_narrow_kernel.hpp"
#include "layers/affine_per_example_kernels.hpp"
#include "layers/affine_sign_kernels.hpp"
#include "layers/bayesian_affine.hpp"
#include "thread_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using kbnn::ThreadShape;
using kbnn::View1;
using kbnn::View2;

template <class T>
std::vector<T> random_vector(std::size_t n, std::uint32_t seed, bool signs = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(n);
  for (auto& x : v) x = signs ? (u(rng) > 0 ? T(1) : T(-1)) : T(u(rng));
  return v;
}

template <class T>
View2<T> view2(const std::vector<T>& host, std::size_t rows, std::size_t cols) {
  View2<T> v("test::view2", rows, cols);
  auto m = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < host.size(); ++i) m.data()[i] = host[i];
  Kokkos::deep_copy(v, m);
  return v;
}

template <class T>
View1<T> view1(const std::vector<T>& host) {
  View1<T> v("test::view1", host.size());
  auto m = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < host.size(); ++i) m(i) = host[i];
  Kokkos::deep_copy(v, m);
  return v;
}

// A convolution's window over h x w x c images: kernel kh x kw, stride (sh, sw), zero
// padding (ph, pw); conv2d's are square, conv1d's 1 x k over signals (h = 1).
struct Window {
  int h, w, c, kh, kw, sh, sw, ph, pw;
  kbnn::ConvGeometry geometry() const { return {h, w, c, kh, kw, sh, sw, ph, pw}; }
  int padded_size() const { return (h + 2 * ph) * (w + 2 * pw) * c; }
};
Window square(int h, int w, int c, int k, int s, int p) { return {h, w, c, k, k, s, s, p, p}; }
std::ostream& operator<<(std::ostream& os, const Window& g) {
  return os << g.h << "x" << g.w << "x" << g.c << " k" << g.kh << "x" << g.kw << " s" << g.sh
            << "," << g.sw << " p" << g.ph << "," << g.pw;
}
// Signals (1 x L x C) under conv1d's windows, and a window that is neither.
const Window rectangular_windows[] = {{1, 21, 1, 1, 5, 1, 1, 0, 2}, {1, 19, 3, 1, 3, 1, 2, 0, 1},
                                 {1, 16, 6, 1, 4, 1, 3, 0, 0}, {6, 7, 2, 2, 3, 1, 2, 1, 0}};

template <class V>
std::vector<typename V::non_const_value_type> host(const V& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<typename V::non_const_value_type>(m.data(), m.data() + m.size());
}

template <class T>
kbnn::Matrix<const T> cmat(const View2<T>& v) {
  return kbnn::Matrix<const T>(v.data(), v.extent(0), v.extent(1));
}
template <class T>
kbnn::Matrix<T> mat(const View2<T>& v) {
  return kbnn::Matrix<T>(v.data(), v.extent(0), v.extent(1));
}

template <class T>
void check_equal(const std::vector<T>& got, const std::vector<T>& want, double eps = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(double(got[i]) == Approx(double(want[i])).epsilon(eps).margin(eps));
  }
}

// Whether a float Flipout layer of this shape (K, O, input channels C, positions P) runs
// the per-example path or the narrow kernel. A case whose kernel this target does not
// have asserts that no layer takes it, rather than passing with nothing checked.
bool takes_per_example_or_narrow(int K, int O, int C, int P) {
  const kbnn::BayesianAffine<float> a("a", 0, {K, O, C, P, {std::size_t(O), std::size_t(K)}},
                                      kbnn::BayesOptions{});
  return a.path() != kbnn::AffinePath::gemm || a.forward_is_narrow();
}

}  // namespace

TEST_CASE("Blocking factors follow the target's registers", "[kernels]") {
  using kbnn::affine::narrow_rows;
  // Accumulators, weights and two scratch registers fit the register file.
  for (int v = 1; v <= 4; ++v)
    for (int paths = 1; paths <= 2; ++paths) {
      const int rows = narrow_rows(v, paths);
      if (rows > 0) CHECK((rows + 1) * paths * v + 2 <= kbnn::simd::registers);
    }
  const int widest = kbnn::affine::narrow_max_outputs<float>();
  CHECK(widest % kbnn::simd::width<float>() == 0);
  if (widest > 0) CHECK(narrow_rows(kbnn::simd::vectors_for<float>(widest), 2) >= 2);
  CHECK(narrow_rows(kbnn::simd::vectors_for<float>(widest) + 1, 2) < 2);
  // A register holds twice as many floats as doubles (one of each on the scalar path).
  const int floats = kbnn::simd::width<float>(), doubles = kbnn::simd::width<double>();
  CHECK((floats == 1 ? doubles == 1 : floats == 2 * doubles));
}

TEST_CASE("BayesianAffine chooses its path once from shape, options and target", "[kernels]") {
  using Affine = kbnn::BayesianAffine<double>;
  const int narrow = kbnn::affine::narrow_max_outputs<double>();
  kbnn::BayesOptions flipout, reference;
  reference.fused_kernels = false;
  const auto make = [](int K, int O, int C, int P, const kbnn::BayesOptions& o) {
    return Affine("a", 0, {K, O, C, P, {std::size_t(O), std::size_t(K)}}, o);
  };
  CHECK(make(25, 4, 1, 784, reference).path() == kbnn::AffinePath::gemm);
  if (narrow >= 2) CHECK(make(25, 2, 1, 784, flipout).path() == kbnn::AffinePath::narrow);
  CHECK(make(400, 120, 16, 1, flipout).path() == kbnn::AffinePath::gemm);
  CHECK(make(150, 16, 6, 100, flipout).path() ==
        (kbnn::host_accessible ? kbnn::AffinePath::per_example : kbnn::AffinePath::gemm));
  kbnn::BayesOptions device = flipout;  // the paths a GPU takes: no per-example gemms
  device.device_paths = true;
  CHECK(make(150, 16, 6, 100, device).path() == kbnn::AffinePath::gemm);
  CHECK(!kbnn::host_paths(device));
  CHECK(kbnn::host_paths(flipout) == kbnn::host_accessible);
}

TEST_CASE("Sign kernels equal plain loops", "[kernels]") {
  const int examples = 3, P = 5, C = 3, K = 12, O = 7, rows = examples * P;
  const auto s_in = random_vector<double>(examples * C, 1, true);
  const auto s_out = random_vector<double>(examples * O, 2, true);
  const auto x = random_vector<double>(rows * K, 3);
  const auto y0 = random_vector<double>(rows * K, 4);

  SECTION("spread_signs") {
    std::vector<double> want(examples * K);
    for (int e = 0; e < examples; ++e)
      for (int k = 0; k < K; ++k) want[e * K + k] = s_in[e * C + k % C];
    check_equal(same_in_both_shapes([&](ThreadShape shape) {
                  View2<double> spread("spread", examples, K);
                  kbnn::affine::spread_signs(view2(s_in, examples, C), examples, spread, shape);
                  return host(spread);
                }),
                want);
  }
  SECTION("fold_signs") {
    std::vector<double> want(s_out);
    for (int e = 0; e < examples; ++e)
      for (int o = 0; o < O; ++o) want[e * O + o] *= s_in[e * C];
    check_equal(same_in_both_shapes([&](ThreadShape shape) {
                  auto r = view2(s_out, examples, O);
                  kbnn::affine::fold_signs(view2(s_in, examples, C), examples, r, shape);
                  return host(r);
                }),
                want);
  }
  const auto spread_host = random_vector<double>(examples * K, 5, true);
  SECTION("sign_rows and add_signed_rows") {
    const auto [y, z] = same_in_both_shapes([&](ThreadShape shape) {
      auto xv = view2(x, rows, K);
      auto y = view2(y0, rows, K);
      auto z = view2(y0, rows, K);
      kbnn::affine::sign_rows(cmat(xv), view2(spread_host, examples, K), P, mat(y), shape);
      kbnn::affine::add_signed_rows(cmat(xv), view2(spread_host, examples, K), P, mat(z), shape);
      return std::make_tuple(host(y), host(z));
    });
    std::vector<double> signed_x(rows * K), added(y0);
    for (int r = 0; r < rows; ++r)
      for (int k = 0; k < K; ++k) {
        signed_x[r * K + k] = x[r * K + k] * spread_host[(r / P) * K + k];
        added[r * K + k] += signed_x[r * K + k];
      }
    check_equal(y, signed_x);
    check_equal(z, added);
  }
}

TEST_CASE("Elementwise affine kernels equal plain loops", "[kernels]") {
  const int examples = 3, P = 4, O = 5, rows = examples * P;
  const auto a = random_vector<double>(rows * O, 1), b = random_vector<double>(rows * O, 2);
  const auto r = random_vector<double>(examples * O, 3, true);
  const auto bias = random_vector<double>(O, 4);

  SECTION("add_bias") {
    std::vector<double> want(a);
    for (int i = 0; i < rows * O; ++i) want[i] += bias[i % O];
    check_equal(same_in_both_shapes([&](ThreadShape shape) {
                  auto out = view2(a, rows, O);
                  kbnn::affine::add_bias(view1(bias), mat(out), shape);
                  return host(out);
                }),
                want);
  }
  SECTION("combine") {
    std::vector<double> want(rows * O);
    for (int i = 0; i < rows * O; ++i)
      want[i] = a[i] + b[i] * r[(i / O / P) * O + i % O] + bias[i % O];
    check_equal(same_in_both_shapes([&](ThreadShape shape) {
                  View2<double> out("out", rows, O);
                  kbnn::affine::combine<double>(cmat(view2(a, rows, O)), cmat(view2(b, rows, O)),
                                                view2(r, examples, O), view1(bias), P, mat(out),
                                                shape);
                  return host(out);
                }),
                want);
  }
  SECTION("stack_dout") {
    const auto stacked = same_in_both_shapes([&](ThreadShape shape) {
      View2<double> stacked("stacked", rows, 2 * O);
      kbnn::affine::stack_dout(cmat(view2(a, rows, O)), view2(r, examples, O), P, mat(stacked),
                               shape);
      return host(stacked);
    });
    std::vector<double> want(rows * 2 * O);
    for (int row = 0; row < rows; ++row)
      for (int o = 0; o < O; ++o) {
        want[row * 2 * O + o] = a[row * O + o];
        want[row * 2 * O + O + o] = a[row * O + o] * r[(row / P) * O + o];
      }
    check_equal(stacked, want);
  }
  SECTION("unstack_gradients and add_to") {
    const int n = 9;
    const auto both = random_vector<double>(2 * n, 5), g0 = random_vector<double>(n, 6);
    auto g = view1(g0);
    View1<double> d("d", n);
    kbnn::affine::unstack_gradients(view1(both), g, d);
    std::vector<double> want_g(g0), want_d(both.begin() + n, both.end());
    for (int i = 0; i < n; ++i) want_g[i] += both[i];
    check_equal(host(g), want_g);
    check_equal(host(d), want_d);
    kbnn::affine::add_to(d, g);
    for (int i = 0; i < n; ++i) want_g[i] += want_d[i];
    check_equal(host(g), want_g);
  }
  SECTION("column_sums over one block, and over several with a partial last one") {
    for (const int n : {rows, 3 * kbnn::affine::column_block + 17}) {
      const auto x = random_vector<double>(std::size_t(n) * O, 7);
      const auto got = same_in_both_shapes([&](ThreadShape shape) {
        const int blocks = (n + kbnn::affine::column_block - 1) / kbnn::affine::column_block;
        View2<double> partial("partial", blocks, O);
        View1<double> sums("sums", O);
        kbnn::affine::column_sums(cmat(view2(x, n, O)), partial, sums, shape);
        return host(sums);
      });
      std::vector<double> want(O, 0.0);
      for (int i = 0; i < n * O; ++i) want[i % O] += x[i];
      for (int o = 0; o < O; ++o) CHECK(got[o] == Approx(want[o]).epsilon(1e-12));
    }
  }
}

TEST_CASE("Local reparameterization's kernels equal plain loops, in both thread shapes",
          "[kernels]") {
  const int rows = 7, K = 5, O = 3;
  const auto x = random_vector<double>(rows * K, 1), t = random_vector<double>(rows * K, 2);
  const auto d0 = random_vector<double>(rows * K, 3), eps = random_vector<double>(rows * O, 4);
  const auto dout = random_vector<double>(rows * O, 5), out0 = random_vector<double>(rows * O, 6);
  const auto bias = random_vector<double>(O, 7);
  auto variance = random_vector<double>(rows * O, 8);
  for (auto& v : variance) v = std::abs(v);
  variance[4] = 0;  // a zero row of cols: no variance gradient, not 0 * inf

  SECTION("square and add_variance_input_gradient") {
    const auto [squared, dcols] = same_in_both_shapes([&](ThreadShape shape) {
      View2<double> y("y", rows, K);
      auto d = view2(d0, rows, K);
      kbnn::affine::square(cmat(view2(x, rows, K)), mat(y), shape);
      kbnn::affine::add_variance_input_gradient(cmat(view2(x, rows, K)), cmat(view2(t, rows, K)),
                                                mat(d), shape);
      return std::make_tuple(host(y), host(d));
    });
    std::vector<double> want_squared(rows * K), want_dcols(d0);
    for (int i = 0; i < rows * K; ++i) {
      want_squared[i] = x[i] * x[i];
      want_dcols[i] += 2 * x[i] * t[i];
    }
    check_equal(squared, want_squared);
    check_equal(dcols, want_dcols);
  }
  SECTION("add_output_noise and output_variance_gradient") {
    const auto [stddev, out, d_variance] = same_in_both_shapes([&](ThreadShape shape) {
      auto s = view2(variance, rows, O);
      auto o = view2(out0, rows, O);
      View2<double> g("g", rows, O);
      kbnn::affine::add_output_noise<double>(mat(s), cmat(view2(eps, rows, O)), view1(bias),
                                             mat(o), shape);
      kbnn::affine::output_variance_gradient<double>(cmat(view2(dout, rows, O)),
                                                     cmat(view2(eps, rows, O)), cmat(s), mat(g),
                                                     shape);
      return std::make_tuple(host(s), host(o), host(g));
    });
    std::vector<double> want_s(rows * O), want_out(out0), want_g(rows * O);
    for (int i = 0; i < rows * O; ++i) {
      want_s[i] = std::sqrt(variance[i]);
      want_out[i] += want_s[i] * eps[i] + bias[i % O];
      want_g[i] = variance[i] > 0 ? dout[i] * eps[i] / (2 * want_s[i]) : 0.0;
    }
    check_equal(stddev, want_s);
    check_equal(out, want_out);
    check_equal(d_variance, want_g);
    CHECK(d_variance[4] == 0.0);
  }
}

// The narrow kernel in float (the training precision, the target's full width) for
// output counts that fill 1 vector, part of one, and part of a second one.
TEST_CASE("narrow_forward equals a plain loop, in both thread shapes", "[kernels]") {
  const int W = kbnn::simd::width<float>(), widest = kbnn::affine::narrow_max_outputs<float>();
  if (widest == 0) {  // no narrow kernel on this target (plain scalars): no layer may run it
    CHECK_FALSE(takes_per_example_or_narrow(25, 1, 1, 784));
    return;
  }
  for (int O : {1, W - 1, W, W + 3, widest}) {
    if (O < 1 || O > widest) continue;
    // mean only, S folded, S applied, per-example weights W_e (the same numbers as S
    // applied), local reparameterization's output noise (dw as the variances: v = dw^2)
    for (int variant = 0; variant < 5; ++variant) {
      DYNAMIC_SECTION(O << " outputs, variant " << variant) {
        const int examples = 3, P = 7, K = 19, rows = examples * P;  // 21 rows: partial blocks
        const auto x = random_vector<float>(rows * K, 1);
        const auto mu = random_vector<float>(O * K, 2), dw = random_vector<float>(O * K, 3);
        const auto s = random_vector<float>(examples * K, 4, true);
        const auto r = random_vector<float>(examples * O, 5, true);
        const auto bias = random_vector<float>(O, 6);
        const auto eps = random_vector<float>(rows * O, 7);
        std::vector<float> variance(O * K);
        for (int i = 0; i < O * K; ++i) variance[i] = dw[i] * dw[i];
        const bool local = variant == 4;
        const int padded = kbnn::affine::narrow_vectors<float>(O) * W;
        View2<float> mean_t("mean_t", K, padded), delta_t("delta_t", K, padded);
        kbnn::affine::transpose_padded(view1(mu), O, K, mean_t);
        kbnn::affine::transpose_padded(view1(local ? variance : dw), O, K, delta_t);
        const auto mt = host(mean_t);
        for (int k = 0; k < K; ++k)
          for (int o = 0; o < padded; ++o)
            CHECK(mt[k * padded + o] == (o < O ? mu[o * K + k] : 0.0f));
        std::vector<float> want(rows * O), want_stddev(rows * O);
        for (int row = 0; row < rows; ++row)
          for (int o = 0; o < O; ++o) {
            double m = bias[o], q = 0, v = 0;
            for (int k = 0; k < K; ++k) {
              const double xk = x[row * K + k];
              m += xk * mu[o * K + k];
              q += xk * (variant == 2 || variant == 3 ? s[(row / P) * K + k] : 1.0f) *
                   dw[o * K + k];
              v += xk * xk * variance[o * K + k];
            }
            const int i = row * O + o;
            want_stddev[i] = float(std::sqrt(v));
            want[i] = float(m + (local        ? std::sqrt(v) * eps[i]
                                 : variant > 0 ? q * r[(row / P) * O + o]
                                               : 0.0));
          }
        // Both thread shapes: rows (CPUs) and elements (GPUs, core/thread_shape.hpp).
        View2<float> example_t("example_t", examples * K, padded);
        kbnn::affine::example_weights_transposed(view1(mu), view1(dw), view2(s, examples, K),
                                                 view2(r, examples, O), examples, O, K, example_t);
        for (auto shape : {kbnn::ThreadShape::rows, kbnn::ThreadShape::elements}) {
          View2<float> out("out", rows, O), stddev("stddev", rows, O);
          if (local) {
            const auto normals = view2(eps, rows, O);
            kbnn::affine::narrow_forward<float>(cmat(view2(x, rows, K)), mean_t, delta_t,
                                                View2<float>(), View2<float>(), view1(bias), P,
                                                mat(out), shape, {cmat(normals), mat(stddev)});
            check_equal(host(stddev), want_stddev, 1e-5);
          } else if (variant == 3)
            kbnn::affine::narrow_forward<float>(cmat(view2(x, rows, K)), example_t, View2<float>(),
                                                View2<float>(), view2(r, examples, O), view1(bias), P,
                                                mat(out), shape);
          else
            kbnn::affine::narrow_forward<float>(
                cmat(view2(x, rows, K)), mean_t, variant > 0 ? delta_t : View2<float>(),
                variant == 2 ? view2(s, examples, K) : View2<float>(), view2(r, examples, O),
                view1(bias), P, mat(out), shape);
          check_equal(host(out), want, 1e-5);
        }
      }
    }
  }
}

// The narrow kernel reading a convolution's padded images in place (PatchRows) adds
// the same numbers in the same order as reading explicit im2col cols: equal bitwise.
TEST_CASE("narrow_forward on implicit cols equals it on explicit cols", "[kernels]") {
  const int widest = kbnn::affine::narrow_max_outputs<float>(), W = kbnn::simd::width<float>();
  if (widest < 6) {  // the cases below need 6 outputs: no layer may run the kernel here
    CHECK_FALSE(takes_per_example_or_narrow(25, 6, 1, 784));
    return;
  }
  std::vector<Window> windows = {square(28, 28, 1, 5, 1, 2), square(9, 8, 1, 5, 2, 2),
                                 square(7, 7, 3, 3, 1, 0), square(8, 9, 3, 3, 2, 2),
                                 square(6, 6, 3, 3, 2, 0)};
  windows.insert(windows.end(), std::begin(rectangular_windows), std::end(rectangular_windows));
  for (const Window& g : windows) {
    for (int O : {6, 16}) {
      if (O > widest) continue;
      // mean only, S folded, S applied, output noise (local reparameterization)
      for (int variant = 0; variant < 4; ++variant) {
        DYNAMIC_SECTION(g << ", " << O << " outputs, variant " << variant) {
          const kbnn::ConvGeometry geo = g.geometry();
          const int examples = 3, image = g.h * g.w * g.c, P = geo.positions(), K = geo.patch();
          const int rows = examples * P;
          const int padded_size = g.padded_size();
          auto images = view2(random_vector<float>(examples * image, 1), examples, image);
          View2<float> padded("padded", examples, padded_size), cols("cols", rows, K);
          kbnn::Matrix<const float> source = cmat(images);
          if (geo.padded()) {
            kbnn::pad_images<float>(geo, cmat(images), mat(padded));
            source = cmat(padded);
          }
          kbnn::im2col<float>(geo, source, mat(cols));
          View1<int> offsets("offsets", K);
          kbnn::patch_offsets(geo, offsets);

          const int padded_o = kbnn::affine::narrow_vectors<float>(O) * W;
          View2<float> mean_t("mean_t", K, padded_o), delta_t("delta_t", K, padded_o);
          kbnn::affine::transpose_padded(view1(random_vector<float>(O * K, 2)), O, K, mean_t);
          kbnn::affine::transpose_padded(view1(random_vector<float>(O * K, 3)), O, K, delta_t);
          if (variant == 3) {  // variances: dW^2
            auto variance = random_vector<float>(O * K, 3);
            for (float& v : variance) v *= v;
            kbnn::affine::transpose_padded(view1(variance), O, K, delta_t);
          }
          const auto delta = variant > 0 ? delta_t : View2<float>();
          const auto s = variant == 2 ? view2(random_vector<float>(examples * K, 4, true), examples, K)
                                      : View2<float>();
          const auto r = view2(random_vector<float>(examples * O, 5, true), examples, O);
          const auto bias = view1(random_vector<float>(O, 6));
          const auto normals = view2(random_vector<float>(rows * O, 7), rows, O);
          View2<float> explicit_out("explicit", rows, O), implicit_out("implicit", rows, O);
          View2<float> explicit_s("explicit_s", rows, O), implicit_s("implicit_s", rows, O);
          using Noise = kbnn::affine::OutputNoise<float>;
          const bool local = variant == 3;
          kbnn::affine::narrow_forward<float>(
              cmat(cols), mean_t, delta, s, r, bias, P, mat(explicit_out), kbnn::native_shape,
              local ? Noise{cmat(normals), mat(explicit_s)} : Noise{});
          kbnn::affine::narrow_forward<float>(
              kbnn::patch_rows<float>(geo, source, offsets), rows, K, mean_t, delta, s, r, bias, P,
              mat(implicit_out), kbnn::native_shape,
              local ? Noise{cmat(normals), mat(implicit_s)} : Noise{});
          CHECK(host(explicit_s) == host(implicit_s));
          const auto want = host(explicit_out), got = host(implicit_out);
          REQUIRE(got.size() == want.size());
          int differing = 0;
          for (std::size_t i = 0; i < got.size(); ++i) differing += got[i] != want[i];
          CHECK(differing == 0);
          double size = 0;
          for (float y : want) size += std::abs(y);
          CHECK(size > 1e-3 * want.size());  // the check is not 0 == 0
        }
      }
    }
  }
}

TEST_CASE("Per-example kernels equal plain loops", "[kernels]") {
  const int examples = 3, O = 4, K = 10;
  const auto mu = random_vector<double>(O * K, 1), dw = random_vector<double>(O * K, 2);
  const auto s = random_vector<double>(examples * K, 3, true);
  const auto r = random_vector<double>(examples * O, 6, true);
  SECTION("example_weights") {
    View1<double> w("w", std::size_t(examples) * O * K);
    kbnn::affine::example_weights(view1(mu), view1(dw), view2(s, examples, K), view2(r, examples, O),
                                  examples, O, K, w);
    std::vector<double> want;
    for (int e = 0; e < examples; ++e)
      for (int i = 0; i < O * K; ++i) want.push_back(mu[i] + r[e * O + i / K] * s[e * K + i % K] * dw[i]);
    check_equal(host(w), want);
  }
  SECTION("reduce_examples") {
    const auto d = random_vector<double>(std::size_t(examples) * O * K, 4);
    const auto g0 = random_vector<double>(O * K, 5);
    auto g = view1(g0);
    View1<double> dk("dk", O * K);
    kbnn::affine::reduce_examples(view1(d), view2(s, examples, K), view2(r, examples, O), examples,
                                  O, K, g, dk);
    std::vector<double> want_g(g0), want_d(O * K, 0.0);
    for (int e = 0; e < examples; ++e)
      for (int i = 0; i < O * K; ++i) {
        want_g[i] += d[e * O * K + i];
        want_d[i] += d[e * O * K + i] * r[e * O + i / K] * s[e * K + i % K];
      }
    check_equal(host(g), want_g);
    check_equal(host(dk), want_d);
    // Without a spread (one input channel) S is 1.
    auto g1 = view1(g0);
    kbnn::affine::reduce_examples(view1(d), View2<double>(), view2(r, examples, O), examples, O, K,
                                  g1, dk);
    std::fill(want_d.begin(), want_d.end(), 0.0);
    for (int e = 0; e < examples; ++e)
      for (int i = 0; i < O * K; ++i) want_d[i] += d[e * O * K + i] * r[e * O + i / K];
    check_equal(host(g1), want_g);
    check_equal(host(dk), want_d);
  }
}

TEST_CASE("gemm_blocks multiplies each row block on its own", "[kernels]") {
  if (!kbnn::host_accessible) {  // a host loop: on device memory no layer may take it
    CHECK_FALSE(takes_per_example_or_narrow(150, 16, 6, 100));
    return;
  }
  const int blocks = 3, P = 5, K = 4, N = 6;
  const auto a = random_vector<double>(blocks * P * K, 1), b = random_vector<double>(blocks * N * K, 2);
  View2<double> c("c", blocks * P, N);
  kbnn::gemm_blocks<double>(blocks, 'N', 'T', 1, cmat(view2(a, blocks * P, K)),
                            cmat(view2(b, blocks * N, K)), 0, mat(c));
  std::vector<double> want(blocks * P * N, 0.0);
  for (int e = 0; e < blocks; ++e)
    for (int i = 0; i < P; ++i)
      for (int j = 0; j < N; ++j)
        for (int k = 0; k < K; ++k)
          want[(e * P + i) * N + j] += a[(e * P + i) * K + k] * b[(e * N + j) * K + k];
  check_equal(host(c), want);
}

TEST_CASE("col2im is the adjoint of im2col", "[kernels]") {
  // <im2col(x), y> = <x, col2im(y)> for every x, y: checked on random ones, for
  // padding, stride and a window that does not tile the image.
  std::vector<Window> windows = {square(6, 5, 2, 3, 1, 1), square(7, 7, 3, 3, 2, 0),
                                 square(9, 8, 1, 5, 2, 2), square(14, 14, 6, 5, 1, 0)};
  windows.insert(windows.end(), std::begin(rectangular_windows), std::end(rectangular_windows));
  for (const Window& g : windows) {
    DYNAMIC_SECTION(g) {
      const kbnn::ConvGeometry geo = g.geometry();
      const int batch = 2, image = g.h * g.w * g.c, rows = batch * geo.positions();
      const int padded_size = g.padded_size();
      const auto x = random_vector<double>(batch * image, 1);
      const auto y = random_vector<double>(rows * geo.patch(), 2);
      View2<double> padded("padded", batch, padded_size), cols("cols", rows, geo.patch());
      View2<double> din("din", batch, image);
      kbnn::pad_images<double>(geo, cmat(view2(x, batch, image)), mat(padded));
      kbnn::im2col<double>(geo, cmat(padded), mat(cols));
      kbnn::col2im<double>(geo, cmat(view2(y, rows, geo.patch())), mat(din));
      const auto cx = host(cols), dy = host(din);
      double left = 0, right = 0;
      for (std::size_t i = 0; i < cx.size(); ++i) left += cx[i] * y[i];
      for (std::size_t i = 0; i < dy.size(); ++i) right += x[i] * dy[i];
      CHECK(left == Approx(right).epsilon(1e-12));
      CHECK(std::abs(left) > 1e-3);  // the check is not 0 == 0
    }
  }
}

TEST_CASE("pad_images, im2col and col2im: both thread shapes give the definition's numbers",
          "[kernels]") {
  // The rows shape runs on CPUs, the elements shape on GPUs (core/im2col.hpp); both run
  // here. im2col against its definition, cols((b, oh, ow), (kh, kw, c)) = x(b, oh*sh -
  // ph + kh, ow*sw - pw + kw, c) or 0 outside the image; col2im bitwise equal across shapes.
  std::vector<Window> windows = {square(6, 5, 2, 3, 1, 1),  square(7, 7, 3, 3, 2, 0),
                                 square(9, 8, 1, 5, 2, 2),  square(14, 14, 6, 5, 1, 0),
                                 square(28, 28, 1, 5, 1, 2), square(7, 6, 1, 3, 1, 1)};
  windows.insert(windows.end(), std::begin(rectangular_windows), std::end(rectangular_windows));
  for (const Window& g : windows) {
    DYNAMIC_SECTION(g) {
      const kbnn::ConvGeometry geo = g.geometry();
      const int batch = 3, image = g.h * g.w * g.c, P = geo.positions(), K = geo.patch();
      const int rows = batch * P, OW = geo.out_width();
      const int padded_size = g.padded_size();
      const auto x = random_vector<float>(batch * image, 1);
      std::vector<float> want(std::size_t(rows) * K, 0.0f);
      for (int r = 0; r < rows; ++r)
        for (int col = 0; col < K; ++col) {
          const int b = r / P, oh = (r % P) / OW, ow = (r % P) % OW;
          const int kh = col / (g.kw * g.c), kw = (col / g.c) % g.kw, c = col % g.c;
          const int h = oh * g.sh - g.ph + kh, w = ow * g.sw - g.pw + kw;
          if (h >= 0 && h < g.h && w >= 0 && w < g.w)
            want[std::size_t(r) * K + col] = x[std::size_t(b) * image + (h * g.w + w) * g.c + c];
        }
      const auto y = view2(random_vector<float>(rows * K, 2), rows, K);
      std::vector<std::vector<float>> din_of_shape;
      for (ThreadShape shape : {ThreadShape::rows, ThreadShape::elements}) {
        View2<float> padded("padded", batch, padded_size), cols("cols", rows, K);
        View2<float> din("din", batch, image);
        kbnn::pad_images<float>(geo, cmat(view2(x, batch, image)), mat(padded), shape);
        kbnn::im2col<float>(geo, cmat(padded), mat(cols), shape);
        CHECK(host(cols) == want);
        kbnn::col2im<float>(geo, cmat(y), mat(din), shape);
        din_of_shape.push_back(host(din));
      }
      CHECK(din_of_shape[0] == din_of_shape[1]);
      double size = 0;
      for (float v : din_of_shape[0]) size += std::abs(v);
      CHECK(size > 1e-3 * din_of_shape[0].size());  // the check is not 0 == 0
    }
  }
}

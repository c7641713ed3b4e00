// Finite-difference gradient checks, in double, for every layer and estimator, with
// respect to inputs, mu, rho and biases (deterministic layers: their point weights). The noise is keyed by (seed, pass, layer,
// example), so repeating a forward pass repeats the same draw: the function being
// differentiated is deterministic, as the reparameterization trick requires.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "layers/affine_narrow_kernel.hpp"
#include "layers/conv1d.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "layers/maxpool1d.hpp"
#include "layers/maxpool2d.hpp"
#include "layers/relu.hpp"

#include <cmath>
#include <vector>

using kbnn::test::LayerUnderTest;

namespace {

// |a - b| <= tol * max(1, |a|, |b|): central differences in double with h = 1e-6 are
// accurate to ~1e-9 on these smooth (or locally linear) functions.
void check_close(double analytic, double numeric, const std::string& what) {
  INFO(what << ": analytic " << analytic << " vs finite difference " << numeric);
  const double scale = std::max({1.0, std::abs(analytic), std::abs(numeric)});
  CHECK(std::abs(analytic - numeric) <= 1e-6 * scale);
}

// Checks dL/dx for all inputs and dL/dparameter for a spread of parameters.
void check_layer(LayerUnderTest& t, bool check_input = true) {
  const auto din = t.backward(check_input);
  const auto grads = kbnn::test::to_host(t.store.gradients());
  if (check_input)
    for (std::size_t i = 0; i < t.x.size(); i += 1 + t.x.size() / 40)
      check_close(din[i], t.input_fd(i), "input " + std::to_string(i));
  const std::size_t n = t.store.size();
  for (std::size_t i = 0; i < n; i += 1 + n / 60)
    check_close(grads[i], t.parameter_fd(i), "parameter " + std::to_string(i));
  // The last parameters are the biases (point estimates unless Bayesian).
  if (n > 0) check_close(grads[n - 1], t.parameter_fd(n - 1), "last parameter");
  // Every rho entry of the store is exercised: at least one is non-trivial.
  if (t.store.gaussian_count() > 0) {
    const std::size_t rho = t.store.gaussian_count() + 1;
    check_close(grads[rho], t.parameter_fd(rho), "rho entry");
    CHECK(std::abs(grads[rho]) > 1e-8);
  }
}

kbnn::BayesOptions options(kbnn::Estimator estimator, bool bayesian_bias = false,
                           bool fused_kernels = true) {
  kbnn::BayesOptions o;
  o.estimator = estimator;
  o.bayesian_bias = bayesian_bias;
  o.fused_kernels = fused_kernels;
  return o;
}

// Two layers with the same parameters and noise, built two ways: the same outputs, input
// gradients (when asked for) and parameter gradients, to rounding.
void check_same_numbers(LayerUnderTest& a, LayerUnderTest& b, bool input_gradient = true) {
  const auto close = [](const std::vector<double>& x, const std::vector<double>& y) {
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      CHECK(x[i] == Approx(y[i]).epsilon(1e-12).margin(1e-12));
  };
  close(a.forward_output(), b.forward_output());
  close(a.backward(input_gradient), b.backward(input_gradient));
  close(kbnn::test::to_host(a.store.gradients()), kbnn::test::to_host(b.store.gradients()));
}

// The same options with the paths a GPU takes (BayesOptions::device_paths), or not (a
// GPU build takes them either way: host_paths).
kbnn::BayesOptions on_paths(kbnn::BayesOptions o, bool device_paths) {
  o.device_paths = device_paths;
  return o;
}

// A convolution of out_channels with a kernel of 3: conv1d on signals (height 1),
// conv2d on images.
std::unique_ptr<kbnn::Layer<double>> conv3(kbnn::Shape in, int out_channels, int stride, int padding,
                                           const kbnn::BayesOptions& o) {
  if (in.height == 1)
    return std::make_unique<kbnn::Conv1d<double>>("conv", 1, in, out_channels, 3, stride, padding, o);
  return std::make_unique<kbnn::Conv2d<double>>("conv", 1, in, out_channels, 3, stride, padding, o);
}

// conv3 with stride 1 and padding 1 on a batch of 4, its posterior wide (rho = -1).
std::unique_ptr<LayerUnderTest> conv3_under_test(kbnn::Shape in, int out_channels,
                                                 const kbnn::BayesOptions& o) {
  auto t = std::make_unique<LayerUnderTest>(conv3(in, out_channels, 1, 1, o), 4, in.size());
  t->set_rho(-1.0);
  return t;
}

// Shapes that take every path of the affine map. The output counts come from the
// target's narrow limit, so every build covers each path: 6x6x3 inputs (P = 36) take the
// per-example path on CPUs, its forward pass narrow for `widest` outputs and a
// per-example gemm for one more; one input channel takes the narrow kernel with S folded
// into R (gemm for one more output), and 3x3x3 inputs (P = 9) the narrow kernel applying
// S (Flipout); local reparameterization takes the narrow kernel with its output noise up
// to `widest` outputs, gemm beyond. 20x20x3 and 40x40x1 inputs give cols of more than
// one block of Conv2d's block-wise backward on CPUs (blocks of 3 and of 2 examples of
// the 4, the last one partial). Signals (Conv1d) take the same paths: 30 positions of 3
// channels, 9 positions, one channel, and 1200 x 3 (blocks of 3 examples).
struct PathCase {
  kbnn::Shape in;
  int out_channels;
};
std::vector<PathCase> path_cases() {
  const int widest = kbnn::affine::narrow_max_outputs<double>();
  return {{{6, 6, 3}, widest},    {{6, 6, 3}, widest + 1}, {{6, 6, 1}, widest},
          {{6, 6, 1}, widest + 1}, {{3, 3, 3}, widest},     {{20, 20, 3}, widest},
          {{40, 40, 1}, widest},   {{1, 30, 3}, widest},    {{1, 30, 3}, widest + 1},
          {{1, 30, 1}, widest},    {{1, 9, 3}, widest},     {{1, 1200, 3}, widest}};
}

}  // namespace

// Every estimator; deterministic has no rho (check_layer checks rho only where there is one).
constexpr kbnn::Estimator all_estimators[] = {kbnn::Estimator::flipout, kbnn::Estimator::reparam,
                                              kbnn::Estimator::local_reparam,
                                              kbnn::Estimator::deterministic};

TEST_CASE("Dense gradients match finite differences", "[layers][gradient]") {
  for (auto estimator : all_estimators) {
    for (bool bayesian_bias : {false, true}) {
      for (bool fused : {true, false}) {
      DYNAMIC_SECTION("estimator " << int(estimator) << " bayesian bias " << bayesian_bias
                                   << " fused kernels " << fused) {
        LayerUnderTest t(std::make_unique<kbnn::Dense<double>>(
                             "dense", 2, 7, 5, options(estimator, bayesian_bias, fused)),
                         4, 7);
        t.set_rho(-1.0);
        check_layer(t);
      }
      }
    }
  }
}

TEST_CASE("Conv2d gradients match finite differences", "[layers][gradient]") {
  struct Case { int h, w, c, out, kernel, stride, padding; };
  // Covers the three forward paths: the narrow kernel (few outputs, short rows), the
  // per-example batched gemm (Flipout, >= 16 positions, more outputs) and plain gemm.
  for (const Case k : {Case{6, 5, 2, 3, 3, 1, 1}, Case{7, 7, 3, 2, 3, 2, 0},
                       Case{5, 5, 1, 4, 5, 1, 2}, Case{6, 6, 3, 20, 3, 1, 1},
                       Case{5, 5, 4, 18, 3, 1, 0}}) {
    for (auto estimator : all_estimators) {
      for (bool fused : {true, false}) {
      DYNAMIC_SECTION(k.h << "x" << k.w << "x" << k.c << " -> " << k.out << " k" << k.kernel
                          << " s" << k.stride << " p" << k.padding << " estimator "
                          << int(estimator) << " fused kernels " << fused) {
        const kbnn::Shape in{k.h, k.w, k.c};
        LayerUnderTest t(std::make_unique<kbnn::Conv2d<double>>(
                             "conv", 1, in, k.out, k.kernel, k.stride, k.padding,
                             options(estimator, estimator == kbnn::Estimator::reparam, fused)),
                         3, in.size());
        t.set_rho(-1.0);
        check_layer(t);
      }
      }
    }
  }
}

TEST_CASE("Conv1d gradients match finite differences", "[layers][gradient]") {
  struct Case { int length, c, out, kernel, stride, padding; };
  // Signals 1 x L x C through the same three forward paths as Conv2d's: the narrow
  // kernel, the per-example batched gemm (Flipout, >= 16 positions, more outputs) and
  // plain gemm; strides that leave points unread.
  for (const Case k : {Case{21, 1, 3, 5, 1, 2}, Case{19, 3, 2, 3, 2, 0}, Case{30, 3, 20, 3, 1, 1},
                       Case{25, 4, 18, 5, 1, 0}, Case{40, 2, 5, 7, 3, 3}}) {
    for (auto estimator : all_estimators) {
      for (bool fused : {true, false}) {
        DYNAMIC_SECTION("1x" << k.length << "x" << k.c << " -> " << k.out << " k" << k.kernel
                             << " s" << k.stride << " p" << k.padding << " estimator "
                             << int(estimator) << " fused kernels " << fused) {
          const kbnn::Shape in{1, k.length, k.c};
          LayerUnderTest t(std::make_unique<kbnn::Conv1d<double>>(
                               "conv1d", 1, in, k.out, k.kernel, k.stride, k.padding,
                               options(estimator, estimator == kbnn::Estimator::reparam, fused)),
                           3, in.size());
          t.set_rho(-1.0);
          check_layer(t);
        }
      }
    }
  }
}

TEST_CASE("First-layer Conv2d parameter gradients (no input gradient)", "[layers][gradient]") {
  // A first layer is called without din, which takes its own paths (one input
  // channel: both weight gradients from one gemm of [dout | dout o R]^T cols on a GPU,
  // per example on a CPU). 40x40 images span several blocks of the block-wise
  // backward on CPUs. Both the host's and a GPU's paths run here.
  for (int size : {7, 40})
  for (int channels : {1, 3}) {
    for (auto estimator : all_estimators) {
      for (bool device_paths : {false, true}) {
      DYNAMIC_SECTION(size << "x" << size << "x" << channels << " input, estimator "
                           << int(estimator) << ", device paths " << device_paths) {
        const kbnn::Shape in{size, size, channels};
        LayerUnderTest t(std::make_unique<kbnn::Conv2d<double>>(
                             "conv", 0, in, 5, 3, 1, 1, on_paths(options(estimator), device_paths)),
                         3, in.size());
        t.set_rho(-1.0);
        check_layer(t, false);
      }
      }
    }
  }
}

TEST_CASE("First-layer Conv1d parameter gradients (no input gradient)", "[layers][gradient]") {
  // Signals long enough (L x k x C > 16384 cols numbers each) that the block-wise
  // backward on CPUs takes one example per block.
  for (const kbnn::Shape in : {kbnn::Shape{1, 3000, 1}, kbnn::Shape{1, 1500, 3}}) {
    for (auto estimator : all_estimators) {
      for (bool device_paths : {false, true}) {
      DYNAMIC_SECTION("1x" << in.width << "x" << in.channels << " input, estimator "
                           << int(estimator) << ", device paths " << device_paths) {
        LayerUnderTest t(std::make_unique<kbnn::Conv1d<double>>(
                             "conv1d", 0, in, 5, 7, 1, 3, on_paths(options(estimator), device_paths)),
                         3, in.size());
        t.set_rho(-1.0);
        check_layer(t, false);
      }
      }
    }
  }
}

TEST_CASE("ReLU, MaxPool2d and MaxPool1d gradients match finite differences", "[layers][gradient]") {
  SECTION("ReLU, inputs away from the kink") {
    LayerUnderTest t(std::make_unique<kbnn::ReLU<double>>("relu", kbnn::Shape{2, 2, 3}), 3, 12);
    for (auto& v : t.x) v += v > 0 ? 0.1 : -0.1;
    check_layer(t);
  }
  SECTION("MaxPool2d 2x2, distinct inputs") {
    LayerUnderTest t(std::make_unique<kbnn::MaxPool2d<double>>("pool", kbnn::Shape{4, 6, 2}, 2, 2),
                     2, 48);
    check_layer(t);
  }
  SECTION("MaxPool2d 3x3 stride 1 (overlapping windows)") {
    LayerUnderTest t(std::make_unique<kbnn::MaxPool2d<double>>("pool", kbnn::Shape{5, 5, 2}, 3, 1),
                     2, 50);
    check_layer(t);
  }
  SECTION("MaxPool1d size 2, distinct inputs") {
    LayerUnderTest t(std::make_unique<kbnn::MaxPool1d<double>>("pool", kbnn::Shape{1, 13, 3}, 2, 2),
                     2, 39);
    check_layer(t);
  }
  SECTION("MaxPool1d size 3 stride 1 (overlapping windows)") {
    LayerUnderTest t(std::make_unique<kbnn::MaxPool1d<double>>("pool", kbnn::Shape{1, 10, 2}, 3, 1),
                     2, 20);
    check_layer(t);
  }
}

TEST_CASE("Fused kernels equal the gemm reference path", "[layers][fused]") {
  // Same parameters and noise (same seed, pass, layer): outputs, input gradients and
  // parameter gradients must agree to rounding, on every path (path_cases).
  for (const PathCase c : path_cases()) {
    for (auto estimator : all_estimators) {
      for (bool sample : {true, false}) {
        DYNAMIC_SECTION(c.in.height << "x" << c.in.width << "x" << c.in.channels << " -> "
                                    << c.out_channels << " outputs, estimator "
                                    << int(estimator) << ", sample " << sample) {
          auto fused = conv3_under_test(c.in, c.out_channels, options(estimator, false, true));
          auto reference = conv3_under_test(c.in, c.out_channels, options(estimator, false, false));
          fused->ctx.sample = reference->ctx.sample = sample;
          check_same_numbers(*fused, *reference);
        }
      }
    }
  }
}

TEST_CASE("A GPU's paths, taken on the CPU, give the host paths' numbers", "[layers][device]") {
  // BayesOptions::device_paths plans a layer as on device memory: no per-example gemms
  // (6x6x3 and 1x30x3: P >= 16 positions of several channels), cols for the whole batch
  // instead of blocks (20x20x3, 40x40x1, 1x1200x3), and for a first layer (no input
  // gradient) of one input channel, Flipout's weight gradients from one stacked gemm.
  // Same parameters and noise: the same numbers to rounding, so that a GPU's first run
  // is not the first run of its paths. On a GPU build both layers take them.
  for (const PathCase c : path_cases()) {
    for (auto estimator : all_estimators) {
      for (bool input_gradient : {true, false}) {
        DYNAMIC_SECTION(c.in.height << "x" << c.in.width << "x" << c.in.channels << " -> "
                                    << c.out_channels << " outputs, estimator "
                                    << int(estimator) << ", input gradient " << input_gradient) {
          const kbnn::BayesOptions o = options(estimator);
          auto gpu = conv3_under_test(c.in, c.out_channels, on_paths(o, true));
          auto cpu = conv3_under_test(c.in, c.out_channels, on_paths(o, false));
          check_same_numbers(*gpu, *cpu, input_gradient);
        }
      }
    }
  }
}

TEST_CASE("Conv1d and Conv2d without a backward pass read their inputs in place, same outputs",
          "[layers][fused]") {
  // backward_follows = false lets a narrow-kernel Conv2d skip im2col (prediction); the
  // outputs must be the same numbers, bitwise. Covers the narrow path (one input
  // channel), the narrow forward of the per_example path (P = 36), padding 0 with
  // stride 2, and a layer too wide for the narrow kernel (unchanged: gemm); Conv1d on
  // signals likewise.
  const int widest = kbnn::affine::narrow_max_outputs<double>();
  struct Case { kbnn::Shape in; int out_channels, stride, padding; };
  for (const Case c : {Case{{6, 6, 1}, widest, 1, 1}, Case{{6, 6, 3}, widest, 1, 1},
                       Case{{7, 7, 3}, 2, 2, 0}, Case{{9, 9, 1}, 3, 2, 2},
                       Case{{6, 6, 3}, widest + 1, 1, 1}, Case{{1, 20, 1}, widest, 1, 1},
                       Case{{1, 36, 3}, widest, 2, 1}, Case{{1, 21, 3}, widest + 1, 1, 0}}) {
    for (auto estimator : all_estimators) {
      for (bool sample : {true, false}) {
        DYNAMIC_SECTION(c.in.height << "x" << c.in.width << "x" << c.in.channels << " -> "
                                    << c.out_channels << " s" << c.stride << " p" << c.padding
                                    << ", estimator " << int(estimator) << ", sample " << sample) {
          LayerUnderTest t(conv3(c.in, c.out_channels, c.stride, c.padding, options(estimator, true)),
                           4, c.in.size());
          t.set_rho(-1.0);
          t.ctx.sample = sample;
          t.ctx.backward_follows = true;
          const auto with_cols = t.forward_output();
          t.ctx.backward_follows = false;
          const auto in_place = t.forward_output();
          REQUIRE(in_place.size() == with_cols.size());
          for (std::size_t i = 0; i < in_place.size(); ++i) CHECK(in_place[i] == with_cols[i]);
          // Training after a prediction still builds cols for backward.
          t.ctx.backward_follows = true;
          if (sample) check_layer(t);  // the posterior mean has no rho gradient
        }
      }
    }
  }
}

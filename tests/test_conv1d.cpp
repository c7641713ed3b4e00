// conv1d and maxpool1d against their definitions, as torch.nn.functional.conv1d and
// max_pool1d compute them (channels last here, channels first there):
//   conv:  out(b, l, o) = bias(o) + sum_{j < k, c < C} W(o, j, c) x(b, l*s + j - p, c),
//          x = 0 outside the signal, W stored (out, k, in);
//   pool:  out(b, l, c) = max_{j < size} x(b, l*stride + j, c);
// and the refusals of what they cannot take (images, vectors, windows too long), and of
// conv2d and maxpool2d on signals, each message saying what to use instead.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "app/deck.hpp"
#include "layers/conv1d.hpp"
#include "layers/maxpool1d.hpp"
#include "model/build_model.hpp"

#include <algorithm>
#include <cmath>

using kbnn::test::LayerUnderTest;

namespace {

// The numbers of a store block: values (point) or mu (Gaussian), as the posterior mean.
std::vector<double> block_mean(const kbnn::ParameterStore<double>& store, const std::string& name) {
  const auto values = kbnn::test::to_host(store.values());
  for (const auto& b : store.blocks())
    if (b.name == name)
      return std::vector<double>(values.begin() + b.offset, values.begin() + b.offset + b.count);
  FAIL("no block " << name);
  return {};
}

// The definition, for `batch` signals x of L points of C channels.
std::vector<double> conv1d_definition(const std::vector<double>& x, int batch, int L, int C,
                                      const std::vector<double>& w, const std::vector<double>& bias,
                                      int O, int k, int s, int p) {
  const int out_length = (L + 2 * p - k) / s + 1;
  std::vector<double> out;
  for (int b = 0; b < batch; ++b)
    for (int l = 0; l < out_length; ++l)
      for (int o = 0; o < O; ++o) {
        double sum = bias[o];
        for (int j = 0; j < k; ++j) {
          const int at = l * s + j - p;
          if (at < 0 || at >= L) continue;
          for (int c = 0; c < C; ++c) sum += w[(o * k + j) * C + c] * x[(b * L + at) * C + c];
        }
        out.push_back(sum);
      }
  return out;
}

std::string model_error(std::initializer_list<const char*> lines, kbnn::Shape input) {
  kbnn::ModelConfig config;
  for (const char* line : lines) config.layers.push_back(kbnn::parse_layer(line));
  try {
    kbnn::build_model<double>(config, input);
  } catch (const kbnn::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("conv1d computes the definition of a 1-D convolution", "[layers][conv1d]") {
  // Deterministic weights, and every Bayesian estimator at its posterior mean; lengths
  // that the stride does not divide, padding, one and several channels, and enough
  // outputs and positions for the per-example gemm path.
  struct Case { int length, c, out, kernel, stride, padding; };
  using E = kbnn::Estimator;
  for (const Case k : {Case{21, 1, 3, 5, 1, 2}, Case{19, 3, 2, 3, 2, 0}, Case{30, 3, 20, 3, 1, 1},
                       Case{40, 2, 5, 7, 3, 3}}) {
    for (E estimator : {E::deterministic, E::flipout, E::reparam, E::local_reparam}) {
      DYNAMIC_SECTION("1x" << k.length << "x" << k.c << " -> " << k.out << " k" << k.kernel
                           << " s" << k.stride << " p" << k.padding << " estimator "
                           << int(estimator)) {
        kbnn::BayesOptions o;
        o.estimator = estimator;
        o.bayesian_bias = estimator == E::reparam;
        const kbnn::Shape in{1, k.length, k.c};
        LayerUnderTest t(std::make_unique<kbnn::Conv1d<double>>("conv1d_0", 0, in, k.out, k.kernel,
                                                                k.stride, k.padding, o),
                         3, in.size());
        t.ctx.sample = false;
        const auto& kernel = t.store.blocks().front();
        CHECK(kernel.name == "conv1d_0/kernel");
        CHECK(kernel.shape == std::vector<std::size_t>{std::size_t(k.out), std::size_t(k.kernel),
                                                       std::size_t(k.c)});
        const auto want = conv1d_definition(t.x, t.batch, k.length, k.c,
                                            block_mean(t.store, "conv1d_0/kernel"),
                                            block_mean(t.store, "conv1d_0/bias"), k.out, k.kernel,
                                            k.stride, k.padding);
        const auto got = t.forward_output();
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-12));
      }
    }
  }
}

TEST_CASE("maxpool1d takes the maximum of each window of a signal", "[layers][conv1d]") {
  const int L = 11, C = 3, size = 3, stride = 2, out_length = (L - size) / stride + 1;
  LayerUnderTest t(std::make_unique<kbnn::MaxPool1d<double>>("maxpool1d_0", kbnn::Shape{1, L, C},
                                                             size, stride),
                   2, L * C);
  const kbnn::Shape out = t.layer->output_shape();
  CHECK((out.height == 1 && out.width == out_length && out.channels == C));
  const auto got = t.forward_output();
  REQUIRE(got.size() == std::size_t(2 * out_length * C));
  for (int b = 0; b < 2; ++b)
    for (int l = 0; l < out_length; ++l)
      for (int c = 0; c < C; ++c) {
        double want = -1e300;
        for (int j = 0; j < size; ++j) want = std::max(want, t.x[(b * L + l * stride + j) * C + c]);
        CHECK(got[(b * out_length + l) * C + c] == want);
      }
}

TEST_CASE("1-D layers refuse images and vectors; 2-D layers name signals", "[layers][conv1d]") {
  using kbnn::test::contains;
  const kbnn::Shape image{28, 28, 1}, vector{1, 1, 21}, signal{1, 21, 4};
  CHECK_THAT(model_error({"conv1d out=4 kernel=3"}, image),
             contains("conv1d_0: takes a signal (1 x L x C), got an image of 28x28x1; images "
                      "take conv2d and maxpool2d"));
  CHECK_THAT(model_error({"maxpool1d"}, image),
             contains("maxpool1d_0: takes a signal (1 x L x C), got an image of 28x28x1"));
  CHECK_THAT(model_error({"conv1d out=4 kernel=3"}, vector),
             contains("conv1d_0: takes a signal (1 x L x C), got a vector of 21 features; HDF5 "
                      "examples of shape (L) or (L, C) are read as signals with data.layout = "
                      "signal"));
  // A signal flattened is a vector.
  CHECK_THAT(model_error({"conv1d out=2 kernel=3", "flatten", "maxpool1d"}, signal),
             contains("maxpool1d_2: takes a signal (1 x L x C), got a vector of 38 features"));
  // A window as long as the signal leaves one point: 1 x 1 x C, a vector as well.
  CHECK_THAT(model_error({"maxpool1d size=21", "conv1d out=2 kernel=1"}, signal),
             contains("conv1d_1: takes a signal (1 x L x C), got a vector of 4 features; "));
  CHECK_THAT(model_error({"maxpool1d size=21", "conv1d out=2 kernel=1"}, signal),
             contains("; a signal of one point (L = 1, or what a window as long as the signal "
                      "leaves) is such a vector too: dense takes it"));
  CHECK_THAT(model_error({"conv1d out=4 kernel=22"}, signal),
             contains("conv1d_0: a kernel of 22 with padding 0 does not fit the signal of length 21"));
  CHECK(model_error({"conv1d out=4 kernel=22 padding=1"}, signal) == "(no error)");
  CHECK_THAT(model_error({"relu", "maxpool1d size=9 stride=1", "maxpool1d size=14"}, signal),
             contains("maxpool1d_2: a window of 14 with stride 14 does not fit the signal of "
                      "length 13"));
  CHECK_THAT(model_error({"conv2d out=4 kernel=5"}, signal),
             contains("conv2d_0: a 5x5 kernel with padding 0 does not fit the 1x21 input (a "
                      "signal: use conv1d)"));
  CHECK_THAT(model_error({"maxpool2d"}, signal),
             contains("maxpool2d_0: a 2x2 window with stride 2 does not fit the 1x21 input (a "
                      "signal: use maxpool1d)"));
  // A window longer than the input whose stride would round its output up to one position.
  CHECK_THAT(model_error({"conv2d out=4 kernel=5 stride=5"}, kbnn::Shape{3, 3, 1}),
             contains("conv2d_0: a 5x5 kernel with padding 0 does not fit the 3x3 input"));
  CHECK_THAT(model_error({"conv1d out=4 kernel=5 stride=5"}, kbnn::Shape{1, 3, 1}),
             contains("conv1d_0: a kernel of 5 with padding 0 does not fit the signal of length 3"));
}

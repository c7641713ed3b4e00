// Flipout's signs belong to each example (Wen et al. 2018): in a batch of IDENTICAL rows,
// what decorrelates the examples' outputs is only that each draws its own S and R. So
// with every row the same input x, the perturbation parts p_e = y_e - y_mean (the layer's
// output minus its posterior-mean output) of different examples must be uncorrelated,
// and each example's signs independent +-1 with mean 0. A layer that gave the whole
// batch one set of signs passes the finite-difference, fused-vs-reference and
// rank-invariance tests (they would hold for any one set), but not these.
//
// The statistics, each a Rademacher sum divided by its own scale, so that Hoeffding's
// inequality bounds it whatever the weights are: P(|Z| >= t) <= 2 exp(-t^2 / 2).
//   perturbations: p_e(q, o) = R_e(o) a_e(q, o) at position q and output channel o, where
//     a_e depends on S_e and the weight noise only. For disjoint pairs (e, f) of
//     examples, C(e,f,o) = sum_q p_e p_f = R_e(o) R_f(o) sum_q a_e a_f, and given the
//     a's the R_e(o) R_f(o) are independent signs: Z = sum C / sqrt(sum C^2).
//   signs (S and R alike, each entry +-1): mean, Z = sum s / sqrt(count); across
//     examples, Z = sum over disjoint pairs (e, f) and columns j of s_e(j) s_f(j) over
//     the square root of its count; within an example, the same over disjoint pairs of
//     neighbouring columns (j, j + 1).
// Every |Z| must stay below t = 6: a false alarm has probability <= 2 exp(-18) = 3.0e-8
// per statistic, and at most 7 per layer times 5 layers = 35 statistics make this file's
// false-alarm rate <= 1.1e-6 for any seed. With one sign set for the batch of 128, every
// pair term is positive: the across-example Z of a one-column S is sqrt(64) = 8, the
// others grow as the square root of their counts (16 to 60 here).
#include "catch.hpp"

#include "layers/conv2d.hpp"
#include "layers/dense.hpp"

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr double threshold = 6;  // |Z| < 6: false alarm <= 3.0e-8 per statistic
constexpr int batch = 128;       // 64 disjoint pairs of examples

template <class View>
std::vector<double> host(const View& v) {
  const auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out(m.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = double(m.data()[i]);
  return out;
}

// A layer in float, as training runs it, with a wide posterior (sigma = softplus(-1)).
struct FlipoutLayer {
  std::unique_ptr<kbnn::Layer<float>> layer;
  kbnn::ParameterStore<float> store;
  std::int64_t in_features, out_features, channels_out;

  FlipoutLayer(std::unique_ptr<kbnn::Layer<float>> l, std::int64_t in, std::int64_t outputs)
      : layer(std::move(l)), in_features(in), out_features(layer->output_shape().size()),
        channels_out(outputs) {
    layer->declare(store);
    store.allocate();
    layer->bind(store);
    layer->initialize(2024);
    layer->reserve(batch);
    auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), store.values());
    for (std::size_t i = store.gaussian_count(); i < 2 * store.gaussian_count(); ++i) v(i) = -1;
    Kokkos::deep_copy(store.values(), v);
  }

  // (batch, out_features): the layer's output for `batch` copies of one random row.
  std::vector<double> forward(bool sample) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> row(static_cast<std::size_t>(in_features));
    for (auto& x : row) x = u(rng);
    kbnn::View2<float> in("test::in", batch, in_features);
    auto h = Kokkos::create_mirror_view(in);
    for (int e = 0; e < batch; ++e)
      for (std::int64_t i = 0; i < in_features; ++i) h(e, i) = row[std::size_t(i)];
    Kokkos::deep_copy(in, h);
    kbnn::View2<float> out("test::out", batch, out_features);
    const kbnn::PassContext ctx{99, 7, 1000, sample};
    layer->forward(kbnn::Matrix<const float>(in.data(), batch, in_features),
                   kbnn::Matrix<float>(out.data(), batch, out_features), ctx);
    return host(out);
  }
};

// Z of the perturbation parts of disjoint pairs of examples, summed per output channel
// over positions (outputs are NHWC: channel o of position q at q * channels + o).
double perturbation_z(const std::vector<double>& sampled, const std::vector<double>& mean,
                      std::int64_t width, std::int64_t channels) {
  double sum = 0, squares = 0;
  for (int e = 0; e + 1 < batch; e += 2)
    for (std::int64_t o = 0; o < channels; ++o) {
      double c = 0;
      for (std::int64_t j = o; j < width; j += channels) {
        const double pe = sampled[std::size_t(e * width + j)] - mean[std::size_t(e * width + j)];
        const double pf =
            sampled[std::size_t((e + 1) * width + j)] - mean[std::size_t((e + 1) * width + j)];
        c += pe * pf;
      }
      sum += c;
      squares += c * c;
    }
  return sum / std::sqrt(squares);
}

// Checks a (batch, width) sign matrix: +-1 entries, mean 0, independent across examples
// and within one.
void check_signs(const std::vector<double>& s, std::int64_t width, const std::string& what) {
  INFO(what << " (" << batch << " x " << width << ")");
  std::size_t not_a_sign = 0;
  double total = 0, across = 0, within = 0;
  std::int64_t across_count = 0, within_count = 0;
  for (int e = 0; e < batch; ++e)
    for (std::int64_t j = 0; j < width; ++j) {
      const double v = s[std::size_t(e * width + j)];
      not_a_sign += v != 1 && v != -1;
      total += v;
      if (e % 2 == 0) across += v * s[std::size_t((e + 1) * width + j)], ++across_count;
      if (j % 2 == 0 && j + 1 < width) within += v * s[std::size_t(e * width + j + 1)], ++within_count;
    }
  REQUIRE(not_a_sign == 0);
  const double mean_z = total / std::sqrt(double(batch * width));
  const double across_z = across / std::sqrt(double(across_count));
  INFO("Z: mean " << mean_z << ", across examples " << across_z);
  CHECK(std::abs(mean_z) < threshold);
  CHECK(std::abs(across_z) < threshold);
  if (within_count > 0) {
    const double within_z = within / std::sqrt(double(within_count));
    INFO("Z within an example " << within_z);
    CHECK(std::abs(within_z) < threshold);
  }
}

void check_per_example(FlipoutLayer& t, const std::string& what) {
  const auto* affine = t.layer->bayesian_affine();
  REQUIRE(affine != nullptr);
  INFO(what << ", path " << int(affine->path()));
  const auto mean = t.forward(false);
  const auto sampled = t.forward(true);  // last: its signs stay in the layer
  REQUIRE(affine->drew_signs());
  const double z = perturbation_z(sampled, mean, t.out_features, t.channels_out);
  INFO("perturbation Z " << z);
  CHECK(std::abs(z) < threshold);

  const std::int64_t in_width = affine->input_signs().extent(1);
  const std::int64_t out_width = affine->output_signs().extent(1);
  std::vector<double> s = host(Kokkos::subview(affine->input_signs(),
                                               Kokkos::make_pair(0, batch), Kokkos::ALL));
  std::vector<double> r = host(Kokkos::subview(affine->output_signs(),
                                               Kokkos::make_pair(0, batch), Kokkos::ALL));
  if (affine->output_signs_folded())  // R was stored as S R: S is +-1, so R = (S R) S
    for (int e = 0; e < batch; ++e)
      for (std::int64_t o = 0; o < out_width; ++o) r[std::size_t(e * out_width + o)] *= s[std::size_t(e)];
  check_signs(s, in_width, what + ": S");
  check_signs(r, out_width, what + ": R");
}

kbnn::BayesOptions flipout(bool fused) {
  kbnn::BayesOptions o;
  o.estimator = kbnn::Estimator::flipout;
  o.fused_kernels = fused;
  return o;
}

}  // namespace

TEST_CASE("Flipout: identical rows get uncorrelated perturbations and their own signs (dense)",
          "[layers][flipout]") {
  // 40 -> 12 takes the fused narrow kernel where the target has one; the reference path
  // is gemm; 200 -> 64 takes gemm either way.
  for (const auto& [in, out, fused] : {std::tuple{40, 12, true}, std::tuple{40, 12, false},
                                       std::tuple{200, 64, true}}) {
    FlipoutLayer t(std::make_unique<kbnn::Dense<float>>("dense", 3, in, out, flipout(fused)),
                   in, out);
    check_per_example(t, "dense " + std::to_string(in) + " -> " + std::to_string(out) +
                             (fused ? "" : ", gemm reference"));
  }
}

TEST_CASE("Flipout: identical images get uncorrelated perturbations and their own signs (conv)",
          "[layers][flipout]") {
  // 8x8 images, 3x3 kernels, padding 1 (64 positions per example). Three input channels
  // take the per-example path on CPUs (gemm elsewhere); one input channel folds S into
  // R on the narrow kernel.
  for (const auto& [channels, fused] : {std::pair{3, true}, std::pair{1, true}}) {
    const kbnn::Shape image{8, 8, channels};
    FlipoutLayer t(std::make_unique<kbnn::Conv2d<float>>("conv", 2, image, 8, 3, 1, 1,
                                                         flipout(fused)),
                   image.size(), 8);
    check_per_example(t, "conv with " + std::to_string(channels) + " input channel(s)");
  }
}

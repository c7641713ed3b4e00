// SNR pruning (uq/snr_pruning.hpp): which weights a fraction removes, and that a removed
// weight is really gone: zero in every Monte-Carlo sample on every layer path, out of
// the KL term, and never moved by a gradient.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "train/kl_divergence.hpp"
#include "uq/snr_pruning.hpp"

#include <cmath>

using kbnn::test::LayerUnderTest;

namespace {

using Block = kbnn::ParameterStore<kbnn::Real>::Block;
using Kind = kbnn::ParameterStore<kbnn::Real>::Kind;

double softplus_inverse(double sigma) { return std::log(std::expm1(sigma)); }

// Two kernels of 4 weights and a point bias; mu and sigma chosen so SNR = |mu| / sigma is
// known: layer a has SNRs 4, 1, 3, 2; layer b has 0.5, 5, 0.25, 6.
struct TwoLayers {
  std::vector<Block> blocks{Block{"a/kernel", Kind::gaussian, {2, 2}, 4, 0},
                            Block{"b/kernel", Kind::gaussian, {4}, 4, 4},
                            Block{"b/bias", Kind::point, {1}, 1, 16}};
  std::vector<float> parameters;
  TwoLayers() {
    const double snr[8] = {4, 1, 3, 2, 0.5, 5, 0.25, 6};
    parameters.resize(17);
    for (int i = 0; i < 8; ++i) {
      const double sigma = 0.1 * (i + 1);
      parameters[i] = float((i % 2 ? -1 : 1) * snr[i] * sigma);  // the sign must not matter
      parameters[8 + i] = float(softplus_inverse(sigma));
    }
    parameters[16] = 0.3f;
  }
};

std::vector<std::uint8_t> mask(std::initializer_list<int> bits) {
  return std::vector<std::uint8_t>(bits.begin(), bits.end());
}

kbnn::BayesOptions options(kbnn::Estimator estimator, bool fused) {
  kbnn::BayesOptions o;
  o.estimator = estimator;
  o.fused_kernels = fused;
  return o;
}

// Prunes output unit `unit` of the layer whole: mu = 0 and keep = 0 for its row of the
// (out, K) kernel, the first Gaussian block of the store.
void prune_output_unit(LayerUnderTest& t, int unit, std::size_t row_length) {
  auto values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.store.values());
  auto keep = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.store.keep());
  for (std::size_t k = 0; k < row_length; ++k) {
    values(unit * row_length + k) = 0;
    keep(unit * row_length + k) = 0;
  }
  Kokkos::deep_copy(t.store.values(), values);
  Kokkos::deep_copy(t.store.keep(), keep);
}

// The point bias of output unit `unit` (point parameters follow all mu and rho).
double bias_of(const LayerUnderTest& t, int unit) {
  return kbnn::test::to_host(t.store.values())[2 * t.store.gaussian_count() + unit];
}

}  // namespace

TEST_CASE("SNR pruning removes the lowest |mu|/sigma per layer or globally", "[pruning]") {
  const TwoLayers m;
  SECTION("per layer: floor(f * count) of each kernel") {
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0.5, kbnn::PruneScope::layer) ==
          mask({1, 0, 1, 0, 0, 1, 0, 1}));
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0.3, kbnn::PruneScope::layer) ==
          mask({1, 0, 1, 1, 1, 1, 0, 1}));
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0, kbnn::PruneScope::layer) ==
          mask({1, 1, 1, 1, 1, 1, 1, 1}));
  }
  SECTION("globally: the lowest of all kernels together") {
    // SNRs sorted: 0.25 (b2), 0.5 (b0), 1 (a1), 2 (a3), 3 (a2), 4, 5, 6.
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0.5, kbnn::PruneScope::global) ==
          mask({1, 0, 1, 0, 0, 1, 0, 1}));
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0.375, kbnn::PruneScope::global) ==
          mask({1, 0, 1, 1, 0, 1, 0, 1}));
  }
  SECTION("weights already removed stay removed and count towards the fraction") {
    const auto previous = mask({0, 1, 1, 1, 1, 1, 1, 1});
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 0.5, kbnn::PruneScope::layer, previous) ==
          mask({0, 0, 1, 1, 0, 1, 0, 1}));
  }
  SECTION("ties go in index order") {
    std::vector<float> p = m.parameters;
    for (int i = 0; i < 4; ++i) p[i] = 1.0f, p[8 + i] = 0.5f;
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, p, 0.5, kbnn::PruneScope::layer)[0] == 0);
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, p, 0.5, kbnn::PruneScope::layer)[1] == 0);
    CHECK(kbnn::snr_keep_mask(m.blocks, 8, p, 0.5, kbnn::PruneScope::layer)[2] == 1);
  }
  SECTION("bad fractions are refused") {
    CHECK_THROWS_WITH(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, 1.0, kbnn::PruneScope::layer),
                      Catch::Contains("must be in [0, 1)"));
    CHECK_THROWS_WITH(kbnn::snr_keep_mask(m.blocks, 8, m.parameters, -0.1, kbnn::PruneScope::layer),
                      Catch::Contains("must be in [0, 1)"));
  }
}

TEST_CASE("A pruned checkpoint has mu and the optimizer moments of removed weights at 0",
          "[pruning]") {
  const TwoLayers m;
  kbnn::Checkpoint c;
  c.parameters = m.parameters;
  c.state = {std::vector<float>(17, 0.5f), std::vector<float>(17, 0.25f)};
  c.state_names = {"adam_m", "adam_v"};
  const auto keep = mask({1, 0, 1, 1, 1, 1, 1, 0});
  const kbnn::Checkpoint p = kbnn::pruned(c, keep);
  CHECK(p.keep == keep);
  for (std::size_t i = 0; i < 17; ++i) {
    const bool removed_mu = i < 8 && !keep[i];
    const bool removed_rho = i >= 8 && i < 16 && !keep[i - 8];
    CHECK(p.parameters[i] == (removed_mu ? 0.0f : m.parameters[i]));
    for (std::size_t s = 0; s < 2; ++s)
      CHECK(p.state[s][i] == (removed_mu || removed_rho ? 0.0f : c.state[s][i]));
  }
}

TEST_CASE("A pruned weight is zero in every Monte-Carlo sample, on every layer path",
          "[pruning][layers]") {
  // With all weights of one output unit removed, that unit's output is its bias in
  // every pass, whatever the input: any pruned weight drawn non-zero would show.
  for (auto estimator :
       {kbnn::Estimator::flipout, kbnn::Estimator::reparam, kbnn::Estimator::local_reparam}) {
    for (bool fused : {true, false}) {
      DYNAMIC_SECTION("estimator " << kbnn::word_of(estimator) << ", fused " << fused) {
        const int unit = 2;
        SECTION("dense") {
          const int in = 7, out = 4, batch = 5;
          LayerUnderTest t(std::make_unique<kbnn::Dense<double>>("dense", 0, in, out,
                                                                options(estimator, fused)),
                           batch, in);
          t.set_rho(-1.0);
          prune_output_unit(t, unit, in);
          for (std::uint32_t pass = 0; pass < 20; ++pass) {
            t.ctx.pass = pass;
            const auto y = t.forward_output();
            for (int e = 0; e < batch; ++e) CHECK(y[e * out + unit] == bias_of(t, unit));
            CHECK(y[out - 1] != bias_of(t, out - 1));  // a kept unit does vary
          }
        }
        SECTION("conv2d (narrow, per-example and gemm paths)") {
          for (int channels : {1, 3}) {
            const kbnn::Shape in{6, 6, channels};
            const int out = 5, batch = 3, positions = 36, row = 9 * channels;
            LayerUnderTest t(std::make_unique<kbnn::Conv2d<double>>(
                                 "conv", 1, in, out, 3, 1, 1, options(estimator, fused)),
                             batch, in.size());
            t.set_rho(-1.0);
            prune_output_unit(t, unit, row);
            for (std::uint32_t pass = 0; pass < 10; ++pass) {
              t.ctx.pass = pass;
              const auto y = t.forward_output();  // NHWC: channel last
              for (int r = 0; r < batch * positions; ++r)
                REQUIRE(y[r * out + unit] == bias_of(t, unit));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("The KL of a pruned model is the KL of its remaining weights; removed weights "
          "get no gradient", "[pruning][kl]") {
  kbnn::ParameterStore<double> store;
  store.declare("a/kernel", {3, 4}, kbnn::ParameterStore<double>::Kind::gaussian);
  store.declare("a/bias", {3}, kbnn::ParameterStore<double>::Kind::point);
  store.allocate();
  const std::size_t n = store.gaussian_count();
  const auto values = kbnn::test::random_values(store.size(), 5, -1.5, 0.5);
  const auto keep = mask({1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1});
  auto v = Kokkos::create_mirror_view(store.values());
  auto k = Kokkos::create_mirror_view(store.keep());
  for (std::size_t i = 0; i < store.size(); ++i) v(i) = values[i];
  for (std::size_t i = 0; i < n; ++i) k(i) = keep[i];
  Kokkos::deep_copy(store.values(), v);
  Kokkos::deep_copy(store.keep(), k);

  const double prior_sigma = 0.7;
  double expected = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    const double mu = values[i], sigma = std::log1p(std::exp(values[n + i]));
    expected += std::log(prior_sigma / sigma) + (sigma * sigma + mu * mu) / (2 * prior_sigma * prior_sigma) - 0.5;
  }
  CHECK(kbnn::kl_divergence(store, prior_sigma) == Approx(expected).epsilon(1e-12));

  // A data gradient everywhere; after the KL gradient, removed weights have none.
  Kokkos::deep_copy(store.gradients(), 1.0);
  kbnn::add_kl_gradient(store, prior_sigma, 0.1);
  const auto g = kbnn::test::to_host(store.gradients());
  for (std::size_t i = 0; i < n; ++i) {
    if (keep[i]) {
      CHECK(g[i] != 0);
      CHECK(g[n + i] != 0);
    } else {
      CHECK(g[i] == 0);
      CHECK(g[n + i] == 0);
    }
  }
  for (std::size_t i = 2 * n; i < store.size(); ++i) CHECK(g[i] == 1.0);  // points untouched
}

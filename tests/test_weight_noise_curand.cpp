// model.noise = curand: cuRAND's Philox normal stream, filled in bulk by cuRAND where
// the toolkit was found and by a Kokkos kernel elsewhere. The two must give the same
// numbers, the stream must be a standard normal, keyed like the Philox noise, and the
// layers' gradients must stay exact with it.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "app/deck.hpp"
#include "core/curand_noise.hpp"
#include "core/curand_philox.hpp"
#include "layers/dense.hpp"

#include <cmath>

namespace {
template <class Scalar>
std::vector<double> draw(kbnn::CurandNormals& normals, const kbnn::NoiseKey& key, std::size_t n) {
  kbnn::View1<Scalar> v("v", n);
  normals.fill(key, kbnn::Stream::weight_noise, v);
  return kbnn::test::to_host(v);
}
}  // namespace

TEST_CASE("cuRAND noise: bulk fill equals the portable kernel, and the known stream", "[rng][curand]") {
  kbnn::CurandNormals normals;
  const kbnn::NoiseKey key{77, 12, 3};
  const std::size_t n = 1001;  // odd: cuRAND's device generator needs even counts
  // float goes through cuRAND itself when the toolkit was found; double always through
  // the Kokkos kernel. Both compute cuRAND's float Box-Muller from the same integers;
  // whether a compiler fuses its multiply-adds (ours does with -march=native, nvcc
  // does on GPUs) moves the result by a few float ulps, hence the 1e-5 tolerance.
  const auto bulk = draw<float>(normals, key, n);
  const auto portable = draw<double>(normals, key, n);
  const auto at = kbnn::curand_position(key, kbnn::Stream::weight_noise, n);
  INFO("cuRAND itself: " << kbnn::CurandNormals::uses_curand());
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(bulk[i] == Approx(portable[i]).epsilon(1e-5).margin(1e-6));
    // The kernel against the host's function: on a CPU the same code, so the same bits;
    // on a GPU its log, sin and cos are the device's own, a few float ulps away.
    const double host = kbnn::curand_philox_normal(at.seed, at.offset + i);
    if (kbnn::host_accessible)
      CHECK(portable[i] == host);
    else
      CHECK(portable[i] == Approx(host).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("cuRAND noise is a standard normal stream keyed by seed, step and layer", "[rng][curand]") {
  kbnn::CurandNormals normals;
  const std::size_t n = 1 << 20;
  const auto z = draw<float>(normals, kbnn::NoiseKey{5, 0, 0}, n);
  double mean = 0, square = 0;
  for (double v : z) {
    mean += v;
    square += v * v;
  }
  mean /= n;
  const double variance = square / n - mean * mean;
  CHECK(std::abs(mean) < 5 / std::sqrt(double(n)));              // 5 standard errors
  CHECK(std::abs(variance - 1) < 5 * std::sqrt(2.0 / double(n)));  // of a sample variance
  const auto again = draw<float>(normals, kbnn::NoiseKey{5, 0, 0}, 64);
  const auto next_step = draw<float>(normals, kbnn::NoiseKey{5, 1, 0}, 64);
  const auto other_layer = draw<float>(normals, kbnn::NoiseKey{5, 0, 1}, 64);
  const auto other_seed = draw<float>(normals, kbnn::NoiseKey{6, 0, 0}, 64);
  int equal_step = 0, equal_layer = 0, equal_seed = 0;
  for (int i = 0; i < 64; ++i) {
    CHECK(again[i] == z[i]);
    equal_step += next_step[i] == z[i];
    equal_layer += other_layer[i] == z[i];
    equal_seed += other_seed[i] == z[i];
  }
  CHECK(equal_step == 0);
  CHECK(equal_layer == 0);
  CHECK(equal_seed == 0);
}

TEST_CASE("Dense gradients with cuRAND noise match finite differences", "[rng][curand][gradient]") {
  kbnn::BayesOptions options;
  options.noise = kbnn::NoiseSource::curand;
  kbnn::test::LayerUnderTest t(std::make_unique<kbnn::Dense<double>>("dense", 1, 6, 4, options), 3, 6);
  t.set_rho(-1.0);
  t.backward();
  const auto grads = kbnn::test::to_host(t.store.gradients());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    const double fd = t.parameter_fd(i);
    INFO("parameter " << i << ": analytic " << grads[i] << ", FD " << fd);
    CHECK(std::abs(grads[i] - fd) <= 1e-6 * std::max(1.0, std::abs(fd)));
  }
}

TEST_CASE("model.noise accepts philox and curand only", "[rng][curand][deck]") {
  const std::string deck = std::string(KBNN_SOURCE_DIR) + "/input/fashion_mnist_lenet5.cfg";
  CHECK(kbnn::parse_deck(deck).model.noise == kbnn::NoiseSource::philox);
  CHECK(kbnn::parse_deck(deck, {"--model.noise=curand"}).model.noise == kbnn::NoiseSource::curand);
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--model.noise=mersenne"}),
                      kbnn::test::contains("model.noise"));
}

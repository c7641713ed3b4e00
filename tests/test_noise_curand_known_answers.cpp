// model.noise = curand against known answers that need no CUDA: cuRAND's Philox normal
// stream written out from its definition (tests/curand_known_answers.hpp, made by
// tests/scripts/curand_known_answers.py). In a build without the CUDA toolkit kbnn's
// portable kernel is the only implementation there is, so comparing it with itself (or
// with the function it calls) would prove nothing; these numbers come from outside.
// test_curand.cpp checks the same numbers against cuRAND's generator where it exists.
#include "catch.hpp"
#include "curand_known_answers.hpp"

#include "core/curand_noise.hpp"
#include "core/curand_philox.hpp"
#include "layers/dense.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace answers = kbnn::test::curand_answers;

namespace {

void check_known(double got, float want, const std::string& what) {
  INFO(what << ": got " << got << ", known " << want << ", difference " << got - want);
  CHECK(std::abs(got - want) <= answers::tolerance * std::max(1.0, std::abs(double(want))));
}

template <class Scalar>
std::vector<double> draw(const kbnn::NoiseKey& key, std::size_t n) {
  kbnn::CurandNormals normals;
  kbnn::View1<Scalar> v("kbnn::test::curand_draw", n);
  normals.fill(key, kbnn::Stream::weight_noise, v);
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + n);
}

}  // namespace

TEST_CASE("cuRAND's Philox normal stream has its known values", "[rng][curand_known]") {
  for (std::size_t i = 0; i < std::size(answers::raw_positions); ++i) {
    const std::uint64_t p = answers::raw_positions[i];
    check_known(kbnn::curand_philox_normal(answers::raw_seed, p), answers::raw_normals[i],
                "position " + std::to_string(p));
  }
}

TEST_CASE("A curand draw keyed by seed, step and layer has its known values",
          "[rng][curand_known]") {
  const kbnn::NoiseKey key{answers::draw_seed, answers::draw_step, answers::draw_layer};
  const auto f = draw<float>(key, answers::draw_count);
  const auto d = draw<double>(key, answers::draw_count);
  for (std::size_t i = 0; i < std::size(answers::draw_indices); ++i) {
    const std::size_t at = answers::draw_indices[i];
    check_known(f[at], answers::draw_normals[i], "float element " + std::to_string(at));
    check_known(d[at], answers::draw_normals[i], "double element " + std::to_string(at));
  }
}

TEST_CASE("model.noise = curand: a layer's weight noise has its known values",
          "[rng][curand_known]") {
  kbnn::BayesOptions options;
  options.estimator = kbnn::Estimator::reparam;  // eps drawn whole: the layer's noise as is
  options.noise = kbnn::NoiseSource::curand;
  kbnn::Dense<float> dense("dense", answers::layer_index, 3, 2, options);
  kbnn::ParameterStore<float> store;
  dense.declare(store);
  store.allocate();
  dense.bind(store);
  dense.initialize(1);
  dense.reserve(1);
  kbnn::View2<float> in("kbnn::test::in", 1, 3), out("kbnn::test::out", 1, 2);
  dense.forward(kbnn::Matrix<const float>(in.data(), 1, 3), kbnn::Matrix<float>(out.data(), 1, 2),
                kbnn::PassContext{answers::layer_seed, answers::layer_pass, 0, true});
  const auto eps =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dense.bayesian_affine()->weight_noise());
  REQUIRE(eps.extent(0) == std::size(answers::layer_noise));
  for (std::size_t i = 0; i < eps.extent(0); ++i)
    check_known(eps(i), answers::layer_noise[i], "weight " + std::to_string(i));
}

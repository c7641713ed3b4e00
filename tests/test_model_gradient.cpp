// End-to-end gradient check: a whole Sequential model (conv, relu, maxpool, flatten,
// dense, every estimator; on images and on signals) with the softmax cross-entropy and
// the KL term, in double, against central finite differences of the negative ELBO.
// Catches errors in how layers are chained that per-layer checks cannot see.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "app/deck.hpp"
#include "model/build_model.hpp"
#include "train/kl_divergence.hpp"
#include "train/loss.hpp"

#include <cmath>

namespace {

struct Problem {
  std::unique_ptr<kbnn::Sequential<double>> model;
  kbnn::View2<double> x;
  kbnn::View1<std::int32_t> y;
  kbnn::View2<double> dlogits;
  kbnn::View1<double> correct;
  kbnn::PassContext ctx{99, 4, 17, true};
  double prior_sigma = 0.7, kl_scale = 1.0 / 50;
  int batch = 5;

  // input: 72 numbers per example, an image (6x6x2) or a signal (1x18x4).
  explicit Problem(std::initializer_list<const char*> lines, kbnn::Shape input = {6, 6, 2}) {
    kbnn::ModelConfig config;
    for (const char* line : lines) config.layers.push_back(kbnn::parse_layer(line));
    config.init_rho_mean = -1.5;  // sigma ~ 0.2: the noise paths matter
    model = kbnn::build_model<double>(config, input);
    model->finalize(5, batch);
    x = kbnn::test::device_matrix(kbnn::test::random_values(std::size_t(batch) * 72, 3), batch, 72);
    y = kbnn::View1<std::int32_t>("y", batch);
    auto yh = Kokkos::create_mirror_view(y);
    for (int b = 0; b < batch; ++b) yh(b) = b % 3;
    Kokkos::deep_copy(y, yh);
    dlogits = kbnn::View2<double>("dlogits", batch, 3);
    correct = kbnn::View1<double>("correct", batch);
  }

  // Negative ELBO of the batch: mean NLL + kl_scale * KL. Fills dlogits.
  double loss() {
    const auto logits = model->forward(kbnn::Matrix<const double>(x.data(), batch, 72), ctx);
    const auto sums = kbnn::softmax_cross_entropy<double>(
        logits, y, 1.0 / batch, kbnn::Matrix<double>(dlogits.data(), batch, 3), correct);
    return sums.nll / batch + kl_scale * kbnn::kl_divergence(model->parameters(), prior_sigma);
  }

  std::vector<double> analytic_gradient() {
    auto& store = model->parameters();
    store.zero_gradients();
    loss();
    model->backward(kbnn::Matrix<const double>(dlogits.data(), batch, 3));
    kbnn::add_kl_gradient(store, prior_sigma, kl_scale);
    return kbnn::test::to_host(store.gradients());
  }

  double finite_difference(std::size_t i) {
    return kbnn::test::central_difference(model->parameters().values(), i, [&] { return loss(); });
  }
};

void check_model_gradient(Problem& p) {
  const auto grad = p.analytic_gradient();
  const std::size_t n = grad.size();
  int checked = 0;
  for (std::size_t i = 0; i < n; i += 1 + n / 150, ++checked) {
    const double fd = p.finite_difference(i);
    INFO("parameter " << i << " of " << n << ": analytic " << grad[i] << ", FD " << fd);
    CHECK(std::abs(grad[i] - fd) <= 1e-6 * std::max(1.0, std::abs(fd)));
  }
  CHECK(checked > 100);
}

}  // namespace

TEST_CASE("Whole-model ELBO gradient matches finite differences", "[model][gradient]") {
  Problem p({"conv2d out=3 kernel=3 padding=1 estimator=flipout", "relu", "maxpool2d size=2",
             "conv2d out=4 kernel=2 estimator=reparam", "relu", "flatten",
             "dense out=6 estimator=flipout", "relu", "dense out=3 estimator=reparam"});
  check_model_gradient(p);
}

TEST_CASE("Whole-model gradient with local_reparam and deterministic layers",
          "[model][gradient]") {
  Problem p({"conv2d out=3 kernel=3 padding=1 estimator=local_reparam", "relu",
             "maxpool2d size=2", "conv2d out=4 kernel=2 estimator=deterministic", "relu",
             "flatten", "dense out=6 estimator=local_reparam", "relu",
             "dense out=3 estimator=deterministic"});
  check_model_gradient(p);
}

TEST_CASE("Whole-model gradient of a 1-D CNN on signals, every estimator", "[model][gradient]") {
  Problem p({"conv1d out=3 kernel=3 padding=1 estimator=flipout", "relu", "maxpool1d size=2",
             "conv1d out=4 kernel=3 stride=2 estimator=local_reparam", "relu", "flatten",
             "dense out=6 estimator=reparam", "relu", "dense out=3 estimator=deterministic"},
            kbnn::Shape{1, 18, 4});
  check_model_gradient(p);
}

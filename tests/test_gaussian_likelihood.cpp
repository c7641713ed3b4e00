// The regression likelihoods (train/gaussian_nll.hpp, layers/noise_variance.hpp): the
// NLL against -log N(y; mu, sigma^2) written out, its gradients with respect to the mean
// and the log-variance against central finite differences (also past the log-variance's
// bound, train/log_variance_bound.hpp, where in float the mean kept no gradient before
// it), and whole models with either
// Gaussian likelihood and every estimator, the learned noise variance included, against
// finite differences of the negative ELBO.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "app/deck.hpp"
#include "model/build_model.hpp"
#include "train/gaussian_nll.hpp"
#include "train/kl_divergence.hpp"
#include "train/log_variance_bound.hpp"

#include <cmath>
#include <string>

namespace {

constexpr double pi = 3.14159265358979323846;

// Rows of (means, log-variances) and targets, and what gaussian_nll needs besides.
struct LossCase {
  int rows = 4, targets = 2;
  kbnn::View2<double> out, y, dout;
  kbnn::View1<double> scale, squared_error;
  LossCase() {
    out = kbnn::test::device_matrix(kbnn::test::random_values(rows * 2 * targets, 7, -1.2, 1.2),
                                    rows, 2 * targets);
    y = kbnn::test::device_matrix(kbnn::test::random_values(rows * targets, 8, -2, 2), rows, targets);
    dout = kbnn::View2<double>("dout", rows, 2 * targets);
    scale = kbnn::View1<double>("scale", targets);
    auto s = Kokkos::create_mirror_view(scale);
    s(0) = 2.0;
    s(1) = 0.5;
    Kokkos::deep_copy(scale, s);
    squared_error = kbnn::View1<double>("se", rows);
  }
  kbnn::LossSums sums() {
    return kbnn::gaussian_nll<double>(out, y, scale, 1.0 / rows, dout, squared_error);
  }
};

}  // namespace

TEST_CASE("Gaussian NLL is -log N(y; mu, exp(s)); squared errors in the targets' units", "[train]") {
  LossCase c;
  const kbnn::LossSums sums = c.sums();
  const auto out = kbnn::test::to_host(c.out), y = kbnn::test::to_host(c.y);
  double nll = 0, error = 0;
  const double scale[2] = {2.0, 0.5};
  for (int b = 0; b < c.rows; ++b)
    for (int t = 0; t < c.targets; ++t) {
      const double mu = out[b * 4 + t], var = std::exp(out[b * 4 + 2 + t]), r = y[b * 2 + t] - mu;
      nll -= std::log(std::exp(-r * r / (2 * var)) / std::sqrt(2 * pi * var));
      error += r * r * scale[t] * scale[t];
    }
  CHECK(sums.nll == Approx(nll).epsilon(1e-12));
  CHECK(sums.correct == Approx(error).epsilon(1e-12));
}

TEST_CASE("Gaussian NLL gradients in the mean and the log-variance match finite differences",
          "[train][gradient]") {
  LossCase c;
  c.sums();
  const auto analytic = kbnn::test::to_host(c.dout);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c.out);
  const auto mean_nll = [&] {
    Kokkos::deep_copy(c.out, host);
    return c.sums().nll / c.rows;
  };
  for (int b = 0; b < c.rows; ++b)
    for (int k = 0; k < 2 * c.targets; ++k) {
      const double saved = host(b, k), h = 1e-6;
      host(b, k) = saved + h;
      const double up = mean_nll();
      host(b, k) = saved - h;
      const double down = mean_nll();
      host(b, k) = saved;
      const double fd = (up - down) / (2 * h);
      INFO("row " << b << (k < c.targets ? " mean " : " log-variance ") << k % c.targets);
      CHECK(analytic[b * 4 + k] == Approx(fd).epsilon(1e-7).margin(1e-9));
    }
}

TEST_CASE("The log-variance bound: the identity up to |s| = 40, then a bend towards 50",
          "[train]") {
  // Where models live the bits stay: float and double alike.
  for (const double v : {-40.0, -17.25, -1e-30, 0.0, 1e-7, 3.7, 39.999, 40.0}) {
    CHECK(kbnn::bounded_log_variance(v) == v);
    CHECK(kbnn::bounded_log_variance(float(v)) == float(v));
    CHECK(kbnn::bounded_log_variance_slope(v) == 1.0);
  }
  // Beyond: 40 + d / (1 + d / 10) for d = |s| - 40, odd, rising, below 50.
  CHECK(kbnn::bounded_log_variance(188.0) == Approx(40 + 148 / 15.8).epsilon(1e-15));
  CHECK(kbnn::bounded_log_variance(-45.0) == Approx(-(40 + 5 / 1.5)).epsilon(1e-15));
  double last = 40;
  for (const double v : {40.001, 41.0, 50.0, 188.0, 800.0, 1e6, 1e12}) {
    const double b = kbnn::bounded_log_variance(v);
    INFO("s = " << v);
    CHECK(b > last);
    CHECK(b < 50);
    CHECK(kbnn::bounded_log_variance(-v) == -b);
    const double h = 1e-4 * (v - 40);
    if (v < 1e4)  // further out the slope (1e-22 at 1e12) is below the difference's rounding
      CHECK(kbnn::bounded_log_variance_slope(v) ==
            Approx((kbnn::bounded_log_variance(v + h) - kbnn::bounded_log_variance(v - h)) /
                   (2 * h))
                .epsilon(1e-6));
    last = b;
  }
  CHECK(kbnn::bounded_log_variance(40 + 1e-9) == Approx(40 + 1e-9).epsilon(1e-15));  // no step
  CHECK(kbnn::bounded_log_variance(3e38f) == 50.0f);  // float's largest: the bound, rounded
}

TEST_CASE("Past the bound: the NLL of the bounded variance, gradients by finite differences, "
          "and in float the mean keeps a gradient",
          "[train][gradient]") {
  LossCase c;
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c.out);
  const auto y = kbnn::test::to_host(c.y);
  // Below -40 the precision is e^40 and more: those rows' means sit on their targets,
  // or the sum would be too large for finite differences to see the other terms.
  const double far[4][2] = {{45, 188}, {41, 800}, {-47, 0.3}, {-120, 60}};
  for (int b = 0; b < c.rows; ++b)
    for (int t = 0; t < c.targets; ++t) {
      host(b, c.targets + t) = far[b][t];
      if (far[b][t] < 0) host(b, t) = y[b * 2 + t];
    }
  Kokkos::deep_copy(c.out, host);
  const kbnn::LossSums sums = c.sums();
  double nll = 0;
  for (int b = 0; b < c.rows; ++b)
    for (int t = 0; t < c.targets; ++t) {
      const double s = kbnn::bounded_log_variance(far[b][t]), r = y[b * 2 + t] - host(b, t);
      nll += 0.5 * std::log(2 * pi) + 0.5 * s + 0.5 * r * r * std::exp(-s);
    }
  CHECK(sums.nll == Approx(nll).epsilon(1e-12));  // 800 alone would add 400
  const auto analytic = kbnn::test::to_host(c.dout);
  const auto mean_nll = [&] {
    Kokkos::deep_copy(c.out, host);
    return c.sums().nll / c.rows;
  };
  for (int b = 0; b < c.rows; ++b)
    for (int k = 0; k < 2 * c.targets; ++k) {
      if (k < c.targets && far[b][k] < 0) continue;  // a mean on its target, precision e^48
      const double saved = host(b, k), h = 1e-6;
      host(b, k) = saved + h;
      const double up = mean_nll();
      host(b, k) = saved - h;
      const double down = mean_nll();
      host(b, k) = saved;
      INFO("row " << b << (k < c.targets ? " mean " : " log-variance ") << k % c.targets);
      // The margin: the sum's rounding over 2h (its terms reach 400 nats).
      CHECK(analytic[b * 4 + k] == Approx((up - down) / (2 * h)).epsilon(1e-6).margin(1e-8));
    }
  // float: exp(-188) is 0, which left the mean no gradient; exp(-bound(188)) is 3.6e-22.
  const kbnn::View2<float> out("out", 1, 2), target("y", 1, 1), dout("dout", 1, 2);
  Kokkos::deep_copy(Kokkos::subview(out, 0, 1), 188.0f);
  Kokkos::deep_copy(target, 2.0f);
  kbnn::View1<double> scale("scale", 1);
  Kokkos::deep_copy(scale, 1.0);
  kbnn::View1<double> squared_error("se", 1);
  kbnn::gaussian_nll<float>(out, target, scale, 1.0f, dout, squared_error);
  const auto d = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dout);
  CHECK(d(0, 0) == Approx(-2 * std::exp(-(40 + 148 / 15.8))).epsilon(1e-5));
  CHECK(d(0, 1) == Approx(0.5 / (15.8 * 15.8)).epsilon(1e-5));
}

namespace {

// A small regression network (5 features, 2 targets) with the negative ELBO as loss.
struct RegressionProblem {
  std::unique_ptr<kbnn::Sequential<double>> model;
  kbnn::View2<double> x, y, dout;
  kbnn::View1<double> scale, squared_error;
  kbnn::PassContext ctx{11, 3, 5, true};
  double prior_sigma = 0.8, kl_scale = 1.0 / 40;
  int batch = 6, targets = 2;

  RegressionProblem(kbnn::Likelihood likelihood, kbnn::Estimator estimator) {
    kbnn::ModelConfig config;
    config.likelihood = likelihood;
    const std::string e = std::string(" estimator=") + kbnn::word_of(estimator);
    const int last = likelihood == kbnn::Likelihood::gaussian ? targets : 2 * targets;
    for (const std::string& line :
         {"dense out=7" + e, std::string("relu"), "dense out=" + std::to_string(last) + e})
      config.layers.push_back(kbnn::parse_layer(line));
    config.init_rho_mean = -1.5;
    model = kbnn::build_model<double>(config, kbnn::Shape{1, 1, 5});
    model->finalize(5, batch);
    // Move the noise variance off its start (0) so its gradient is no special case.
    auto& store = model->parameters();
    auto values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), store.values());
    for (const auto& block : store.blocks())
      if (block.tensor() == "log_variance")
        for (std::size_t i = 0; i < block.count; ++i) values(block.offset + i) = -0.4 + 0.3 * i;
    Kokkos::deep_copy(store.values(), values);
    x = kbnn::test::device_matrix(kbnn::test::random_values(batch * 5, 21), batch, 5);
    y = kbnn::test::device_matrix(kbnn::test::random_values(batch * targets, 22), batch, targets);
    dout = kbnn::View2<double>("dout", batch, 2 * targets);
    scale = kbnn::View1<double>("scale", targets);
    Kokkos::deep_copy(scale, 1.0);
    squared_error = kbnn::View1<double>("se", batch);
  }

  double loss() {
    const auto out = model->forward(kbnn::Matrix<const double>(x.data(), batch, 5), ctx);
    const auto sums = kbnn::gaussian_nll<double>(out, y, scale, 1.0 / batch, dout, squared_error);
    return sums.nll / batch + kl_scale * kbnn::kl_divergence(model->parameters(), prior_sigma);
  }

  std::vector<double> analytic_gradient() {
    auto& store = model->parameters();
    store.zero_gradients();
    loss();
    model->backward(kbnn::Matrix<const double>(dout.data(), batch, 2 * targets));
    kbnn::add_kl_gradient(store, prior_sigma, kl_scale);
    return kbnn::test::to_host(store.gradients());
  }

  double finite_difference(std::size_t i) {
    return kbnn::test::central_difference(model->parameters().values(), i, [&] { return loss(); });
  }
};

}  // namespace

TEST_CASE("Regression ELBO gradients, both likelihoods and every estimator, match finite "
          "differences", "[model][gradient]") {
  for (const kbnn::Likelihood likelihood :
       {kbnn::Likelihood::gaussian, kbnn::Likelihood::gaussian_heteroscedastic}) {
    for (const kbnn::Estimator estimator :
         {kbnn::Estimator::reparam, kbnn::Estimator::flipout, kbnn::Estimator::local_reparam,
          kbnn::Estimator::deterministic}) {
      RegressionProblem p(likelihood, estimator);
      const auto grad = p.analytic_gradient();
      bool noise_checked = false;
      for (const auto& block : p.model->parameters().blocks()) {
        const bool noise = block.tensor() == "log_variance";
        noise_checked |= noise;
        for (std::size_t i = block.offset; i < block.offset + block.count; ++i) {
          const double fd = p.finite_difference(i);
          INFO(kbnn::word_of(likelihood) << ", " << kbnn::word_of(estimator) << ": " << block.name
                                         << " element " << i - block.offset);
          CHECK(std::abs(grad[i] - fd) <= 1e-6 * std::max(1.0, std::abs(fd)));
        }
      }
      // The learned noise exists exactly for the homoscedastic likelihood.
      CHECK(noise_checked == (likelihood == kbnn::Likelihood::gaussian));
    }
  }
}

TEST_CASE("The noise layer appends the learned log-variance and sums its gradient over rows",
          "[layers]") {
  RegressionProblem p(kbnn::Likelihood::gaussian, kbnn::Estimator::deterministic);
  const auto out = kbnn::test::to_host(
      p.model->forward(kbnn::Matrix<const double>(p.x.data(), p.batch, 5), p.ctx));
  for (int b = 0; b < p.batch; ++b) {
    CHECK(out[b * 4 + 2] == Approx(-0.4));
    CHECK(out[b * 4 + 3] == Approx(-0.1));
  }
  CHECK(p.model->layers().back()->name() == "noise_3");
  CHECK(p.model->output_shape().size() == 4);
}

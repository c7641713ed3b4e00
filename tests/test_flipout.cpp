// Flipout and reparameterization against their analytic output distribution:
// for out_j = sum_i x_i w_ji + b_j with w_ji ~ N(mu_ji, sigma_ji^2) independent,
//   E[out_j] = sum_i x_i mu_ji + b_j,   Var[out_j] = sum_i x_i^2 sigma_ji^2,
// whichever estimator draws the weights (Flipout's random signs leave both unchanged).
#include "catch.hpp"
#include "layer_harness.hpp"

#include "layers/dense.hpp"

#include <cmath>

using kbnn::test::LayerUnderTest;

namespace {

struct Analytic {
  std::vector<double> mean, variance;
};

// E and Var of each output from the store's mu, rho and bias, computed here on the host.
Analytic analytic_moments(const LayerUnderTest& t, int in, int out) {
  const auto p = kbnn::test::to_host(t.store.values());
  const std::size_t n = t.store.gaussian_count();
  Analytic a{std::vector<double>(out), std::vector<double>(out)};
  for (int j = 0; j < out; ++j) {
    a.mean[j] = p[2 * n + j];  // point-estimate bias after all mu and rho
    for (int i = 0; i < in; ++i) {
      const double mu = p[j * in + i], rho = p[n + j * in + i];
      const double sigma = std::log1p(std::exp(rho));
      a.mean[j] += t.x[i] * mu;
      a.variance[j] += t.x[i] * t.x[i] * sigma * sigma;
    }
  }
  return a;
}

}  // namespace

TEST_CASE("Dense output mean and variance match the analytic values", "[layers][flipout]") {
  const int in = 6, out = 3, passes = 20000;
  for (auto estimator : {kbnn::Estimator::flipout, kbnn::Estimator::reparam}) {
    DYNAMIC_SECTION("estimator " << int(estimator)) {
      kbnn::BayesOptions options;
      options.estimator = estimator;
      LayerUnderTest t(std::make_unique<kbnn::Dense<double>>("dense", 0, in, out, options), 1, in);
      t.set_rho(-1.0);
      const Analytic a = analytic_moments(t, in, out);

      std::vector<double> sum(out, 0), sum_sq(out, 0);
      for (int pass = 0; pass < passes; ++pass) {
        t.ctx.pass = std::uint32_t(pass);
        const auto y = t.forward_output();
        for (int j = 0; j < out; ++j) {
          sum[j] += y[j];
          sum_sq[j] += y[j] * y[j];
        }
      }
      for (int j = 0; j < out; ++j) {
        const double mean = sum[j] / passes;
        const double variance = sum_sq[j] / passes - mean * mean;
        INFO("output " << j << ": mean " << mean << " (analytic " << a.mean[j] << "), variance "
                       << variance << " (analytic " << a.variance[j] << ")");
        // Mean: within 5 standard errors sqrt(Var / N).
        CHECK(std::abs(mean - a.mean[j]) < 5 * std::sqrt(a.variance[j] / passes));
        // Variance of a Gaussian sample variance is 2 sigma^4 / N: 5 of those is ~5%.
        CHECK(std::abs(variance - a.variance[j]) < 5 * a.variance[j] * std::sqrt(2.0 / passes));
      }
    }
  }
}

TEST_CASE("Flipout with sigma -> 0 is the deterministic layer", "[layers][flipout]") {
  const int in = 5, out = 4, batch = 3;
  LayerUnderTest t(std::make_unique<kbnn::Dense<double>>("dense", 0, in, out, kbnn::BayesOptions{}),
                   batch, in);
  t.set_rho(-40.0);  // softplus(-40) ~ 4e-18
  const auto p = kbnn::test::to_host(t.store.values());
  const std::size_t n = t.store.gaussian_count();
  const auto y = t.forward_output();
  t.ctx.sample = false;
  const auto y_mean = t.forward_output();
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < out; ++j) {
      double expected = p[2 * n + j];
      for (int i = 0; i < in; ++i) expected += t.x[b * in + i] * p[j * in + i];
      CHECK(y[b * out + j] == Approx(expected).epsilon(1e-12));
      CHECK(y_mean[b * out + j] == Approx(expected).epsilon(1e-12));
    }
}

// Local reparameterization (Kingma, Salimans & Welling 2015): given its input, each
// output is N(x mu + b, sum_k x_k^2 sigma_k^2), drawn independently for every output
// element. Checked here against those closed forms over many draws, for Dense and for
// Conv2d (whose outputs at different positions must be independent too), and the
// noise's keying by global example index, which makes training rank-count invariant.
#include "catch.hpp"
#include "layer_harness.hpp"

#include "core/math.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"

#include <cmath>

using kbnn::test::LayerUnderTest;

namespace {

kbnn::BayesOptions local_reparam() {
  kbnn::BayesOptions o;
  o.estimator = kbnn::Estimator::local_reparam;
  return o;
}

// Host copies of the layer's kernel mu, sigma (block 0) and point bias (block 1).
struct Parameters {
  std::vector<double> mu, sigma, bias;
};

Parameters parameters(const kbnn::ParameterStore<double>& store) {
  Parameters p;
  p.mu = kbnn::test::to_host(store.mu(0));
  for (double rho : kbnn::test::to_host(store.rho(0))) p.sigma.push_back(kbnn::math::softplus(rho));
  p.bias = kbnn::test::to_host(store.point(1));
  return p;
}

// Sample moments of outputs j over the batch rows; out is (batch, n) row-major.
struct Moments {
  double mean, variance;
};
Moments moments(const std::vector<double>& out, std::size_t n, std::size_t j) {
  const std::size_t rows = out.size() / n;
  double sum = 0, sum_sq = 0;
  for (std::size_t r = 0; r < rows; ++r) sum += out[r * n + j];
  const double mean = sum / rows;
  for (std::size_t r = 0; r < rows; ++r) sum_sq += (out[r * n + j] - mean) * (out[r * n + j] - mean);
  return {mean, sum_sq / (rows - 1)};
}

double correlation(const std::vector<double>& out, std::size_t n, std::size_t a, std::size_t b) {
  const std::size_t rows = out.size() / n;
  const Moments ma = moments(out, n, a), mb = moments(out, n, b);
  double c = 0;
  for (std::size_t r = 0; r < rows; ++r) c += (out[r * n + a] - ma.mean) * (out[r * n + b] - mb.mean);
  return c / (rows - 1) / std::sqrt(ma.variance * mb.variance);
}

// Sample mean within 5 standard errors, sample variance within 5 of its standard
// errors (sqrt(2 / (N - 1)) relative, for normal draws).
void check_moments(const Moments& m, double mean, double variance, std::size_t draws,
                   const std::string& what) {
  INFO(what << ": sample mean " << m.mean << " vs " << mean << ", sample variance "
            << m.variance << " vs " << variance);
  REQUIRE(variance > 0);
  CHECK(std::abs(m.mean - mean) < 5 * std::sqrt(variance / draws));
  CHECK(std::abs(m.variance / variance - 1) < 5 * std::sqrt(2.0 / (draws - 1)));
}

}  // namespace

TEST_CASE("Local reparameterization: Dense outputs have the analytic mean and variance",
          "[layers][local_reparam]") {
  const int in = 5, out = 3, draws = 4000;
  LayerUnderTest t(std::make_unique<kbnn::Dense<double>>("dense", 2, in, out, local_reparam()),
                   draws, in);
  t.set_rho(-1.0);
  // Every row is the same input x, so the rows are draws of one output distribution.
  const auto x = kbnn::test::random_values(in, 3);
  for (int r = 0; r < draws; ++r)
    for (int k = 0; k < in; ++k) t.x[std::size_t(r) * in + k] = x[k];
  const Parameters p = parameters(t.store);
  const auto y = t.forward_output();
  for (int o = 0; o < out; ++o) {
    double mean = p.bias[o], variance = 0;
    for (int k = 0; k < in; ++k) {
      mean += x[k] * p.mu[o * in + k];
      variance += x[k] * x[k] * p.sigma[o * in + k] * p.sigma[o * in + k];
    }
    check_moments(moments(y, out, o), mean, variance, draws, "output " + std::to_string(o));
  }
  // One draw per output element: different outputs of a row are independent.
  CHECK(std::abs(correlation(y, out, 0, 1)) < 5 / std::sqrt(double(draws)));
  // The posterior mean pass draws nothing.
  t.ctx.sample = false;
  const auto mean_pass = t.forward_output();
  for (int o = 0; o < out; ++o) {
    double mean = p.bias[o];
    for (int k = 0; k < in; ++k) mean += x[k] * p.mu[o * in + k];
    CHECK(mean_pass[o] == Approx(mean).epsilon(1e-12));
  }
}

TEST_CASE("Local reparameterization: Conv2d outputs have the analytic mean and variance",
          "[layers][local_reparam]") {
  // 4x4x2 images, 3x3 kernel, stride 1, no padding: 2x2 positions, 3 output channels.
  const int H = 4, W = 4, C = 2, O = 3, k = 3, draws = 3000;
  const int out_h = H - k + 1, out_w = W - k + 1, n_out = out_h * out_w * O;
  LayerUnderTest t(std::make_unique<kbnn::Conv2d<double>>("conv", 1, kbnn::Shape{H, W, C}, O, k,
                                                          1, 0, local_reparam()),
                   draws, H * W * C);
  t.set_rho(-1.0);
  const auto image = kbnn::test::random_values(H * W * C, 5);
  for (int r = 0; r < draws; ++r)
    for (int i = 0; i < H * W * C; ++i) t.x[std::size_t(r) * H * W * C + i] = image[i];
  const Parameters p = parameters(t.store);
  const auto y = t.forward_output();
  for (int oy = 0; oy < out_h; ++oy)
    for (int ox = 0; ox < out_w; ++ox)
      for (int o = 0; o < O; ++o) {
        // Kernel (out, kh, kw, in) over the NHWC patch at (oy, ox).
        double mean = p.bias[o], variance = 0;
        for (int dy = 0; dy < k; ++dy)
          for (int dx = 0; dx < k; ++dx)
            for (int c = 0; c < C; ++c) {
              const double v = image[((oy + dy) * W + ox + dx) * C + c];
              const std::size_t w = ((std::size_t(o) * k + dy) * k + dx) * C + c;
              mean += v * p.mu[w];
              variance += v * v * p.sigma[w] * p.sigma[w];
            }
        const std::size_t j = (std::size_t(oy) * out_w + ox) * O + o;
        check_moments(moments(y, n_out, j), mean, variance, draws, "output " + std::to_string(j));
      }
  // Positions draw their own noise: one channel at two positions is uncorrelated.
  CHECK(std::abs(correlation(y, n_out, 0, O)) < 5 / std::sqrt(double(draws)));
}

TEST_CASE("Local reparameterization noise is keyed by the global example index",
          "[layers][local_reparam]") {
  // Rows 2..5 of a 6-example batch, passed alone with first_example = 2 (as a rank
  // holding that shard would), get the same outputs.
  const kbnn::Shape in{5, 5, 2};
  const auto make = [&](int batch) {
    return std::make_unique<LayerUnderTest>(
        std::make_unique<kbnn::Conv2d<double>>("conv", 1, in, 4, 3, 1, 1, local_reparam()), batch,
        in.size());
  };
  auto whole = make(6), shard = make(4);
  whole->set_rho(-1.0);
  shard->set_rho(-1.0);
  const std::size_t row = in.size();
  shard->x.assign(whole->x.begin() + 2 * row, whole->x.end());
  shard->ctx.first_example = whole->ctx.first_example + 2;
  const auto all = whole->forward_output(), part = shard->forward_output();
  const std::size_t per_example = all.size() / 6;
  REQUIRE(part.size() == 4 * per_example);
  for (std::size_t i = 0; i < part.size(); ++i) CHECK(part[i] == all[2 * per_example + i]);
  // A different step draws different noise.
  shard->ctx.pass += 1;
  CHECK(shard->forward_output() != part);
}

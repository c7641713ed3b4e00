// The regression predictive (uq/monte_carlo.hpp, uq/regression_predictive.hpp): the
// mixture's mean and its variance split into aleatoric and epistemic parts, and its
// log-density, on a hand-made case computed here in long double in the targets' units,
// and past the log-variance's bound, where it once overflowed into variances of inf;
// the metrics' coverage, widths and RMSE on hand-picked errors; the intervals' levels
// against draws from the Gaussian they describe.
#include "catch.hpp"

#include "uq/monte_carlo.hpp"
#include "train/log_variance_bound.hpp"
#include "uq/regression_predictive.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

constexpr long double pi = 3.141592653589793238462643383279503L;

long double normal_density(long double y, long double mean, long double variance) {
  return std::exp(-(y - mean) * (y - mean) / (2 * variance)) / std::sqrt(2 * pi * variance);
}

}  // namespace

TEST_CASE("Regression predictive: mean, aleatoric + epistemic variance and mixture NLL by hand",
          "[uq]") {
  // 2 rows, 2 targets, 3 passes; the network's numbers (standardized units): mu, then s.
  const double out[2][3][4] = {{{0.5, -1.0, -0.2, 0.3}, {0.9, -0.4, 0.1, -0.5}, {0.1, -0.7, -1.0, 0.0}},
                               {{-1.5, 2.0, 0.4, 0.4}, {-1.1, 2.6, 0.6, -0.2}, {-2.0, 1.8, 0.2, 0.1}}};
  const float y[2][2] = {{0.7f, -0.9f}, {-1.2f, 2.2f}};
  kbnn::Standardization s;
  s.target_mean = {10.0, -1.0};
  s.target_std = {2.0, 0.5};

  kbnn::Dataset d;
  d.count = 2;
  d.height = d.width = d.channels = 1;
  d.float_features = true;
  d.values = {0, 0};
  d.target_dim = 2;
  d.targets = {y[0][0], y[0][1], y[1][0], y[1][1]};
  const kbnn::DeviceDataset data = kbnn::to_device(d);
  kbnn::PassOutputs outputs("outputs", 2, 3, 4);
  auto host = Kokkos::create_mirror_view(outputs);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) host(i, j, k) = out[i][j][k];
  Kokkos::deep_copy(outputs, host);
  kbnn::RegressionSums sums(2, 2);
  kbnn::add_stored(outputs, data, 0, sums);
  const kbnn::RegressionPredictions p = kbnn::finish(sums, data, 0, s);
  REQUIRE(p.samples == 3);

  for (int i = 0; i < 2; ++i) {
    long double mixture = 0;  // (1/S) sum_s prod_t N(Y_t; M_st, V_st), targets' units
    for (int j = 0; j < 3; ++j) {
      long double product = 1;
      for (int t = 0; t < 2; ++t)
        product *= normal_density(y[i][t] * s.target_std[t] + s.target_mean[t],
                                  out[i][j][t] * s.target_std[t] + s.target_mean[t],
                                  std::exp((long double)out[i][j][2 + t]) * s.target_std[t] *
                                      s.target_std[t]);
      mixture += product / 3;
    }
    CHECK(p.nll[i] == Approx(double(-std::log(mixture))).epsilon(1e-12));
    for (int t = 0; t < 2; ++t) {
      const long double scale = s.target_std[t];
      long double mean = 0, aleatoric = 0, epistemic = 0;
      for (int j = 0; j < 3; ++j) {
        mean += (out[i][j][t] * scale + s.target_mean[t]) / 3;
        aleatoric += std::exp((long double)out[i][j][2 + t]) * scale * scale / 3;
      }
      for (int j = 0; j < 3; ++j) {
        const long double d = out[i][j][t] * scale + s.target_mean[t] - mean;
        epistemic += d * d / 3;
      }
      const int at = i * 2 + t;
      INFO("row " << i << ", target " << t);
      CHECK(p.mean[at] == Approx(double(mean)).epsilon(1e-6));
      CHECK(p.aleatoric[at] == Approx(double(aleatoric)).epsilon(1e-6));
      CHECK(p.epistemic[at] == Approx(double(epistemic)).epsilon(1e-6));
      CHECK(p.std[at] == Approx(double(std::sqrt(aleatoric + epistemic))).epsilon(1e-6));
      CHECK(p.target[at] == Approx(y[i][t] * scale + s.target_mean[t]).epsilon(1e-6));
    }
  }
}

TEST_CASE("Regression predictive: log-variances far past the bound give finite variances at it",
          "[uq]") {
  // One target, 2 rows, 2 passes: log-variances 188 (exp: 3e81, inf as a float) and 800
  // (inf even in double), and an ordinary row. Targets' std 77, as diabetes'.
  const double s_of[2][2] = {{188, 800}, {0.5, -1.0}};
  kbnn::Standardization st;
  st.target_mean = {152};
  st.target_std = {77};
  kbnn::Dataset d;
  d.count = 2;
  d.height = d.width = d.channels = 1;
  d.float_features = true;
  d.values = {0, 0};
  d.target_dim = 1;
  d.targets = {0.3f, -0.2f};
  const kbnn::DeviceDataset data = kbnn::to_device(d);
  kbnn::PassOutputs outputs("outputs", 2, 2, 2);
  auto host = Kokkos::create_mirror_view(outputs);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      host(i, j, 0) = 0.1 * j;
      host(i, j, 1) = s_of[i][j];
    }
  Kokkos::deep_copy(outputs, host);
  kbnn::RegressionSums sums(2, 1);
  kbnn::add_stored(outputs, data, 0, sums);
  const kbnn::RegressionPredictions p = kbnn::finish(sums, data, 0, st);
  const double square = 77.0 * 77.0;
  const double far = (std::exp(kbnn::bounded_log_variance(188.0)) +
                      std::exp(kbnn::bounded_log_variance(800.0))) / 2 * square;
  CHECK(p.aleatoric[0] == Approx(far).epsilon(1e-6));  // 1.5e25, below e^50 * 77^2
  CHECK(std::isfinite(p.std[0]));
  CHECK(std::isfinite(p.nll[0]));
  CHECK(p.aleatoric[1] == Approx((std::exp(0.5) + std::exp(-1.0)) / 2 * square).epsilon(1e-6));
  CHECK(p.bounded == 1);  // the first row only
  const kbnn::RegressionMetrics m =
      kbnn::regression_metrics_from_sums(kbnn::regression_metric_sums(p));
  CHECK(std::isfinite(m.mean_std));
  CHECK(std::isfinite(m.width_at(0.95)));
  CHECK(m.bounded == 1);
  // Every pass's Gaussians, as --sample-probabilities writes them.
  const std::vector<float> g = kbnn::sample_gaussians(outputs, st);  // (passes, rows, 2)
  CHECK(g[1] == Approx(std::exp(kbnn::bounded_log_variance(188.0)) * square).epsilon(1e-6));
  CHECK(g[2 * 2 + 1] == Approx(std::exp(kbnn::bounded_log_variance(800.0)) * square).epsilon(1e-6));
}

TEST_CASE("Regression metrics: coverage and width per level, RMSE, NLL, on hand-picked errors",
          "[uq]") {
  kbnn::RegressionPredictions p;
  p.count = 4;
  p.targets = 1;
  p.samples = 1;
  p.mean = {0, 0, 0, 0};
  p.std = {1, 1, 1, 1};
  p.aleatoric = {0.75, 0.75, 0.75, 0.75};
  p.epistemic = {0.25, 0.25, 0.25, 0.25};
  p.target = {0.5f, -1.0f, 1.7f, -2.5f};
  p.nll = {1, 2, 3, 6};
  const kbnn::RegressionMetrics m =
      kbnn::regression_metrics_from_sums(kbnn::regression_metric_sums(p));
  CHECK(m.rmse == Approx(std::sqrt((0.25 + 1 + 1.7f * 1.7f + 6.25) / 4)));
  CHECK(m.nll == Approx(3.0));
  CHECK(m.coverage_at(0.5) == Approx(0.25));   // z = 0.674: only 0.5
  CHECK(m.coverage_at(0.9) == Approx(0.5));    // z = 1.645: 0.5 and 1.0
  CHECK(m.coverage_at(0.95) == Approx(0.75));  // z = 1.960: and 1.7
  CHECK(m.width_at(0.95) == Approx(2 * 1.959963984540054));
  CHECK(m.mean_aleatoric == Approx(0.75));
  CHECK(m.mean_epistemic == Approx(0.25));
  // Sums add over ranks: two halves give the whole.
  kbnn::RegressionPredictions a = p, b = p;
  a.count = b.count = 2;
  for (auto* v : {&a.mean, &a.std, &a.aleatoric, &a.epistemic, &a.target}) v->resize(2);
  a.nll.resize(2);
  for (auto [from, to] : {std::pair{&p.mean, &b.mean}, {&p.std, &b.std}, {&p.target, &b.target},
                          {&p.aleatoric, &b.aleatoric}, {&p.epistemic, &b.epistemic}})
    to->assign(from->begin() + 2, from->end());
  b.nll.assign(p.nll.begin() + 2, p.nll.end());
  std::vector<double> sums = kbnn::regression_metric_sums(a);
  const std::vector<double> other = kbnn::regression_metric_sums(b);
  for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += other[i];
  const kbnn::RegressionMetrics halves = kbnn::regression_metrics_from_sums(sums);
  CHECK(halves.rmse == Approx(m.rmse));
  CHECK(halves.coverage == m.coverage);
}

TEST_CASE("Regression metrics: rows without targets (NaN) add only their uncertainty", "[uq]") {
  const float none = std::numeric_limits<float>::quiet_NaN();
  kbnn::RegressionPredictions p;
  p.count = 3;
  p.targets = 2;
  p.samples = 1;
  p.mean = {0, 0, 5, 5, 0, 0};
  p.std = {1, 1, 9, 9, 1, 1};
  p.aleatoric = {0.5, 0.5, 80, 80, 0.5, 0.5};
  p.epistemic = {0.5, 0.5, 1, 1, 0.5, 0.5};
  p.target = {1, -1, none, none, 3, 0};  // row 1 has none: new data
  p.nll = {2, std::nan(""), 4};
  const kbnn::RegressionMetrics m =
      kbnn::regression_metrics_from_sums(kbnn::regression_metric_sums(p));
  CHECK(m.labeled == 2);
  CHECK(m.rmse == Approx(std::sqrt((1 + 1 + 9 + 0) / 4.0)));  // rows 0 and 2
  CHECK(m.nll == Approx(3.0));
  CHECK(m.coverage_at(0.95) == Approx(0.75));  // |error| <= 1.96: all but the 3
  CHECK(m.width_at(0.95) == Approx(2 * 1.959963984540054));
  CHECK(m.mean_std == Approx((4 + 18) / 6.0));  // every row's uncertainty
  CHECK(m.mean_aleatoric == Approx((2 + 160) / 6.0));
  // A set without any targets: the uncertainty, and no number that needs a target.
  for (float& t : p.target) t = none;
  const kbnn::RegressionMetrics unlabeled =
      kbnn::regression_metrics_from_sums(kbnn::regression_metric_sums(p));
  CHECK(unlabeled.labeled == 0);
  CHECK(unlabeled.mean_epistemic == Approx(4 / 6.0));
  for (const double v : {unlabeled.rmse, unlabeled.nll, unlabeled.calibration_error,
                         unlabeled.coverage_at(0.5), unlabeled.width_at(0.95)})
    CHECK(std::isnan(v));
}

TEST_CASE("Interval levels: targets drawn from the predictive Gaussian are covered at each level",
          "[uq]") {
  const int n = 40000;
  kbnn::RegressionPredictions p;
  p.count = n;
  p.targets = 1;
  p.samples = 1;
  std::mt19937_64 generator(5);
  std::normal_distribution<double> normal;
  for (int i = 0; i < n; ++i) {
    const double mean = 0.01 * (i % 97), std = 0.5 + (i % 13) * 0.25;
    p.mean.push_back(float(mean));
    p.std.push_back(float(std));
    p.aleatoric.push_back(float(std * std));
    p.epistemic.push_back(0);
    p.target.push_back(float(mean + std * normal(generator)));
    p.nll.push_back(0);
  }
  const kbnn::RegressionMetrics m =
      kbnn::regression_metrics_from_sums(kbnn::regression_metric_sums(p));
  const auto levels = kbnn::interval_level_values();
  for (int k = 0; k < kbnn::interval_levels; ++k) {
    const double se = std::sqrt(levels[k] * (1 - levels[k]) / n);
    INFO("level " << levels[k]);
    CHECK(std::abs(m.coverage[k] - levels[k]) < 4 * se);
  }
  CHECK(m.calibration_error < 0.01);
}

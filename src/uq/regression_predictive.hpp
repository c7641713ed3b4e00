// The Monte-Carlo predictive of a regression (docs/design.md, "Regression"), from sums
// over the passes (uq/monte_carlo.hpp makes them). Pass s draws weights w_s ~ q(w) and
// gives every target t of a row a Gaussian N(mu_s, sigma_s^2) (the network's mean and
// exp(log-variance), the log-variance bounded: train/log_variance_bound.hpp). The predictive is their equal mixture over the S passes:
//   mean        E[y] = (1/S) sum_s mu_s
//   aleatoric   (1/S) sum_s sigma_s^2       the noise the model sees in the data
//   epistemic   (1/S) sum_s (mu_s - mean)^2  what the weights' uncertainty adds
//   variance    aleatoric + epistemic        (the law of total variance)
// and the log-density of the observed target vector y under the mixture,
//   log p(y|x) = log (1/S) sum_s prod_t N(y_t; mu_s,t, sigma_s,t^2),
// which the NLL metric averages. Everything written or reported is in the targets' own
// units: a standardized model's numbers are scaled back by the training targets' std.
#pragma once

#include "data/standardize.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace kbnn {

// The central intervals of the calibration curve: levels 0.05, 0.10, ..., 0.95. Level p's
// interval is mean +- z_p std with z_p = Phi^-1((1 + p) / 2): the Gaussian with the
// mixture's mean and variance (not the mixture's own quantiles).
constexpr int interval_levels = 19;
std::array<double, interval_levels> interval_level_values();
// z_p of each level (Phi^-1 to double precision).
std::array<double, interval_levels> interval_z_values();

struct RegressionPredictions {
  std::int64_t count = 0;
  int targets = 0;
  std::vector<float> mean;       // (count, targets)
  std::vector<float> std;        // (count, targets): sqrt(aleatoric + epistemic)
  std::vector<float> aleatoric;  // (count, targets): variance, targets' units squared
  std::vector<float> epistemic;  // (count, targets): variance
  std::vector<float> target;     // (count, targets): the observed values; NaN: none
  std::vector<double> nll;       // (count): -log p(y|x) of the mixture, targets' units
  // Rows with a target whose mean sigma_s^2 exceeds e^40 in the network's units: some
  // pass's log-variance went past the linear part of its bound (log_variance_bound.hpp).
  std::int64_t bounded = 0;
  double seconds = 0;            // wall time of the S passes
  int samples = 0;
};

// Over the rows with targets: rmse, nll, calibration_error, coverage and width (NaN in a
// set without any); over every row: the uncertainty's means.
struct RegressionMetrics {
  double labeled = 0;             // rows with targets (a set without them: 0)
  double rmse = 0;                // of the predictive mean, over every row and target
  double nll = 0;                 // mean over rows of -log p(y|x) of the mixture
  double mean_std = 0;            // mean predictive standard deviation
  double mean_aleatoric = 0;      // mean aleatoric variance
  double mean_epistemic = 0;      // mean epistemic variance
  double calibration_error = 0;   // mean over the levels of |observed - expected|
  double bounded = 0;             // rows of RegressionPredictions::bounded, all ranks
  // Per level of interval_level_values(): the fraction of targets inside the interval
  // (the calibration curve) and the interval's mean width.
  std::array<double, interval_levels> coverage{};
  std::array<double, interval_levels> width{};
  // The level p of interval_level_values() nearest `level` (0.5, 0.9, 0.95).
  double coverage_at(double level) const;
  double width_at(double level) const;
};

// Per-row sums on the host, as RegressionSums holds them (uq/monte_carlo.hpp): moments
// (count, 3 T) = [mean of mu_s | sum_s (mu_s - mean)^2 | mean of sigma_s^2] and density
// (count, 2) = [m, sum_s exp(l_s - m)], in the network's units; the rows' targets
// (count, T) in the same units; s undoes any standardization.
RegressionPredictions regression_predictions_from_sums(const double* moments, const double* density,
                                                       const float* targets, std::int64_t count,
                                                       int target_dim, int samples,
                                                       const Standardization& s);

// Sums that ranks add (Communicator::allreduce_sum) before the metrics are made.
std::vector<double> regression_metric_sums(const RegressionPredictions& p);
RegressionMetrics regression_metrics_from_sums(const std::vector<double>& sums);

}  // namespace kbnn

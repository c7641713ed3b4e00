// Monte-Carlo evaluation of a model on one data set over all ranks, in either split
// (docs/design.md, "Prediction"): what `kbnn train` (test set, evaluation during
// training, OOD set), `kbnn predict` and `kbnn prune` score a model with, all through
// the one Monte-Carlo predictor of uq/monte_carlo.hpp.
//   examples: each rank runs all S samples over its shard of the rows, adding each
//             pass into its sums on the device;
//   samples:  each rank runs its share of the S samples over all rows, then the
//             per-sample probabilities move to the rank that owns each row (one
//             all-to-all), which adds them in sample order; for small sets with many
//             samples.
// Both end with every rank holding its shard of rows (Communicator::shard) with all
// S samples, summed over s = 0, 1, ... in order, and every row of every sample is
// computed in the same batches with the same noise (keyed by seed, sample, global
// row), so the two splits give bit-identical predictions, metrics and OOD scores.
#pragma once

#include "parallel/communicator.hpp"
#include "uq/monte_carlo.hpp"
#include "uq/ood.hpp"
#include "uq/regression_ood.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace kbnn {

struct EvalOptions {
  int samples = 10;                 // S, Monte-Carlo passes
  std::int64_t batch = 1000;        // rows per forward pass
  std::uint64_t seed = 0;           // noise key (the model's training seed)
  PredictSplit split = PredictSplit::examples;
  bool keep_samples = false;        // also return every sample's log-probabilities
  double temperature = 1;           // T: each pass gives softmax(logits / T) (classes only)
  std::function<void(double)> progress;  // if set: the fraction of the passes done, now and
                                         // then (core/progress.hpp's ProgressLine)
  bool tempered() const { return temperature != 1; }  // sums keep the untempered apart
};

struct Evaluation {
  Predictions rows;                 // this rank's shard of the rows, all S samples
  std::int64_t first = 0;           // global index of rows' first example
  std::int64_t total = 0;           // examples over all ranks
  // (S, rows.count, classes) if keep_samples, else empty: log p_s(T), in double (a
  // temperature fit needs them where a float probability would underflow to 0)
  std::vector<double> sample_log_probs;
  Metrics metrics;                  // over all rows of all ranks
};

// The rows [begin, end) of a set of `total` examples that this rank must pass to
// evaluate(): its shard for split examples, all of them for split samples.
std::pair<std::int64_t, std::int64_t> rows_to_load(std::int64_t total, PredictSplit split,
                                                   const Communicator& comm);

// Collective: this rank's shard of the rows (Communicator::shard), summed over all S
// passes on the device (what evaluate() finishes); with options.keep_samples and
// `sample_log_probs`, also every pass's log-probabilities, (S, shard rows, classes). An ensemble
// adds each member's sums into its own (uq/ensemble.hpp). `data` as for evaluate().
PredictiveSums predictive_sums(Sequential<Real>& model, const DeviceDataset& data,
                               std::int64_t data_first, std::int64_t total,
                               const EvalOptions& options, const Communicator& comm,
                               std::vector<double>* sample_log_probs = nullptr);

// Collective: the metrics of every rank's rows (metric_sums, reduced over ranks).
Metrics reduced_metrics(const Predictions& rows, const Communicator& comm);

// Collective. `data` holds global rows [data_first, data_first + data.count()) of a
// set of `total`: what rows_to_load says (checked: RuntimeError otherwise).
Evaluation evaluate(Sequential<Real>& model, const DeviceDataset& data, std::int64_t data_first,
                    std::int64_t total, const EvalOptions& options, const Communicator& comm);

// A regression's evaluation (uq/regression_predictive.hpp), in the targets' units.
struct RegressionEvaluation {
  RegressionPredictions rows;       // this rank's shard of the rows, all S samples
  std::int64_t first = 0;           // global index of rows' first example
  std::int64_t total = 0;           // examples over all ranks
  std::vector<float> sample_gaussians;  // (S, rows.count, 2T) if keep_samples, else empty
  RegressionMetrics metrics;        // over all rows of all ranks
};

// Collective: this rank's shard of the rows, every pass of `options` added into a
// regression's sums on the device (what evaluate_regression() finishes); with
// options.keep_samples and `sample_gaussians`, also every pass's Gaussians in the
// targets' units (s undoes the standardization), (S, shard rows, 2T). An ensemble pools
// each member's sums (uq/regression_ensemble.hpp). `data` as for evaluate().
RegressionSums regression_sums(Sequential<Real>& model, const DeviceDataset& data,
                               std::int64_t data_first, std::int64_t total,
                               const EvalOptions& options, const Standardization& s,
                               const Communicator& comm,
                               std::vector<float>* sample_gaussians = nullptr);

// Collective: the regression metrics of every rank's rows (regression_metric_sums,
// reduced over ranks).
RegressionMetrics reduced_regression_metrics(const RegressionPredictions& rows,
                                             const Communicator& comm);

// evaluate() for a model with a Gaussian likelihood: the same rows, passes, noise and
// splits (bit-identical over both); `s` is the data's standardization, undone in the
// results. Collective.
RegressionEvaluation evaluate_regression(Sequential<Real>& model, const DeviceDataset& data,
                                         std::int64_t data_first, std::int64_t total,
                                         const EvalOptions& options, const Standardization& s,
                                         const Communicator& comm);

// Collective: all rows of a per-row score, from each rank's contiguous shard (ranks in
// order, as Communicator::shard) of a set of `total` examples.
std::vector<float> gather_rows(const std::vector<float>& local, std::int64_t total,
                               const Communicator& comm);

// Collective: the OOD scores of all rows (for ood_metrics), from each rank's contiguous shard `local`
// (ranks in order, as Communicator::shard) of a set of `total` examples.
OodScores gather_ood_scores(const Predictions& local, std::int64_t total, const Communicator& comm);

// Collective: each regression OOD score of all rows (for regression_ood_metrics), from
// each rank's scores of its contiguous shard, as gather_ood_scores.
RegressionOodScores gather_regression_ood_scores(const RegressionOodScores& local,
                                                 std::int64_t total, const Communicator& comm);

}  // namespace kbnn

// The rows of the training history: what is logged every log_every steps (HistoryRow,
// /history) and every eval.every_epochs epochs (EvalRow, /history/eval), printed on
// rank 0 and appended to the output file (output/history_fields.hpp says how).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace kbnn {

// One logged step: the /history datasets of the output file.
struct HistoryRow {
  std::int64_t step = 0;
  double epoch = 0;            // fractional: 1.5 = half-way through the second epoch
  double loss = 0;             // negative ELBO per example: nll + beta * KL / N_train
  double nll = 0;              // mean over the examples since the last row
  double kl = 0;               // KL(q || p), summed over all weights, at this step
  double beta = 0;
  double lr = 0;
  double train_accuracy = 0;   // since the last row (NaN for regression)
  double seconds = 0;          // wall time since training started
  double images_per_second = 0;  // since the last row
  // Regression: the training RMSE since the last row, in the targets' units (printed in
  // the progress line; not a /history field). NaN for classes.
  double train_rmse = std::numeric_limits<double>::quiet_NaN();
};

// One evaluation during training: the MC predictive (uq/predictive.hpp) on the
// validation or test set after a whole epoch.
struct EvalRow {
  std::int64_t step = 0;
  double epoch = 0;         // epochs completed (a whole number)
  double accuracy = 0;
  double nll = 0;           // mean -log p(y|x) of the predictive mean
  double ece = 0;           // expected calibration error, 15 bins
  double mean_entropy = 0;  // mean predictive entropy, nats
};

// What the trainer has summed since the last history row. A run stopped between two
// rows keeps it in its checkpoint, each rank's own sums apart, so that a run resumed
// on the same rank count adds in the same order and logs the same next row, bit for
// bit, as an uninterrupted one.
struct TrainingWindow {
  std::vector<double> nll_sum;  // (ranks): each rank's NLL sum over its rows
  std::vector<double> correct;  // (ranks): each rank's count of right predictions
  std::int64_t images = 0;      // examples of the window, all ranks
};

}  // namespace kbnn

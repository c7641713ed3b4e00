// The rows of the training history: what is logged every log_every steps (HistoryRow,
// /history) and every eval.every_epochs epochs (EvalRow, /history/eval), printed on
// rank 0 and appended to the output file.
#pragma once

#include <array>
#include <cstdint>
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
  double train_accuracy = 0;   // since the last row
  double seconds = 0;          // wall time since training started
  double images_per_second = 0;  // since the last row
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

// A double column of a row (an alias: nvcc's front end parenthesises a plain
// pointer-to-member declaration and GCC then warns about the parentheses).
template <class Row>
using RowColumn = double Row::*;

// Each field as the run file (and a checkpoint's copy of the history) stores it.
template <class Row>
struct RowField {
  const char* name;
  const char* units;
  const char* description;
  RowColumn<Row> member;  // nullptr: the int64 `step`
};
using HistoryField = RowField<HistoryRow>;
using EvalField = RowField<EvalRow>;

inline const std::array<HistoryField, 10> history_fields = {{
    {"step", "steps", "optimizer steps completed when the row was logged", nullptr},
    {"epoch", "epochs", "epochs completed, fractional (1.5 = half-way through the second)",
     &HistoryRow::epoch},
    {"loss", "nats/example", "negative ELBO per example: nll + beta * kl / N_train",
     &HistoryRow::loss},
    {"nll", "nats/example", "mean softmax cross-entropy over the examples since the last row",
     &HistoryRow::nll},
    {"kl", "nats", "KL(q || p) summed over all Bayesian weights, at this step",
     &HistoryRow::kl},
    {"beta", "1", "KL weight beta_t of the annealing schedule", &HistoryRow::beta},
    {"lr", "1", "learning rate of the row's last step (train.lr_schedule, with any warm-up)",
     &HistoryRow::lr},
    {"train_accuracy", "1", "fraction of training examples classified right since the last row",
     &HistoryRow::train_accuracy},
    {"seconds", "s", "wall time since training started", &HistoryRow::seconds},
    {"images_per_second", "images/s", "training throughput since the last row, all ranks",
     &HistoryRow::images_per_second},
}};

inline const std::array<EvalField, 6> eval_fields = {{
    {"step", "steps", "optimizer steps completed when the set was evaluated", nullptr},
    {"epoch", "epochs", "epochs completed (a whole number)", &EvalRow::epoch},
    {"accuracy", "1", "fraction whose arg-max of the predictive mean is the label",
     &EvalRow::accuracy},
    {"nll", "nats/example", "mean -log p(y|x) of the Monte-Carlo predictive mean",
     &EvalRow::nll},
    {"ece", "1", "expected calibration error, 15 equal-width confidence bins", &EvalRow::ece},
    {"mean_entropy", "nats", "mean predictive entropy H[p(y|x)]", &EvalRow::mean_entropy},
}};

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

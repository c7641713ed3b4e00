// One row of the training history: what is logged every log_every steps, printed on
// rank 0 and appended to the /history datasets of the output file.
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

// A double column of HistoryRow (an alias: nvcc's front end parenthesises a plain
// pointer-to-member declaration and GCC then warns about the parentheses).
using HistoryColumn = double HistoryRow::*;

// Each field as the run file (and a checkpoint's copy of the history) stores it.
struct HistoryField {
  const char* name;
  const char* units;
  const char* description;
  HistoryColumn member;  // nullptr: the int64 `step`
};

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
    {"lr", "1", "learning rate", &HistoryRow::lr},
    {"train_accuracy", "1", "fraction of training examples classified right since the last row",
     &HistoryRow::train_accuracy},
    {"seconds", "s", "wall time since training started", &HistoryRow::seconds},
    {"images_per_second", "images/s", "training throughput since the last row, all ranks",
     &HistoryRow::images_per_second},
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

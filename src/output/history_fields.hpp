// How the run file and a checkpoint store the history rows (train/history.hpp): one
// 1-D dataset per field, with its units and description.
#pragma once

#include "train/history.hpp"

#include <array>

namespace kbnn {

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

}  // namespace kbnn

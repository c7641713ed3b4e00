// train.early_stop = P: the evaluations during training (eval.every_epochs, on the
// data.validation_fraction rows) decide when training ends and which model a run keeps.
// Training ends after P evaluations in a row without a new lowest NLL, and the run's
// model is the best evaluation's. Everything here follows from the evaluation history,
// which checkpoints hold, so a resumed run decides as the uninterrupted one did.
#pragma once

#include "train/history.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace kbnn {

struct EarlyStopState {
  std::int64_t best_step = -1;  // the step of the evaluation with the lowest NLL; -1: none
  double best_epoch = 0, best_nll = std::numeric_limits<double>::infinity();
  int since_best = 0;           // evaluations after it
};

// The evaluations from the `first` on (a restart whose best model is lost watches only
// its own). Only a strictly lower NLL is a new best (ties keep the earlier model); a NaN
// never is.
inline EarlyStopState early_stop_state(const std::vector<EvalRow>& evaluations,
                                       std::size_t first = 0) {
  EarlyStopState s;
  for (std::size_t i = first; i < evaluations.size(); ++i) {
    const EvalRow& e = evaluations[i];
    if (e.nll < s.best_nll) {
      s = {e.step, e.epoch, e.nll, 0};
    } else {
      ++s.since_best;
    }
  }
  return s;
}

// Whether training with patience P (train.early_stop; 0 = off) ends now.
inline bool early_stop_due(const EarlyStopState& s, int patience) {
  return patience > 0 && s.since_best >= patience;
}

}  // namespace kbnn

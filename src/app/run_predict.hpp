// `kbnn predict MODEL [options]`: Monte-Carlo prediction with a trained model on any
// data set, with OOD evaluation. The driver reads like a recipe: read the model's
// deck and weights, read the data, predict (ranks split the examples or the samples),
// score the OOD set, write the prediction file, report.
#pragma once

#include "core/choices.hpp"
#include "parallel/communicator.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace kbnn {

struct PredictOptions {
  std::string model;   // a run file or a checkpoint: its deck and weights
  std::string output;  // the prediction file; "" = <model without .h5>.predict.h5
  std::string set_name = "test";                // the set's name in the output
  PredictSplit split = PredictSplit::examples;  // what the ranks split
  bool sample_probabilities = false;            // also write probs_samples (S, N, classes)
  // Deck options of the sections data, eval and ood (--data.dir=..., --eval.samples=...),
  // applied over the model's resolved deck.
  std::vector<std::string> overrides;
};

// Runs on all ranks of `comm`; progress goes to `log`. Throws InputError on bad input.
void run_predict(const PredictOptions& options, Communicator& comm, std::ostream& log);

}  // namespace kbnn

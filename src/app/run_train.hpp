// `kbnn train`: the driver, read top to bottom like a recipe: read the data, build
// the model, start from rank 0's initial parameters (or a checkpoint), train, predict
// with Monte-Carlo samples, write the run file, report.
#pragma once

#include "app/deck.hpp"
#include "app/training_state.hpp"
#include "parallel/communicator.hpp"

#include <iosfwd>
#include <string>

namespace kbnn {

enum class RunOutcome {
  finished,  // trained, predicted, wrote everything
  stopped,   // a signal stopped training; the checkpoint holds the state to resume from
};

// Runs the whole job on all ranks of `comm`; progress and results go to `log` (pass
// a stream that discards on ranks other than 0). Throws on any error.
RunOutcome run_train(const RunConfig& config, Communicator& comm, const RestartOptions& restart,
                     std::ostream& log);

// Training FLOPs per example of a model's gemms (forward + backward), for GFLOP/s.
template <class Model>
double training_flops_per_example(const Model& model) {
  double flops = 0;
  bool first = true;
  for (const auto& layer : model.layers()) {
    const double macs = layer->forward_macs();
    if (macs == 0) continue;
    // Forward, weight gradient, and (except for the first layer) the input gradient.
    flops += 2 * macs * (first ? 2 : 3);
    first = false;
  }
  return flops;
}

}  // namespace kbnn

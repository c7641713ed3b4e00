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
  finished,     // trained, predicted, wrote everything
  stopped,      // a signal stopped training; the checkpoint holds the state to resume from
  up_to_date,   // --restart auto on a run that has finished: nothing done, nothing written
  checked,      // --dry-run: the deck and the data checked, nothing trained or written
};

struct TrainOptions {
  RestartOptions restart;
  bool dry_run = false;
  // The command line that continues this run after a stop: printed with exit 75.
  std::string continue_command;
};

// Runs the whole job on all ranks of `comm`; progress and results go to `log` (pass
// a stream that discards on ranks other than 0). Throws on any error; an error in the
// input (data, model, checkpoint, output files) or a divergence is agreed over ranks.
RunOutcome run_train(const RunConfig& config, Communicator& comm, const TrainOptions& options,
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

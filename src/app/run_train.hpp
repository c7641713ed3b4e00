// `kbnn train`: the driver, read top to bottom like a recipe: read the deck, load the
// data, build the model, train, predict with Monte-Carlo samples, report.
#pragma once

#include "app/deck.hpp"

#include <iosfwd>

namespace kbnn {

// Runs the whole job; progress and results go to `log`. Throws on any error.
void run_train(const RunConfig& config, std::ostream& log);

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

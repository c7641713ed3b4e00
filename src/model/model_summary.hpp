// A model as a table for people: each layer's output shape, estimator, weights and
// forward FLOPs per example, and the totals. `kbnn train` prints it before training
// (and with --dry-run), `kbnn info` for a file that holds a model.
#pragma once

#include "core/run_config.hpp"
#include "model/sequential.hpp"

#include <string>

namespace kbnn {

// `model` must be finalized (its parameter blocks laid out); `config` is the deck's
// model it was built from (the layers' estimators). Lines end with '\n'.
std::string model_summary(const Sequential<Real>& model, const ModelConfig& config);

}  // namespace kbnn

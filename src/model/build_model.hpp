// Builds a Sequential model from the deck's layer list, checking that shapes chain.
#pragma once

#include "core/run_config.hpp"
#include "model/sequential.hpp"

#include <memory>

namespace kbnn {

// The options of one Bayesian layer: the model's settings with the layer's estimator.
BayesOptions bayes_options(const ModelConfig& config, Estimator estimator);

// Layers are named "<kind>_<position>" (conv2d_0, relu_1, ...); the position is also
// the layer's key for its noise. Call finalize() on the result.
template <class Scalar>
std::unique_ptr<Sequential<Scalar>> build_model(const ModelConfig& config, Shape input);

}  // namespace kbnn

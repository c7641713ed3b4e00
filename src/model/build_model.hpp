// Builds a Sequential model from the deck's layer list, checking that shapes chain.
#pragma once

#include "core/run_config.hpp"
#include "data/dataset.hpp"
#include "model/sequential.hpp"

#include <memory>

namespace kbnn {

// The options of one Bayesian layer: the model's settings with the layer's estimator.
BayesOptions bayes_options(const ModelConfig& config, Estimator estimator);

// Layers are named "<kind>_<position>" (conv2d_0, relu_1, ...); the position is also
// the layer's key for its noise. With model.likelihood = gaussian a last layer
// "noise_<position>" (layers/noise_variance.hpp) holds the learned noise variance and
// appends it to the deck's outputs. Call finalize() on the result.
template <class Scalar>
std::unique_ptr<Sequential<Scalar>> build_model(const ModelConfig& config, Shape input);

// What is wrong with a model of `outputs` numbers per example (with the noise layer) for
// `data`: the classes, or for a Gaussian likelihood twice the targets (means and
// log-variances); "" if it fits.
std::string output_mismatch(const ModelConfig& config, std::size_t outputs, const Dataset& data);

}  // namespace kbnn

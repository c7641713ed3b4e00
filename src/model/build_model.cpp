#include "model/build_model.hpp"

#include "core/error.hpp"
#include "layers/conv1d.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "layers/flatten.hpp"
#include "layers/maxpool1d.hpp"
#include "layers/maxpool2d.hpp"
#include "layers/noise_variance.hpp"
#include "layers/relu.hpp"

namespace kbnn {

BayesOptions bayes_options(const ModelConfig& config, Estimator estimator) {
  BayesOptions o;
  o.estimator = estimator;
  o.bayesian_bias = config.bayesian_bias;
  o.init_mu_stddev = config.init_mu_stddev;
  o.init_rho_mean = config.init_rho_mean;
  o.init_rho_stddev = config.init_rho_stddev;
  o.init_bias_stddev = config.init_bias_stddev;
  o.noise = config.noise;
  return o;
}

namespace {

// Layer `index` of the model, receiving `in`; named "<kind>_<index>" ("conv2d_0").
template <class Scalar>
std::unique_ptr<Layer<Scalar>> make_layer(const LayerSpec& spec, std::uint32_t index, Shape in,
                                          const ModelConfig& config) {
  const std::string name = std::string(word_of(spec.kind)) + "_" + std::to_string(index);
  const auto bayes = [&] { return bayes_options(config, spec.estimator.value_or(config.estimator)); };
  switch (spec.kind) {
    case LayerKind::conv2d:
      return std::make_unique<Conv2d<Scalar>>(name, index, in, spec.out, spec.kernel, spec.stride,
                                              spec.padding, bayes());
    case LayerKind::conv1d:
      return std::make_unique<Conv1d<Scalar>>(name, index, in, spec.out, spec.kernel, spec.stride,
                                              spec.padding, bayes());
    case LayerKind::dense:
      return std::make_unique<Dense<Scalar>>(name, index, int(in.size()), spec.out, bayes());
    case LayerKind::relu:
      return std::make_unique<ReLU<Scalar>>(name, in);
    case LayerKind::maxpool2d:
      return std::make_unique<MaxPool2d<Scalar>>(name, in, spec.size, spec.stride);
    case LayerKind::maxpool1d:
      return std::make_unique<MaxPool1d<Scalar>>(name, in, spec.size, spec.stride);
    case LayerKind::flatten:
      return std::make_unique<Flatten<Scalar>>(name, in);
  }
  throw RuntimeError(concat("build_model: layer ", index, " has no kind (", int(spec.kind), ")"));
}

}  // namespace

template <class Scalar>
std::unique_ptr<Sequential<Scalar>> build_model(const ModelConfig& config, Shape input) {
  auto model = std::make_unique<Sequential<Scalar>>(input);
  for (std::size_t i = 0; i < config.layers.size(); ++i)
    model->add(make_layer<Scalar>(config.layers[i], std::uint32_t(i), model->output_shape(), config));
  if (config.likelihood == Likelihood::gaussian)
    model->add(std::make_unique<NoiseVariance<Scalar>>(
        "noise_" + std::to_string(config.layers.size()), model->output_shape()));
  return model;
}

std::string output_mismatch(const ModelConfig& config, std::size_t outputs, const Dataset& data) {
  if (!config.regression()) {
    if (outputs == std::size_t(data.num_classes)) return "";
    return concat("the model ends with ", outputs, " outputs but the data has ",
                  data.num_classes, " classes");
  }
  const std::size_t targets = std::size_t(data.target_dim);
  if (outputs == 2 * targets) return "";
  if (config.likelihood == Likelihood::gaussian)
    return concat("the last layer gives ", outputs / 2, " outputs but the data has ", targets,
                  " target(s): with model.likelihood = gaussian it gives one mean per target "
                  "(the learned noise variance is added)");
  return concat("the last layer gives ", outputs, " outputs but the data has ", targets,
                " target(s): with model.likelihood = gaussian_heteroscedastic it gives ",
                2 * targets, " (each target's mean, then each target's log-variance)");
}

template std::unique_ptr<Sequential<float>> build_model(const ModelConfig&, Shape);
template std::unique_ptr<Sequential<double>> build_model(const ModelConfig&, Shape);

}  // namespace kbnn

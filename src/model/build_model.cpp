#include "model/build_model.hpp"

#include "core/error.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "layers/flatten.hpp"
#include "layers/maxpool2d.hpp"
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

template <class Scalar>
std::unique_ptr<Sequential<Scalar>> build_model(const ModelConfig& config, Shape input) {
  auto model = std::make_unique<Sequential<Scalar>>(input);
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& spec = config.layers[i];
    const Shape in = model->output_shape();  // what this layer receives
    const std::string name = spec.kind + "_" + std::to_string(i);
    const auto index = static_cast<std::uint32_t>(i);
    if (spec.kind == "conv2d") {
      model->add(std::make_unique<Conv2d<Scalar>>(name, index, in, spec.out, spec.kernel,
                                                  spec.stride, spec.padding,
                                                  bayes_options(config, spec.estimator.value_or(config.estimator))));
    } else if (spec.kind == "dense") {
      model->add(std::make_unique<Dense<Scalar>>(name, index, int(in.size()), spec.out,
                                                 bayes_options(config, spec.estimator.value_or(config.estimator))));
    } else if (spec.kind == "relu") {
      model->add(std::make_unique<ReLU<Scalar>>(name, in));
    } else if (spec.kind == "maxpool2d") {
      model->add(std::make_unique<MaxPool2d<Scalar>>(name, in, spec.size, spec.stride));
    } else if (spec.kind == "flatten") {
      model->add(std::make_unique<Flatten<Scalar>>(name, in));
    } else {
      throw InputError(concat("model layer ", i, ": unknown kind '", spec.kind, "'"));
    }
  }
  return model;
}

template std::unique_ptr<Sequential<float>> build_model(const ModelConfig&, Shape);
template std::unique_ptr<Sequential<double>> build_model(const ModelConfig&, Shape);

}  // namespace kbnn

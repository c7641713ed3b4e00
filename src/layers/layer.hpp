// The layer interface. Activations are row-major (batch, features) matrices; images
// are NHWC inside a row, so a convolution's gemm output needs no transpose and
// Flatten changes no numbers (it copies the rows as they are).
#pragma once

#include "core/choices.hpp"
#include "core/parameter_store.hpp"
#include "core/philox.hpp"
#include "core/types.hpp"

#include <cstdint>
#include <string>

namespace kbnn {

template <class Scalar>
class BayesianAffine;

// How a Bayesian layer is set up: prior, initialisation, and its bias.
struct BayesOptions {
  Estimator estimator = Estimator::flipout;
  bool bayesian_bias = false;
  double init_mu_stddev = 0.1;
  double init_rho_mean = -3.0;
  double init_rho_stddev = 0.1;
  double init_bias_stddev = 0.1;
  // Use fused kernels where they beat gemm; false forces the gemm reference path.
  bool fused_kernels = true;
  NoiseSource noise = NoiseSource::philox;  // where the weight noise comes from
  // Take the paths a GPU takes (no per-example gemms, no block-wise backward pass,
  // Flipout's stacked weight gradients) even where memory is host-accessible, so that
  // tests run them on the CPU. A GPU build always takes them (see host_paths).
  bool device_paths = !host_accessible;
};

// Whether a layer may take the host-only paths: loops over examples on the host, and
// workspaces sized for a CPU's caches. Never on device memory, whatever the options say.
inline bool host_paths(const BayesOptions& options) {
  return host_accessible && !options.device_paths;
}

// What one forward pass draws its noise from.
struct PassContext {
  std::uint64_t seed = 0;
  std::uint32_t pass = 0;           // training step, or 2^31 + Monte-Carlo sample
  std::int64_t first_example = 0;   // global index (in the global batch) of row 0
  bool sample = true;               // false: use the posterior mean (no noise)
  // false: no backward pass reads what this forward pass keeps (prediction), so layers
  // may skip building it (Conv2d: im2col when the narrow kernel reads images in place).
  bool backward_follows = true;

  NoiseKey key(std::uint32_t layer) const { return NoiseKey{seed, pass, layer}; }
};

template <class Scalar>
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string name() const = 0;
  virtual Shape output_shape() const = 0;

  // Parameters: declare blocks before the store is allocated, bind subviews after,
  // then initialise from the seed (keyed by layer, so identical on every rank).
  virtual void declare(ParameterStore<Scalar>&) {}
  virtual void bind(const ParameterStore<Scalar>&) {}
  virtual void initialize(std::uint64_t /*seed*/) {}

  // Multiply-adds per example of the forward gemms (both Flipout paths): for FLOP rates.
  virtual double forward_macs() const { return 0; }

  // The layer's Bayesian affine map, if it has one (read-only: the step dump).
  virtual const BayesianAffine<Scalar>* bayesian_affine() const { return nullptr; }

  // Allocates scratch for up to max_batch rows, once, outside the step loop.
  virtual void reserve(int /*max_batch*/) {}

  // in: (batch, input features), out: (batch, output features).
  virtual void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
                       const PassContext& ctx) = 0;

  // Given dL/dout, writes dL/din (skipped when din has no data: the first layer)
  // and ADDS dL/dparameters to the store's gradient. Uses what forward cached.
  virtual void backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>& out,
                        const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) = 0;
};

}  // namespace kbnn

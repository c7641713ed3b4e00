// A sequential model: layers in order, their parameters in one store, and one
// activation buffer per layer output, allocated once for the largest batch.
#pragma once

#include "core/parameter_store.hpp"
#include "layers/layer.hpp"

#include <memory>
#include <string>
#include <vector>

namespace kbnn {

template <class Scalar>
class Sequential {
 public:
  explicit Sequential(Shape input) : input_(input) {}

  Shape input_shape() const { return input_; }
  Shape output_shape() const { return layers_.empty() ? input_ : layers_.back()->output_shape(); }

  void add(std::unique_ptr<Layer<Scalar>> layer) { layers_.push_back(std::move(layer)); }

  // Lays out and initialises the parameters (from the seed, identically on every
  // rank) and allocates activations for up to max_batch rows.
  void finalize(std::uint64_t seed, int max_batch);

  // x: (batch, input features) -> logits (batch, classes); activations are kept
  // for backward.
  Matrix<const Scalar> forward(const Matrix<const Scalar>& x, const PassContext& ctx);

  // dL/dlogits -> ADDS dL/dparameters into parameters().gradients().
  void backward(const Matrix<const Scalar>& dlogits);

  ParameterStore<Scalar>& parameters() { return store_; }
  const ParameterStore<Scalar>& parameters() const { return store_; }
  const std::vector<std::unique_ptr<Layer<Scalar>>>& layers() const { return layers_; }
  int max_batch() const { return max_batch_; }

  // Per-layer timing (fences after every layer, so only for profiling runs).
  void enable_profiling(bool on) { profiling_ = on; }
  // One line per layer: forward and backward seconds accumulated so far.
  std::string profile_report() const;

 private:
  Shape input_;
  std::vector<std::unique_ptr<Layer<Scalar>>> layers_;
  ParameterStore<Scalar> store_;
  int max_batch_ = 0;
  Matrix<const Scalar> input_rows_;       // the x of the last forward
  std::vector<View2<Scalar>> outputs_;    // per layer: (max_batch, output features)
  std::vector<View2<Scalar>> gradients_;  // per layer: dL/d(output), same shape
  bool profiling_ = false;
  std::vector<double> forward_seconds_, backward_seconds_;  // per layer
};

}  // namespace kbnn

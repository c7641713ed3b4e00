// Dense (fully connected) Bayesian layer: out = in * W^T + b with W ~ q(W), by the
// reparameterization, Flipout or local reparameterization estimator, or a plain
// deterministic layer (see bayesian_affine.hpp).
#pragma once

#include "layers/bayesian_affine.hpp"
#include "layers/layer.hpp"

#include <utility>

namespace kbnn {

template <class Scalar>
class Dense : public Layer<Scalar> {
 public:
  Dense(std::string name, std::uint32_t layer_index, int in_features, int out_features,
        BayesOptions options)
      : name_(std::move(name)),
        out_features_(out_features),
        affine_(name_, layer_index,
                {in_features, out_features, in_features, 1,
                 {std::size_t(out_features), std::size_t(in_features)}},
                options) {}

  std::string name() const override { return name_; }
  Shape output_shape() const override { return Shape{1, 1, out_features_}; }
  void declare(ParameterStore<Scalar>& store) override { affine_.declare(store); }
  void bind(const ParameterStore<Scalar>& store) override { affine_.bind(store); }
  void initialize(std::uint64_t seed) override { affine_.initialize(seed); }
  double forward_macs() const override { return affine_.forward_macs(); }
  const BayesianAffine<Scalar>* bayesian_affine() const override { return &affine_; }
  void reserve(int max_batch) override { affine_.reserve(max_batch); }

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext& ctx) override {
    affine_.forward(in, out, ctx);
  }
  void backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>&,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override {
    affine_.backward(in, dout, din);
  }

 private:
  std::string name_;
  int out_features_;
  BayesianAffine<Scalar> affine_;
};

}  // namespace kbnn

// A convolution as a Bayesian layer, over any rectangular window (core/im2col.hpp's
// ConvGeometry): im2col, the Bayesian affine map (reparam, Flipout with signs per
// example and channel broadcast over positions, local reparameterization, or
// deterministic), col2im for the input gradient. Inputs are NHWC. The deck's two kinds
// only choose the window and how the kernel is stored: conv2d (layers/conv2d.hpp), a
// square window, (out, kh, kw, in); conv1d (layers/conv1d.hpp), 1 x k over signals,
// (out, k, in).
#pragma once

#include "core/im2col.hpp"
#include "layers/bayesian_affine.hpp"
#include "layers/layer.hpp"

namespace kbnn {

template <class Scalar>
class Convolution : public Layer<Scalar> {
 public:
  // kernel_shape: how the (out_channels, geometry.patch()) kernel is stored.
  Convolution(std::string name, std::uint32_t layer_index, const ConvGeometry& geometry,
              int out_channels, std::vector<std::size_t> kernel_shape, BayesOptions options);

  std::string name() const override { return name_; }
  Shape output_shape() const override;
  void declare(ParameterStore<Scalar>& store) override { affine_.declare(store); }
  void bind(const ParameterStore<Scalar>& store) override { affine_.bind(store); }
  void initialize(std::uint64_t seed) override { affine_.initialize(seed); }
  double forward_macs() const override { return affine_.forward_macs(); }
  const BayesianAffine<Scalar>* bayesian_affine() const override { return &affine_; }
  void reserve(int max_batch) override;

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext& ctx) override;
  void backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>& out,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override;

 private:
  std::string name_;
  ConvGeometry geometry_;
  int out_channels_;
  BayesianAffine<Scalar> affine_;
  View2<Scalar> padded_; // (batch, Hp*Wp*C): zero-bordered input (when padded)
  View1<int> offsets_;   // (patch): where column k of a row sits in a padded image
  // Backward in blocks of block_examples_ examples (CPUs, see reserve), so that cols
  // and dcols hold one block: about cols_block_numbers numbers, 128 KiB of floats.
  static constexpr std::int64_t cols_block_numbers = 32768;
  bool in_blocks_ = false;
  int block_examples_ = 0;
  View2<Scalar> cols_;   // (block_examples_ * positions, patch): im2col of the input
  View2<Scalar> dcols_;  // (block_examples_ * positions, patch): its gradient
};

}  // namespace kbnn

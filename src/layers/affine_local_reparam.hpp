// Local reparameterization (Kingma, Salimans & Welling 2015; docs/design.md,
// "Estimators"): no weights are drawn. Given cols, each output of cols W^T is Gaussian
// with mean cols mu^T and variance v = cols^2 (sigma^2)^T, and is drawn from that
// directly, with one standard normal E per output element (row of cols, output
// channel), keyed by the GLOBAL row index so any rank count draws the same noise.
//
//   out      = cols mu^T + s o E + b,   s = sqrt(v)             g = dL/dv = dout o E / (2 s)
//   dL/dmu  += dout^T cols              dL/d(sigma^2) = g^T cols^2
//   dcols    = dout mu + 2 cols o (g sigma^2)
//
// The gemm path only (its second product is cols^2 sigma^2), and no block-wise backward.
// A pass that does not sample is the mean product alone (OneWeightAffine with W = mu).
#pragma once

#include "layers/affine_one_weight.hpp"

namespace kbnn {

template <class Scalar>
class LocalReparamAffine final : public OneWeightAffine<Scalar> {
 public:
  using typename AffineEstimator<Scalar>::Weights;
  using typename AffineEstimator<Scalar>::Draw;
  using OneWeightAffine<Scalar>::OneWeightAffine;

  // The noise enters at the outputs: the kernel is never drawn, the mean path uses mu.
  Draw kernel_draw(bool /*sample*/) const override { return Draw::mean; }
  int forward_products() const override { return 2; }  // mean and variance
  void reserve(int max_examples) override;
  void begin_pass(int examples, const PassContext& ctx, const NoiseKey& key) override;

  void forward(const Weights& kernel, const Matrix<const Scalar>& cols,
               const Matrix<Scalar>& out, const View1<Scalar>& bias) override;
  void backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols) override;
  bool backward_in_blocks() const override { return false; }
  bool pass_in_blocks() const override { return !sampled_; }

 private:
  using OneWeightAffine<Scalar>::plan_;
  using OneWeightAffine<Scalar>::weights;

  bool sampled_ = false;  // the last forward pass drew the output noise

  // The workspace (rows = examples * P), allocated by reserve.
  View2<Scalar> cols_squared_;    // (rows, K): cols o cols, from forward
  View1<Scalar> variance_;        // (O * K): sigma^2
  View2<Scalar> output_noise_;    // (rows, O): E, drawn by begin_pass
  View2<Scalar> output_stddev_;   // (rows, O): s; add_output_noise takes the root of v in place
  View2<Scalar> d_variance_out_;  // (rows, O): g = dL/dv
  View1<Scalar> d_variance_;      // (O * K): dL/d(sigma^2)
  View2<Scalar> dcols_variance_;  // (rows, K): g sigma^2 (dcols += 2 cols o this)
};

}  // namespace kbnn

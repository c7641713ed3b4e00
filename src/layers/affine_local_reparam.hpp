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
// Two paths: gemm (two products, the reference) and narrow (one fused pass over cols
// that also reads a convolution's images in place, affine::narrow_forward). The
// backward pass is gemms either way, and runs in blocks of examples: every term of a
// row's gradient comes from that row alone. A pass that does not sample is the mean
// product alone (OneWeightAffine with W = mu).
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
  void forward_patches(const Weights& kernel, const PatchRows<Scalar>& patches, int rows,
                       const Matrix<Scalar>& out, const View1<Scalar>& bias) override;

  // OneWeightAffine::backward runs these over all rows as one block.
  void backward_block(const Weights& kernel, const Matrix<const Scalar>& cols,
                      const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols,
                      int first_example) override;
  void backward_end(const Weights& kernel) override;

 private:
  using OneWeightAffine<Scalar>::plan_;
  using OneWeightAffine<Scalar>::weights;

  template <class Rows>  // affine::MatrixRows or PatchRows
  void forward_narrow(const Weights& kernel, const Rows& source, int rows,
                      const Matrix<Scalar>& out, const View1<Scalar>& bias);
  void forward_gemm(const Weights& kernel, const Matrix<const Scalar>& cols,
                    const Matrix<Scalar>& out, const View1<Scalar>& bias);

  bool sampled_ = false;  // the last forward pass drew the output noise

  // The workspace (rows = examples * P), allocated by reserve.
  View1<Scalar> variance_;        // (O * K): sigma^2, from forward
  View2<Scalar> output_noise_;    // (rows, O): E, drawn by begin_pass
  View2<Scalar> output_stddev_;   // (rows, O): s, from forward
  View2<Scalar> cols_squared_;    // (rows, K): cols o cols of the block (forward: gemm path)
  View2<Scalar> d_variance_out_;  // (rows, O): g = dL/dv of the block
  View1<Scalar> d_variance_;      // (O * K): dL/d(sigma^2), summed over the blocks
  View2<Scalar> dcols_variance_;  // (rows, K): g sigma^2 of the block (dcols += 2 cols o this)
  View2<Scalar> mean_t_, variance_t_;  // (K, whole vectors >= O): mu^T, (sigma^2)^T
                                       //   zero-padded; narrow path
};

}  // namespace kbnn

// The products of one weight matrix W for the whole batch (docs/design.md, "Estimators"):
//
//   out = cols W^T + b      dL/dW = dout^T cols      dcols = dout W
//
// with W = kernel.used(): reparam's draw mu + sigma eps, a deterministic layer's point
// weights, or mu in the posterior-mean pass of any estimator. Reparam and deterministic
// share these products (affine_reparam.hpp, affine_deterministic.hpp differ only in what
// they draw); Flipout and local reparameterization derive from this class for their
// passes that draw no perturbation, and their sampled passes add a second path to the
// same mean product.
#pragma once

#include "layers/affine_estimator.hpp"

namespace kbnn {

template <class Scalar>
class OneWeightAffine : public AffineEstimator<Scalar> {
 public:
  using typename AffineEstimator<Scalar>::Weights;

  explicit OneWeightAffine(const AffinePlan& plan) : plan_(plan) {}

  int forward_products() const override { return 1; }
  void reserve(int max_examples) override;
  void begin_pass(int, const PassContext&, const NoiseKey&) override {}

  void forward(const Weights& kernel, const Matrix<const Scalar>& cols,
               const Matrix<Scalar>& out, const View1<Scalar>& bias) override;
  void forward_patches(const Weights& kernel, const PatchRows<Scalar>& patches, int rows,
                       const Matrix<Scalar>& out, const View1<Scalar>& bias) override;

  // All rows as one block.
  void backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols) override;
  bool backward_in_blocks() const override { return true; }
  bool pass_in_blocks() const override { return true; }
  void backward_begin(const Weights&, int, bool) override {}
  void backward_block(const Weights& kernel, const Matrix<const Scalar>& cols,
                      const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols,
                      int first_example) override;
  void backward_end(const Weights& kernel) override;

 protected:
  // An (O, K) tensor stored flat (mu, a draw, sigma^2) as the matrix W.
  Matrix<const Scalar> weights(const View1<Scalar>& w) const {
    return Matrix<const Scalar>(w.data(), plan_.O, plan_.K);
  }

  const AffinePlan plan_;
  // (O * K): dL/d kernel.used(), summed over the blocks of a pass: what
  // GaussianWeights::backprop takes (Flipout's sampled passes: dL/d(dW), dW = used()).
  View1<Scalar> d_used_;

 private:
  template <class Rows>  // affine::MatrixRows or PatchRows
  void forward_narrow(const Weights& kernel, const Rows& source, int rows,
                      const Matrix<Scalar>& out, const View1<Scalar>& bias);

  View2<Scalar> used_t_;  // (K, whole vectors >= O): W^T zero-padded; narrow forward only
};

}  // namespace kbnn

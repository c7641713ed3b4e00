// Flipout (Wen et al. 2018; docs/design.md, "Estimators"): example e sees the weights
// mu + dW o (R_e S_e^T), dW = sigma o eps, with Rademacher signs S per (example, input
// channel) and R per (example, output channel), keyed by the GLOBAL example index so
// any rank count draws the same signs. Column k of cols belongs to input channel
// k % C (NHWC im2col puts the channel last).
//
//   out      = cols mu^T + ((cols o S) dW^T) o R + b          dr = dout o R
//   dL/dmu  += dout^T cols                                     dL/d(dW) = dr^T (cols o S)
//   dcols    = dout mu + (dr dW) o S
//
// On each path (docs/design.md, "The affine paths"): gemm and narrow here
// (affine_flipout.cpp), per_example in affine_flipout_per_example.cpp. A pass that
// does not sample is the mean product alone (OneWeightAffine with W = mu).
#pragma once

#include "layers/affine_one_weight.hpp"

namespace kbnn {

// The signs of one pass, rows e < examples for the pass's examples.
template <class Scalar>
struct FlipoutSigns {
  View2<Scalar> in;       // (examples, C): S
  View2<Scalar> out;      // (examples, O): R, times S when there is one input channel
  View2<Scalar> columns;  // (examples, K): S spread over the columns of cols (C > 1 only)
};

template <class Scalar>
class FlipoutAffine final : public OneWeightAffine<Scalar> {
 public:
  using typename AffineEstimator<Scalar>::Weights;
  using typename AffineEstimator<Scalar>::Draw;
  using OneWeightAffine<Scalar>::OneWeightAffine;

  Draw kernel_draw(bool sample) const override { return sample ? Draw::perturbation : Draw::mean; }
  int forward_products() const override { return 2; }  // mean and perturbation
  void reserve(int max_examples) override;
  void begin_pass(int examples, const PassContext& ctx, const NoiseKey& key) override;

  void forward(const Weights& kernel, const Matrix<const Scalar>& cols,
               const Matrix<Scalar>& out, const View1<Scalar>& bias) override;
  void forward_patches(const Weights& kernel, const PatchRows<Scalar>& patches, int rows,
                       const Matrix<Scalar>& out, const View1<Scalar>& bias) override;

  void backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols) override;
  // Every pass but those through cols o S (several input channels off per_example).
  bool backward_in_blocks() const override {
    return plan_.path == AffinePath::per_example || plan_.single_input_channel();
  }
  bool pass_in_blocks() const override { return !signed_inputs_pass(); }
  void backward_begin(const Weights& kernel, int examples, bool want_dcols) override;
  void backward_block(const Weights& kernel, const Matrix<const Scalar>& cols,
                      const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols,
                      int first_example) override;
  void backward_end(const Weights& kernel) override;

  const FlipoutSigns<Scalar>* drawn_signs() const override { return sampled_ ? &signs_ : nullptr; }

 private:
  using OneWeightAffine<Scalar>::plan_;
  using OneWeightAffine<Scalar>::weights;
  using OneWeightAffine<Scalar>::d_used_;  // dL/d(dW) in a sampled pass

  // Where a block-wise backward pass leaves the weight gradients for backward_end.
  enum class Gradients {
    direct,       // dL/dmu in the store, dL/d(dW) in d_used_
    per_example,  // D_e = dout_e^T cols_e per example in d_examples_
    stacked,      // [dL/dmu ; dL/d(dW)] in d_stacked_
  };

  // This pass reads cols o S over all rows (several input channels, off per_example).
  bool signed_inputs_pass() const {
    return sampled_ && plan_.path != AffinePath::per_example && !plan_.single_input_channel();
  }
  // cols o S, the perturbation path's input (cols itself when S is folded into R).
  Matrix<const Scalar> signed_inputs(const Matrix<const Scalar>& cols) const;
  void sign_inputs(const Matrix<const Scalar>& cols);  // cols_signed_ = cols o S
  void forward_gemm(const Weights& kernel, const Matrix<const Scalar>& cols,
                    const Matrix<Scalar>& out, const View1<Scalar>& bias);
  template <class Rows>  // affine::MatrixRows or PatchRows
  void forward_narrow(const Weights& kernel, const Rows& source, int rows,
                      const Matrix<Scalar>& out, const View1<Scalar>& bias);
  // Through cols o S, all rows at once.
  void backward_signed_inputs(const Weights& kernel, const Matrix<const Scalar>& cols,
                              const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols);
  // One input channel, dcols wanted: both paths' gradients straight from cols.
  void backward_direct(const Weights& kernel, const Matrix<const Scalar>& cols,
                       const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols,
                       int first_example);
  // affine_flipout_per_example.cpp:
  void forward_per_example(const Weights& kernel, const Matrix<const Scalar>& cols,
                           const Matrix<Scalar>& out, const View1<Scalar>& bias);
  void build_example_weights(const Weights& kernel, int examples);
  void backward_per_example(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                            const Matrix<Scalar>& dcols, int first_example);

  // The pass: set by begin_pass and backward_begin.
  bool sampled_ = false;   // the last forward pass drew dW and signs
  Gradients gradients_ = Gradients::direct;
  int backward_examples_ = 0;  // examples of the block-wise backward pass under way

  // The workspace, allocated by reserve for this layer's path (rows = examples * P).
  FlipoutSigns<Scalar> signs_;
  View2<Scalar> cols_signed_;      // (rows, K): cols o S; gemm and narrow paths, C > 1
  View2<Scalar> perturbed_;        // (rows, O): (cols o S) dW^T; gemm path
  View2<Scalar> dout_signed_;      // (rows, O): dr = dout o R; gemm and narrow paths
  View2<Scalar> dcols_perturbed_;  // (rows, K): dr dW, dcols' perturbation path before S;
                                   //   gemm and narrow paths, C > 1
  View2<Scalar> stacked_;          // (rows, 2 O): [dout | dout o R]; C == 1, device memory
  View1<Scalar> d_stacked_;        // (2 O * K): [dL/dmu ; dL/d(dW)] from one gemm, as stacked_
  View2<Scalar> mean_t_, delta_t_;  // (K, whole vectors >= O): mu^T, dW^T zero-padded;
                                    //   narrow forward, P < 16
  View2<Scalar> example_weights_t_;  // (examples * K, as mean_t_): W_e^T; narrow forward, P >= 16
  View1<Scalar> example_weights_;    // (examples * O * K): W_e = mu + R_e S_e dW; per_example
  View1<Scalar> d_examples_;         // (examples * O * K): D_e; per_example, or C == 1 on the host
};

}  // namespace kbnn

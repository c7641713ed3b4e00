// The Bayesian affine map shared by Dense and Conv2d:
//
//   out (rows, O) = cols (rows, K) * W^T + b,   W ~ q(W) = N(mu, sigma^2), (O, K)
//
// A dense layer calls it with cols = its input (one row per example); a convolution
// with cols = im2col of its input (one row per example and output position, P
// positions per example). Estimators (docs/design.md, "Estimators"):
//   reparam: one draw W = mu + sigma * eps for the whole batch.
//   flipout: out = cols * mu^T + ((cols o S) * dW^T) o R, dW = sigma * eps, with
//            Rademacher signs S per (example, input channel) and R per (example,
//            output channel), keyed by the GLOBAL example index so any rank count
//            draws the same signs. Column k of cols belongs to input channel
//            k % in_channels (NHWC im2col puts the channel last).
//   local_reparam: out = cols * mu^T + sqrt(cols^2 * (sigma^2)^T) o E, with one
//            standard normal E per output element (row of cols and output channel),
//            keyed by the GLOBAL row index like the Flipout signs. gemm path only.
//   deterministic: W is a point tensor (no rho, no noise, no KL): out = cols * W^T + b.
#pragma once

#include "core/im2col.hpp"
#include "layers/affine_kernels.hpp"
#include "layers/gaussian_weights.hpp"
#include "layers/layer.hpp"

#include <string>
#include <vector>

namespace kbnn {

// How a layer computes its products, chosen once from its shape, its options and the
// build (the memory space and the target's vector registers):
//   gemm:        the reference: gemms and elementwise kernels, any shape, any backend;
//   narrow:      few outputs: one fused pass over cols (affine::narrow_forward);
//   per_example: Flipout in a convolution: the backward pass as small gemms per
//                example with its effective weights W_e = mu + R_e S_e dW
//                (bayesian_affine_per_example.cpp), host memory only; the forward pass
//                the same way, or with the narrow kernel when the outputs fit it.
// Passes that draw no Flipout perturbation (posterior mean, reparam) take the gemm
// products on the per_example path (or the narrow kernel when it runs the forward).
enum class AffinePath { gemm, narrow, per_example };

template <class Scalar>
class BayesianAffine {
 public:
  struct Geometry {
    int in_features;   // K: columns of cols
    int out_features;  // O
    int in_channels;   // width of an input sign vector (K for dense, C for conv)
    int positions;     // P: rows of cols per example (1 for dense)
    std::vector<std::size_t> kernel_shape;  // how W (O x K) is stored, for the output file
  };

  BayesianAffine(std::string name, std::uint32_t layer_index, Geometry geometry,
                 BayesOptions options);

  void declare(ParameterStore<Scalar>& store);
  void bind(const ParameterStore<Scalar>& store);
  void initialize(std::uint64_t seed);
  void reserve(int max_examples);

  void forward(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
               const PassContext& ctx);
  // The same pass with cols left implicit: rows of cols read in place from a
  // convolution's padded images. Only when forward_is_narrow(); nothing is kept for
  // backward, which needs explicit cols.
  void forward(const PatchRows<Scalar>& patches, int rows, const Matrix<Scalar>& out,
               const PassContext& ctx);
  // Adds dL/dmu, dL/drho, dL/dbias to the store; writes dcols unless it has no data.
  void backward(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                const Matrix<Scalar>& dcols);
  // The same in blocks of whole examples, for a caller that builds cols a block at a
  // time (Conv2d on CPUs, so that cols stays in cache): backward_begin(examples), then
  // backward_block for consecutive blocks in order (first_example: the block's first
  // example within the pass), then backward_end with all of dout. Only when
  // backward_in_blocks(), which holds for every pass of the layer or for none.
  bool backward_in_blocks() const;
  void backward_begin(int examples);
  void backward_block(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                      const Matrix<Scalar>& dcols, int first_example);
  void backward_end(const Matrix<const Scalar>& dout);

  const Geometry& geometry() const { return geometry_; }
  double forward_macs() const {
    const bool two_products = options_.estimator == Estimator::flipout ||
                              options_.estimator == Estimator::local_reparam;
    const double paths = two_products ? 2 : 1;
    return paths * geometry_.positions * double(geometry_.in_features) * geometry_.out_features;
  }
  const BayesOptions& options() const { return options_; }
  AffinePath path() const { return path_; }
  // The last forward pass's draws, read-only (the step dump, train/step_dump.hpp).
  const std::string& name() const { return name_; }
  View1<Scalar> weight_noise() const { return kernel_.eps(); }    // (O * K)
  View1<Scalar> bias_noise() const { return bias_gauss_.eps(); }  // (O); empty: point bias
  bool drew_signs() const { return flipout_active(); }
  View2<Scalar> input_signs() const { return sign_in_; }    // (examples, C): S
  View2<Scalar> output_signs() const { return sign_out_; }  // (examples, O): R, or S R
  bool output_signs_folded() const { return single_input_channel(); }  // when S folds into R
  // The forward product runs affine::narrow_forward (the narrow path, and the forward
  // pass of the per_example path when the outputs fit), which reads each input once.
  bool forward_is_narrow() const { return narrow_forward_; }

 private:
  bool flipout_active() const {
    return kernel_.draw_kind() == GaussianWeights<Scalar>::Draw::perturbation;
  }
  bool single_input_channel() const { return geometry_.in_channels == 1; }
  // This pass's Flipout reads cols o S over all rows (gemm path, several input channels).
  bool signed_inputs_pass() const {
    return flipout_active() && !per_example_pass_ && !single_input_channel();
  }
  static AffinePath choose_path(const Geometry& g, const BayesOptions& options);
  static bool fits_narrow(const Geometry& g) {
    return g.out_features <= affine::narrow_max_outputs<Scalar>();
  }
  // cols o S, the input of the perturbation path (cols itself when S is folded into R).
  Matrix<const Scalar> signed_inputs(const Matrix<const Scalar>& cols) const {
    if (single_input_channel()) return cols;
    return Matrix<const Scalar>(cols_signed_.data(), cols.extent(0), cols.extent(1));
  }
  void forward_per_example(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
                           const View1<Scalar>& bias);
  void backward_per_example(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                            const Matrix<Scalar>& dcols, int first_example);
  // Flipout through cols o S (gemm path, several input channels): all rows at once.
  void backward_signed_inputs(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                              const Matrix<Scalar>& dcols);
  void draw_signs(int examples, const PassContext& ctx);
  void sign_inputs(const Matrix<const Scalar>& cols);  // cols_signed_ = cols o S
  // Draws this pass's weights and signs; returns the bias to add.
  View1<Scalar> begin_forward(int examples, const PassContext& ctx);
  template <class Rows>  // affine::MatrixRows or PatchRows
  void forward_narrow(const Rows& source, int rows, const Matrix<Scalar>& out,
                      const View1<Scalar>& bias);
  void add_bias_gradient(const Matrix<const Scalar>& dout);
  // Local reparameterization: adds the output noise and the bias to out = cols mu^T.
  void forward_local(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
                     const View1<Scalar>& bias, const PassContext& ctx);
  void backward_local(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                      const Matrix<Scalar>& dcols);

  std::string name_;
  std::uint32_t layer_index_;
  Geometry geometry_;
  BayesOptions options_;
  AffinePath path_;
  bool narrow_forward_;  // the forward product runs affine::narrow_forward

  GaussianWeights<Scalar> kernel_;       // (O, K)
  GaussianWeights<Scalar> bias_gauss_;   // (O) when options_.bayesian_bias
  int bias_id_ = -1;                     // point-estimate bias block otherwise
  View1<Scalar> bias_point_, grad_bias_point_;

  View2<Scalar> sign_in_;    // (examples, in_channels): S
  View2<Scalar> sign_out_;   // (examples, O): R (times S when there is one input channel)
  View2<Scalar> sign_columns_;  // (examples, K): S spread over the columns of cols
  View2<Scalar> cols_signed_;  // (rows, K): cols o S; reused as scratch in backward
  View2<Scalar> perturbed_;    // (rows, O): (cols o S) dW^T; reused as dout o R
  View1<Scalar> d_kernel_;     // (O * K): dL/d draw
  View1<Scalar> d_bias_;       // (O)
  View2<Scalar> column_partial_;  // (row blocks, O): affine::column_sums' partial sums
  View2<Scalar> stacked_;      // (rows, 2 O): [dout | dout o R]
  View1<Scalar> example_weights_;  // (examples, O, K): W_e = mu + R_e S_e dW per example
  View1<Scalar> d_examples_;       // (examples, O, K): dL/dW_e per example
  bool per_example_pass_ = false;      // the last forward drew Flipout on the per_example path
  int backward_examples_ = 0;          // of the block-wise backward pass under way
  bool stacked_gradients_ = false;     // d_stacked_ holds [dL/dmu ; dL/d(dW)] to unstack
  bool example_gradients_ = false;     // d_examples_ holds D_e of every example to sum
  bool example_weights_ready_ = false;  // example_weights_ holds that pass's weights
  View1<Scalar> d_stacked_;    // (2 O * K): [dL/dmu ; dL/d(dW)] from one gemm
  View2<Scalar> mean_t_, delta_t_;  // (K, whole vectors >= O): W^T zero-padded, narrow path
  View2<Scalar> example_weights_t_;  // (examples * K, as mean_t_): W_e^T, narrow Flipout, P >= 16
  int signed_rows_ = 0;             // rows of cols_signed_ that hold cols o S now
  // Local reparameterization (allocated for that estimator only):
  bool local_pass_ = false;       // the last forward drew output noise
  View2<Scalar> cols_squared_;    // (rows, K): cols o cols from forward; scratch late in backward
  View1<Scalar> variance_;        // (O * K): sigma^2
  View2<Scalar> output_noise_;    // (rows, O): E
  View2<Scalar> output_stddev_;   // (rows, O): sqrt(cols^2 (sigma^2)^T)
  View2<Scalar> d_variance_out_;  // (rows, O): dL/d(output variance)
};

}  // namespace kbnn

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
//            keyed by the GLOBAL row index like the Flipout signs.
//   deterministic: W is a point tensor (no rho, no noise, no KL): out = cols * W^T + b.
// Each estimator computes its products in files of its own (affine_estimator.hpp lists
// them); this class keeps what they share: the parameters (declare, bind, initialize),
// the bias, the path (chosen once, here), and the order of a pass.
#pragma once

#include "core/im2col.hpp"
#include "layers/affine_estimator.hpp"
#include "layers/gaussian_weights.hpp"
#include "layers/layer.hpp"

#include <memory>
#include <string>
#include <vector>

namespace kbnn {

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
  // time (Conv2d on CPUs, so that cols stays in cache): backward_begin(examples, whether
  // dcols is wanted), then backward_block for consecutive blocks in order
  // (first_example: the block's first example within the pass; dcols with data exactly
  // when wanted), then backward_end with all of dout. Only when backward_in_blocks(),
  // which holds for every pass of the layer or for none.
  bool backward_in_blocks() const { return estimator_->backward_in_blocks(); }
  void backward_begin(int examples, bool want_dcols);
  void backward_block(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& dout,
                      const Matrix<Scalar>& dcols, int first_example);
  void backward_end(const Matrix<const Scalar>& dout);

  const Geometry& geometry() const { return geometry_; }
  double forward_macs() const {
    const double paths = estimator_->forward_products();
    return paths * geometry_.positions * double(geometry_.in_features) * geometry_.out_features;
  }
  const BayesOptions& options() const { return options_; }
  AffinePath path() const { return path_; }
  // The last forward pass's draws, read-only (the step dump, train/step_dump.hpp).
  const std::string& name() const { return name_; }
  View1<Scalar> weight_noise() const { return kernel_.eps(); }    // (O * K)
  View1<Scalar> bias_noise() const { return bias_gauss_.eps(); }  // (O); empty: point bias
  bool drew_signs() const { return estimator_->drawn_signs() != nullptr; }
  View2<Scalar> input_signs() const;   // (examples, C): S
  View2<Scalar> output_signs() const;  // (examples, O): R, or S R
  bool output_signs_folded() const { return geometry_.in_channels == 1; }  // S folded into R
  // The forward product runs affine::narrow_forward (the narrow path, and the forward
  // pass of the per_example path when the outputs fit), which reads each input once.
  bool forward_is_narrow() const { return narrow_forward_; }

 private:
  static AffinePath choose_path(const Geometry& g, const BayesOptions& options);
  static bool fits_narrow(const Geometry& g);
  // Draws this pass's weights, bias and whatever the estimator draws; returns the bias.
  View1<Scalar> begin_forward(int examples, const PassContext& ctx);
  void add_bias_gradient(const Matrix<const Scalar>& dout);

  std::string name_;
  std::uint32_t layer_index_;
  Geometry geometry_;
  AffinePath path_;
  bool narrow_forward_;  // the forward product runs affine::narrow_forward
  // The estimator's products on path_ (reparam, flipout, local_reparam, deterministic).
  std::unique_ptr<AffineEstimator<Scalar>> estimator_;
  BayesOptions options_;  // bayesian_bias is false where the estimator has point weights

  GaussianWeights<Scalar> kernel_;       // (O, K)
  GaussianWeights<Scalar> bias_gauss_;   // (O) when options_.bayesian_bias
  int bias_id_ = -1;                     // point-estimate bias block otherwise
  View1<Scalar> bias_point_, grad_bias_point_;
  // The bias gradient's workspace:
  View2<Scalar> column_partial_;  // (row blocks, O): affine::column_sums' partial sums
  View1<Scalar> d_bias_;          // (O): dL/db
};

}  // namespace kbnn

// What BayesianAffine (layers/bayesian_affine.hpp) asks of an estimator: the interface
// that reparam, Flipout, local reparameterization and deterministic each implement in
// files of their own (affine_reparam.hpp, affine_flipout.hpp, affine_local_reparam.hpp,
// affine_deterministic.hpp), and the plan they all follow: the layer's shape and the
// path its products take, both fixed when the layer is built.
#pragma once

#include "core/im2col.hpp"
#include "core/types.hpp"
#include "layers/gaussian_weights.hpp"
#include "layers/layer.hpp"

#include <string>

namespace kbnn {

// How a layer computes its products, chosen once from its shape, its options and the
// build (the memory space and the target's vector registers; BayesianAffine::choose_path):
//   gemm:        the reference: gemms and elementwise kernels, any shape, any backend;
//   narrow:      few outputs: one fused pass over cols (affine::narrow_forward);
//   per_example: Flipout in a convolution: the backward pass as small gemms per
//                example with its effective weights W_e = mu + R_e S_e dW
//                (affine_flipout_per_example.cpp), host memory only; the forward pass
//                the same way, or with the narrow kernel when the outputs fit it.
// Passes that draw no Flipout perturbation (posterior mean, reparam) take the gemm
// products on the per_example path (or the narrow kernel when it runs the forward).
enum class AffinePath { gemm, narrow, per_example };

// One affine map out (rows, O) = cols (rows, K) W^T + b as an estimator sees it.
struct AffinePlan {
  int K;  // columns of cols (in_features)
  int O;  // outputs (out_features)
  int C;  // input channels: the width of an input sign vector (K for dense)
  int P;  // rows of cols per example (positions; 1 for dense)
  AffinePath path;
  bool narrow_forward;  // the forward product runs affine::narrow_forward
  bool host_paths;      // host_paths(options): the host-only paths may be taken
  // One input channel: Flipout's S is one sign per example and folds into R.
  bool single_input_channel() const { return C == 1; }
};

template <class Scalar>
struct FlipoutSigns;

namespace affine {
// How reserve allocates a workspace buffer: once, outside the step loop, and not zeroed
// (every kernel that reads one wrote it first).
inline auto workspace(const std::string& name) {
  return Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::affine::" + name);
}
}  // namespace affine

// A pass is: BayesianAffine draws the kernel (kernel_draw) and the bias, then
// begin_pass, forward; then either backward, or (when pass_in_blocks) backward_begin,
// backward_block for consecutive blocks of whole examples, backward_end. Gradients are
// ADDED to the store; BayesianAffine adds the bias gradient itself.
template <class Scalar>
class AffineEstimator {
 public:
  using Weights = GaussianWeights<Scalar>;
  using Draw = typename Weights::Draw;
  virtual ~AffineEstimator() = default;

  // W and b are point tensors: declared without rho (no noise, no KL term).
  virtual bool point_weights() const { return false; }
  // What GaussianWeights::sample draws for the kernel in a pass that samples or not.
  virtual Draw kernel_draw(bool sample) const = 0;
  // Products of cols per forward pass, for forward_macs: 2 with a second path.
  virtual int forward_products() const = 0;
  // Allocates this estimator's workspace on its path for up to max_examples.
  virtual void reserve(int max_examples) = 0;
  // Draws what this pass draws besides the weights (key: this layer's NoiseKey).
  virtual void begin_pass(int examples, const PassContext& ctx, const NoiseKey& key) = 0;

  // out (rows, O) = this pass's product of cols with the drawn kernel, plus bias.
  virtual void forward(const Weights& kernel, const Matrix<const Scalar>& cols,
                       const Matrix<Scalar>& out, const View1<Scalar>& bias) = 0;
  // The same with cols read in place (only when the plan's forward is narrow).
  virtual void forward_patches(const Weights& kernel, const PatchRows<Scalar>& patches, int rows,
                               const Matrix<Scalar>& out, const View1<Scalar>& bias) = 0;

  // Weight gradients of the last forward pass; writes dcols unless it has no data.
  virtual void backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                        const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols) = 0;
  // Whether every pass may run its backward in blocks, and whether the last one may.
  virtual bool backward_in_blocks() const = 0;
  virtual bool pass_in_blocks() const = 0;
  virtual void backward_begin(const Weights& kernel, int examples, bool want_dcols) = 0;
  virtual void backward_block(const Weights& kernel, const Matrix<const Scalar>& cols,
                              const Matrix<const Scalar>& dout, const Matrix<Scalar>& dcols,
                              int first_example) = 0;
  virtual void backward_end(const Weights& kernel) = 0;

  // The signs the last forward pass drew (the step dump), or nullptr: none drawn.
  virtual const FlipoutSigns<Scalar>* drawn_signs() const { return nullptr; }
};

}  // namespace kbnn

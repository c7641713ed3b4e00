// Flipout for convolutions as a batched gemm with per-example weights.
//
// S multiplies column k of an example's rows by S(e, k % C) and R output o by R(e, o).
// Moving both onto the weights gives example e (rows cols_e, P x K) its own effective
// weights W_e = mu + R_e S_e dW (elementwise, R along o and S along k):
//   out_e     = cols_e W_e^T + b                   (P x O, one gemm)
//   dcols_e   = dout_e W_e                         (P x K, one gemm)
//   D_e       = dout_e^T cols_e                    (O x K, one gemm)
//   dL/dmu    = sum_e D_e,   dL/d(dW) = sum_e R_e S_e D_e
// so cols o S is never built, and each product has O outputs, not the 2 O of a mean
// and a perturbation path. It costs one small gemm per example, which suits CPUs. When
// the outputs fit the narrow kernel, that kernel runs the forward pass instead (one
// pass, no weights to build). The backward pass runs block by block
// (FlipoutAffine::backward_block), so a convolution can rebuild cols a few examples
// at a time. The gemm path in affine_flipout.cpp is the reference, and tests compare
// the two.
#include "layers/affine_flipout.hpp"

#include "core/gemm.hpp"
#include "layers/affine_bias_kernels.hpp"
#include "layers/affine_per_example_kernels.hpp"

namespace kbnn {

template <class Scalar>
void FlipoutAffine<Scalar>::forward_per_example(const Weights& kernel,
                                                const Matrix<const Scalar>& cols,
                                                const Matrix<Scalar>& out,
                                                const View1<Scalar>& bias) {
  const int K = plan_.K, O = plan_.O;
  const int examples = static_cast<int>(cols.extent(0)) / plan_.P;
  build_example_weights(kernel, examples);
  gemm_blocks<Scalar>(examples, 'N', 'T', 1, cols,
                      Matrix<const Scalar>(example_weights_.data(), std::size_t(examples) * O, K),
                      0, out);
  affine::add_bias(bias, out);
}

template <class Scalar>
void FlipoutAffine<Scalar>::build_example_weights(const Weights& kernel, int examples) {
  affine::example_weights(kernel.mu(), kernel.draw(), signs_.columns, signs_.out, examples,
                          plan_.O, plan_.K, example_weights_);
}

// One block of whole examples, from first_example on: D_e = dout_e^T cols_e (O x K)
// into d_examples_ (backward_end sums them), and dcols_e = dout_e W_e if wanted (only
// on the per_example path: one input channel with dcols takes backward_direct).
template <class Scalar>
void FlipoutAffine<Scalar>::backward_per_example(const Matrix<const Scalar>& cols,
                                                 const Matrix<const Scalar>& dout,
                                                 const Matrix<Scalar>& dcols, int first_example) {
  const int K = plan_.K, O = plan_.O;
  const int examples = static_cast<int>(cols.extent(0)) / plan_.P;
  const std::size_t block = std::size_t(O) * K;  // numbers per example
  gemm_blocks<Scalar>(examples, 'T', 'N', 1, dout, cols, 0,
                      Matrix<Scalar>(d_examples_.data() + first_example * block,
                                     std::size_t(examples) * O, K));
  if (dcols.data() != nullptr)
    gemm_blocks<Scalar>(examples, 'N', 'N', 1, dout,
                        Matrix<const Scalar>(example_weights_.data() + first_example * block,
                                             std::size_t(examples) * O, K),
                        0, dcols);
}

// The rest of FlipoutAffine is instantiated in affine_flipout.cpp.
#define KBNN_INSTANTIATE(Scalar)                                                             \
  template void FlipoutAffine<Scalar>::forward_per_example(                                  \
      const GaussianWeights<Scalar>&, const Matrix<const Scalar>&, const Matrix<Scalar>&,     \
      const View1<Scalar>&);                                                                 \
  template void FlipoutAffine<Scalar>::build_example_weights(const GaussianWeights<Scalar>&, \
                                                             int);                           \
  template void FlipoutAffine<Scalar>::backward_per_example(                                 \
      const Matrix<const Scalar>&, const Matrix<const Scalar>&, const Matrix<Scalar>&, int);
KBNN_INSTANTIATE(float)
KBNN_INSTANTIATE(double)
#undef KBNN_INSTANTIATE

}  // namespace kbnn

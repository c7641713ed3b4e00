// Flipout for convolutions as a batched gemm with per-example weights.
//
// S multiplies column k of an example's rows by S(e, k % C). Moving it onto the
// weights gives, for example e with rows cols_e (P x K):
//   [mean | pert]_e = cols_e [mu ; dW o S_e]^T               (P x 2O, one gemm)
//   out_e           = mean + pert o R_e + b
//   dcols_e         = [dout | dout o R]_e [mu ; dW o S_e]    (P x K, one gemm)
//   dL/dmu          = dout^T cols                            (one gemm, all rows)
//   dL/d(dW)        = sum_e (dr_e^T cols_e) o S_e
// so cols o S is never built and dcols needs no extra pass to apply S. It costs one
// small gemm per example, which suits CPUs. When the outputs fit the narrow kernel,
// that kernel runs the forward pass instead (one pass, no weights to build); the gemm path in bayesian_affine.cpp is
// the reference, and tests compare the two.
#include "layers/bayesian_affine.hpp"

#include "core/gemm.hpp"
#include "layers/affine_kernels.hpp"

namespace kbnn {

template <class Scalar>
void BayesianAffine<Scalar>::forward_per_example(const Matrix<const Scalar>& cols,
                                                 const Matrix<Scalar>& out,
                                                 const View1<Scalar>& bias) {
  const int K = geometry_.in_features, O = geometry_.out_features, P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  affine::example_weights(kernel_.mu(), kernel_.draw(), sign_columns_, examples, O, K,
                          example_weights_);
  auto both = as_matrix(example_out_, rows, 2 * O);
  gemm_blocks<Scalar>(examples, 'N', 'T', 1, cols,
                      Matrix<const Scalar>(example_weights_.data(), std::size_t(examples) * 2 * O, K),
                      0, both);
  // out = both[:, :O] + both[:, O:] o R + b
  affine::combine<Scalar>(Kokkos::subview(both, Kokkos::ALL, Kokkos::make_pair(0, O)),
                          Kokkos::subview(both, Kokkos::ALL, Kokkos::make_pair(O, 2 * O)),
                          sign_out_, bias, P, out);
  example_weights_ready_ = true;
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_per_example(const Matrix<const Scalar>& cols,
                                                  const Matrix<const Scalar>& dout,
                                                  const Matrix<Scalar>& dcols) {
  const int K = geometry_.in_features, O = geometry_.out_features, P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  const Matrix<const Scalar> stacked = stack_dout(dout);

  // Per example: D_e = [dout | dr]_e^T cols_e = [dL/dmu ; dr^T cols]_e (2O x K);
  // then dL/dmu += sum_e top_e and dL/d(dW) = sum_e bottom_e o S_e.
  gemm_blocks<Scalar>(examples, 'T', 'N', 1, stacked, cols, 0,
                      Matrix<Scalar>(d_examples_.data(), std::size_t(examples) * 2 * O, K));
  affine::reduce_examples(d_examples_, sign_columns_, examples, O, K, kernel_.grad_mu(), d_kernel_);
  kernel_.backprop(d_kernel_);

  if (dcols.data() != nullptr) {
    // The narrow forward kernel does not build the per-example weights; dcols needs them.
    if (!example_weights_ready_)
      affine::example_weights(kernel_.mu(), kernel_.draw(), sign_columns_, examples, O, K,
                              example_weights_);
    gemm_blocks<Scalar>(
        examples, 'N', 'N', 1, stacked,
        Matrix<const Scalar>(example_weights_.data(), std::size_t(examples) * 2 * O, K), 0, dcols);
  }
  add_bias_gradient(dout);
}

// The rest of BayesianAffine is instantiated in bayesian_affine.cpp.
#define KBNN_INSTANTIATE(Scalar)                                                             \
  template void BayesianAffine<Scalar>::forward_per_example(                                 \
      const Matrix<const Scalar>&, const Matrix<Scalar>&, const View1<Scalar>&);            \
  template void BayesianAffine<Scalar>::backward_per_example(                                \
      const Matrix<const Scalar>&, const Matrix<const Scalar>&, const Matrix<Scalar>&);
KBNN_INSTANTIATE(float)
KBNN_INSTANTIATE(double)
#undef KBNN_INSTANTIATE

}  // namespace kbnn

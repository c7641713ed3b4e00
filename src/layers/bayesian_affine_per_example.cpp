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
// small gemm per example, which suits CPUs. The backward pass runs block by block
// (BayesianAffine::backward_block), so a convolution can rebuild cols a few examples at a time. When the outputs fit the narrow kernel,
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

// One block of whole examples, from first_example on: D_e = [dout | dr]_e^T cols_e
// (2O x K) into d_examples_ (backward_end sums them), and dcols_e.
template <class Scalar>
void BayesianAffine<Scalar>::backward_per_example(const Matrix<const Scalar>& cols,
                                                  const Matrix<const Scalar>& dout,
                                                  const Matrix<Scalar>& dcols, int first_example) {
  const int K = geometry_.in_features, O = geometry_.out_features, P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  const std::size_t block = std::size_t(2) * O * K;  // numbers per example
  auto stacked = as_matrix(stacked_, rows, 2 * O);
  affine::stack_dout(dout,
                     View2<Scalar>(Kokkos::subview(sign_out_, Kokkos::make_pair(first_example, first_example + examples),
                                                   Kokkos::ALL)),
                     P, stacked);
  gemm_blocks<Scalar>(examples, 'T', 'N', 1, Matrix<const Scalar>(stacked), cols, 0,
                      Matrix<Scalar>(d_examples_.data() + first_example * block,
                                     std::size_t(examples) * 2 * O, K));
  if (dcols.data() != nullptr)
    gemm_blocks<Scalar>(examples, 'N', 'N', 1, Matrix<const Scalar>(stacked),
                        Matrix<const Scalar>(example_weights_.data() + first_example * block,
                                             std::size_t(examples) * 2 * O, K),
                        0, dcols);
}

// The rest of BayesianAffine is instantiated in bayesian_affine.cpp.
#define KBNN_INSTANTIATE(Scalar)                                                             \
  template void BayesianAffine<Scalar>::forward_per_example(                                 \
      const Matrix<const Scalar>&, const Matrix<Scalar>&, const View1<Scalar>&);            \
  template void BayesianAffine<Scalar>::backward_per_example(                                \
      const Matrix<const Scalar>&, const Matrix<const Scalar>&, const Matrix<Scalar>&, int);
KBNN_INSTANTIATE(float)
KBNN_INSTANTIATE(double)
#undef KBNN_INSTANTIATE

}  // namespace kbnn

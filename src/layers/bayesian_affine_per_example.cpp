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
// small gemm per example, which suits CPUs; the gemm path in bayesian_affine.cpp is
// the reference, and tests compare the two.
#include "layers/bayesian_affine.hpp"

#include "core/gemm.hpp"

namespace kbnn {

template <class Scalar>
void BayesianAffine<Scalar>::forward_per_example(const Matrix<const Scalar>& cols,
                                                 const Matrix<Scalar>& out,
                                                 const View1<Scalar>& bias) {
  const int K = geometry_.in_features, O = geometry_.out_features, P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  auto weights = example_weights_;
  auto mu = kernel_.mu();
  auto delta = kernel_.draw();
  auto s = sign_columns_;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::example_weights", Range(0, std::int64_t(examples) * 2 * O),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const int e = static_cast<int>(i / (2 * O)), o2 = static_cast<int>(i % (2 * O));
        Scalar* w = &weights(i * K);
        if (o2 < O)
          for (int k = 0; k < K; ++k) w[k] = mu(o2 * K + k);
        else
          for (int k = 0; k < K; ++k) w[k] = delta((o2 - O) * K + k) * s(e, k);
      });
  for (int e = 0; e < examples; ++e)
    gemm<Scalar>('N', 'T', 1, Matrix<const Scalar>(cols.data() + std::int64_t(e) * P * K, P, K),
                 Matrix<const Scalar>(weights.data() + std::int64_t(e) * 2 * O * K, 2 * O, K), 0,
                 Matrix<Scalar>(example_out_.data() + std::int64_t(e) * P * 2 * O, P, 2 * O));
  auto both = example_out_;
  auto r = sign_out_;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::combine_per_example", Range(0, rows), KOKKOS_LAMBDA(const int row) {
        const int e = row / P;
        for (int o = 0; o < O; ++o) out(row, o) = both(row, o) + both(row, O + o) * r(e, o) + bias(o);
      });
  per_example_weights_ready_ = true;
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_per_example(const Matrix<const Scalar>& cols,
                                                  const Matrix<const Scalar>& dout,
                                                  const Matrix<Scalar>& dcols) {
  const int K = geometry_.in_features, O = geometry_.out_features, P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  const auto stacked = stack_dout(dout);

  // Per example: D_e = [dout | dr]_e^T cols_e = [dL/dmu ; dr^T cols]_e (2O x K);
  // then dL/dmu += sum_e top_e and dL/d(dW) = sum_e bottom_e o S_e.
  for (int e = 0; e < examples; ++e)
    gemm<Scalar>('T', 'N', 1,
                 Matrix<const Scalar>(stacked.data() + std::int64_t(e) * P * 2 * O, P, 2 * O),
                 Matrix<const Scalar>(cols.data() + std::int64_t(e) * P * K, P, K), 0,
                 Matrix<Scalar>(d_examples_.data() + std::int64_t(e) * 2 * O * K, 2 * O, K));
  auto per_example = d_examples_;
  auto s = sign_columns_;
  auto gmu = kernel_.grad_mu();
  auto dk = d_kernel_;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::reduce_examples", Range(0, O * K), KOKKOS_LAMBDA(const int i) {
        const int k = i % K;
        Scalar mean = 0, perturbation = 0;
        for (int e = 0; e < examples; ++e) {
          const Scalar* d = &per_example(std::int64_t(e) * 2 * O * K);
          mean += d[i];
          perturbation += d[O * K + i] * s(e, k);
        }
        gmu(i) += mean;
        dk(i) = perturbation;
      });
  kernel_.backprop(d_kernel_);

  if (dcols.data() != nullptr)
    for (int e = 0; e < examples; ++e)
      gemm<Scalar>('N', 'N', 1,
                   Matrix<const Scalar>(stacked.data() + std::int64_t(e) * P * 2 * O, P, 2 * O),
                   Matrix<const Scalar>(example_weights_.data() + std::int64_t(e) * 2 * O * K, 2 * O, K),
                   0, Matrix<Scalar>(dcols.data() + std::int64_t(e) * P * K, P, K));
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

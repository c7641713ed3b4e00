// Flipout in a convolution as a batched gemm with per-example weights [mu ; dW o S_e]
// (layers/affine_flipout_per_example.cpp). Host memory only: a loop of small gemms
// suits CPUs.
//
// Notation: rows = examples * P (P positions per example: 1 for dense), row r belongs
// to example e = r / P. S (examples, K) holds the input signs spread over the K columns,
// R (examples, O) the output signs.
#pragma once

#include "core/types.hpp"

namespace kbnn {
namespace affine {

// weights (examples * O, K): block e is example e's effective Flipout weights
//   W_e(o, k) = mu(o, k) + R(e, o) S(e, k) dW(o, k),
// so that its rows' outputs are cols_e W_e^T + b, one product instead of two.
template <class Scalar>
void example_weights(const View1<Scalar>& mu, const View1<Scalar>& delta,
                     const View2<Scalar>& spread, const View2<Scalar>& sign_out, int examples,
                     int O, int K, const View1<Scalar>& weights) {
  Kokkos::parallel_for(
      "kbnn::affine::example_weights", Range(0, std::int64_t(examples) * O),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const int e = static_cast<int>(i / O), o = static_cast<int>(i % O);
        const Scalar r = sign_out(e, o);
        Scalar* KOKKOS_RESTRICT w = &weights(i * K);
        for (int k = 0; k < K; ++k) w[k] = mu(o * K + k) + r * spread(e, k) * delta(o * K + k);
      });
}

// Sums per-example gradients D_e = dout_e^T cols_e (examples * O * K), the gradient
// of each example's W_e: grad_mu += sum_e D_e, d_draw = sum_e R(e, o) S(e, k) D_e(o, k).
// An empty spread means S = 1 (one input channel: S is folded into R).
template <class Scalar>
void reduce_examples(const View1<Scalar>& per_example, const View2<Scalar>& spread,
                     const View2<Scalar>& sign_out, int examples, int O, int K,
                     const View1<Scalar>& grad_mu, const View1<Scalar>& d_draw) {
  const bool with_spread = spread.data() != nullptr;
  Kokkos::parallel_for(
      "kbnn::affine::reduce_examples", Range(0, O * K), KOKKOS_LAMBDA(const std::int64_t i) {
        const int o = static_cast<int>(i / K), k = static_cast<int>(i % K);
        Scalar mean = 0, perturbation = 0;
        for (int e = 0; e < examples; ++e) {
          const Scalar d = per_example(std::int64_t(e) * O * K + i);
          mean += d;
          perturbation += d * sign_out(e, o) * (with_spread ? spread(e, k) : Scalar(1));
        }
        grad_mu(i) += mean;
        d_draw(i) = perturbation;
      });
}

}  // namespace affine
}  // namespace kbnn

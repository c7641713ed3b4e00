// Matrix products through Kokkos Kernels (OpenBLAS on CPU, cuBLAS / rocBLAS on GPU).
// All our matrices are row-major windows (Matrix<T>); transposes are flags, not copies.
#pragma once

#include "core/types.hpp"

#include <KokkosBlas3_gemm.hpp>

namespace kbnn {

// C = alpha * op(A) op(B) + beta * C, op = 'N' (as is) or 'T' (transposed).
template <class Scalar>
void gemm(char trans_a, char trans_b, Scalar alpha, const Matrix<const Scalar>& a,
          const Matrix<const Scalar>& b, Scalar beta, const Matrix<Scalar>& c) {
  const char ta[2] = {trans_a, '\0'};
  const char tb[2] = {trans_b, '\0'};
  KokkosBlas::gemm(ta, tb, alpha, a, b, beta, c);
}

}  // namespace kbnn

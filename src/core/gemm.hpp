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

// The same gemm on `blocks` equal row blocks of a, b and c: block i of each is rows
// [i n / blocks, (i + 1) n / blocks). A host loop of small gemms, so callers take this
// path only when host_accessible; on device memory it aborts.
template <class Scalar>
void gemm_blocks(int blocks, char trans_a, char trans_b, Scalar alpha,
                 const Matrix<const Scalar>& a, const Matrix<const Scalar>& b, Scalar beta,
                 const Matrix<Scalar>& c) {
  if constexpr (!host_accessible) {
    Kokkos::abort("kbnn::gemm_blocks: a host loop over device memory");
  } else {
    const std::size_t ar = a.extent(0) / blocks, br = b.extent(0) / blocks, cr = c.extent(0) / blocks;
    for (int i = 0; i < blocks; ++i)
      gemm<Scalar>(trans_a, trans_b, alpha,
                   Matrix<const Scalar>(a.data() + i * ar * a.stride(0), ar, a.extent(1)),
                   Matrix<const Scalar>(b.data() + i * br * b.stride(0), br, b.extent(1)), beta,
                   Matrix<Scalar>(c.data() + i * cr * c.stride(0), cr, c.extent(1)));
  }
}

}  // namespace kbnn

// The bias kernels of the affine map (layers/bayesian_affine.cpp): adding a bias to
// every row, and its gradient as a column sum that does not depend on the thread count.
#pragma once

#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {
namespace affine {

// out(r, o) += bias(o).
template <class Scalar>
void add_bias(const View1<Scalar>& bias, const Matrix<Scalar>& out,
              ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::add_bias", out.extent(0), static_cast<int>(out.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t r, const int o) { out(r, o) += bias(o); }, shape);
}

// sums(o) = sum over rows r of x(r, o): the bias gradient. Blocks of column_block rows
// are summed into partial (blocks, O), then the blocks in order, so the result does not
// depend on the thread count or shape: one thread per block (rows; a CPU core runs its
// rows as vectors) or per (block, column) (elements: a GPU's neighbouring threads read
// neighbouring columns). (KokkosBlas::gemv of x^T with a vector of ones cost 3 % of a
// LeNet step on one CPU core; this is a fifth of that.)
constexpr int column_block = 256;

template <class Scalar>
void column_sums(const Matrix<const Scalar>& x, const View2<Scalar>& partial,
                 const View1<Scalar>& sums, ThreadShape shape = native_shape) {
  const std::int64_t rows = x.extent(0);
  const int O = static_cast<int>(x.extent(1));
  const std::int64_t blocks = (rows + column_block - 1) / column_block;
  if (shape == ThreadShape::elements) {
    for_each_element(
        "kbnn::affine::column_sums(blocks)", blocks, O,
        KOKKOS_LAMBDA(const std::int64_t b, const int o) {
          const std::int64_t end = (b + 1) * column_block < rows ? (b + 1) * column_block : rows;
          Scalar acc = 0;
          for (std::int64_t r = b * column_block; r < end; ++r) acc += x(r, o);
          partial(b, o) = acc;
        },
        shape);
  } else {
    Kokkos::parallel_for(
        "kbnn::affine::column_sums(blocks)", Range(0, blocks), KOKKOS_LAMBDA(const std::int64_t b) {
          Scalar* KOKKOS_RESTRICT acc = &partial(b, 0);
          for (int o = 0; o < O; ++o) acc[o] = 0;
          const std::int64_t end = (b + 1) * column_block < rows ? (b + 1) * column_block : rows;
          for (std::int64_t r = b * column_block; r < end; ++r) {
            const Scalar* KOKKOS_RESTRICT row = &x(r, 0);
            for (int o = 0; o < O; ++o) acc[o] += row[o];
          }
        });
  }
  Kokkos::parallel_for(
      "kbnn::affine::column_sums", Range(0, O), KOKKOS_LAMBDA(const int o) {
        Scalar sum = 0;
        for (std::int64_t b = 0; b < blocks; ++b) sum += partial(b, o);
        sums(o) = sum;
      });
}

// y += x.
template <class Scalar>
void add_to(const View1<Scalar>& x, const View1<Scalar>& y) {
  Kokkos::parallel_for(
      "kbnn::affine::add_to", Range(0, y.extent(0)), KOKKOS_LAMBDA(const std::int64_t i) { y(i) += x(i); });
}

}  // namespace affine
}  // namespace kbnn

// Flipout's elementwise kernels (layers/affine_flipout.cpp): the signs S and R, applied
// to rows of cols, outputs and output gradients, each in either thread shape
// (core/thread_shape.hpp). Free functions that take Views and sizes, like every kernel
// of the affine map: each can be tested alone against a plain loop, and none sits in a
// private member function (nvcc rejects extended lambdas there).
//
// Notation: rows = examples * P (P positions per example: 1 for dense), row r belongs
// to example e = r / P. S (examples, K) holds the input signs spread over the K columns,
// R (examples, O) the output signs.
#pragma once

#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {
namespace affine {

// Calls f(r, e, j) for every element (r, j) of a rows x cols grid, row r belonging to
// example e = r / P, in either thread shape: for_each_element, but with e computed once
// per row in the rows shape (a division per element cost 2 % of a LeNet step on a CPU).
template <class F>
void for_each_example_element(const char* name, std::int64_t rows, int cols, int P, const F& f,
                              ThreadShape shape) {
  if (shape == ThreadShape::elements) {
    for_each_element(
        name, rows, cols, KOKKOS_LAMBDA(const std::int64_t r, const int j) { f(r, r / P, j); },
        shape);
    return;
  }
  Kokkos::parallel_for(
      name, Range(0, rows), KOKKOS_LAMBDA(const std::int64_t r) {
        const std::int64_t e = r / P;
        for (int j = 0; j < cols; ++j) f(r, e, j);
      });
}

// Rademacher S per (example, input channel), spread over the K columns of cols:
// column k belongs to channel k % C, so kernels that apply S run straight loops. K is a
// whole number of channel groups (K / C positions of the patch), so spread is written as
// examples * K / C rows of C numbers, group g of example e = g / (K / C) a copy of S(e, :).
template <class Scalar>
void spread_signs(const View2<Scalar>& sign_in, int examples, const View2<Scalar>& spread,
                  ThreadShape shape = native_shape) {
  const int C = static_cast<int>(sign_in.extent(1)), groups = static_cast<int>(spread.extent(1)) / C;
  const Matrix<Scalar> rows(spread.data(), std::int64_t(examples) * groups, C);
  for_each_example_element(
      "kbnn::affine::spread_signs", rows.extent(0), C, groups,
      KOKKOS_LAMBDA(const std::int64_t g, const std::int64_t e, const int c) {
        rows(g, c) = sign_in(e, c);
      },
      shape);
}

// R(e, :) *= S(e, 0): with one input channel (cols o S) dW^T o R = (cols dW^T) o (S R).
template <class Scalar>
void fold_signs(const View2<Scalar>& sign_in, int examples, const View2<Scalar>& sign_out,
                ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::fold_signs", examples, static_cast<int>(sign_out.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t e, const int o) { sign_out(e, o) *= sign_in(e, 0); }, shape);
}

// y(r, j) = x(r, j) * signs(r / P, j): cols o S, or dout o R.
template <class Scalar>
void sign_rows(const Matrix<const Scalar>& x, const View2<Scalar>& signs, int P,
               const Matrix<Scalar>& y, ThreadShape shape = native_shape) {
  for_each_example_element(
      "kbnn::affine::sign_rows", x.extent(0), static_cast<int>(x.extent(1)), P,
      KOKKOS_LAMBDA(const std::int64_t r, const std::int64_t e, const int j) {
        y(r, j) = x(r, j) * signs(e, j);
      },
      shape);
}

// y(r, j) += x(r, j) * signs(r / P, j): applies S to the perturbation part of dcols.
template <class Scalar>
void add_signed_rows(const Matrix<const Scalar>& x, const View2<Scalar>& signs, int P,
                     const Matrix<Scalar>& y, ThreadShape shape = native_shape) {
  for_each_example_element(
      "kbnn::affine::add_signed_rows", x.extent(0), static_cast<int>(x.extent(1)), P,
      KOKKOS_LAMBDA(const std::int64_t r, const std::int64_t e, const int j) {
        y(r, j) += x(r, j) * signs(e, j);
      },
      shape);
}

// out(r, o) = mean(r, o) + pert(r, o) R(r / P, o) + bias(o); mean may be out itself.
// mean and pert are any 2-D views (column windows of one [mean | pert] buffer too).
template <class Scalar, class MeanView, class PertView>
void combine(const MeanView& mean, const PertView& pert, const View2<Scalar>& sign_out,
             const View1<Scalar>& bias, int P, const Matrix<Scalar>& out,
             ThreadShape shape = native_shape) {
  for_each_example_element(
      "kbnn::affine::combine", out.extent(0), static_cast<int>(out.extent(1)), P,
      KOKKOS_LAMBDA(const std::int64_t r, const std::int64_t e, const int o) {
        out(r, o) = mean(r, o) + pert(r, o) * sign_out(e, o) + bias(o);
      },
      shape);
}

// stacked (rows, 2 O) = [dout | dout o R].
template <class Scalar>
void stack_dout(const Matrix<const Scalar>& dout, const View2<Scalar>& sign_out, int P,
                const Matrix<Scalar>& stacked, ThreadShape shape = native_shape) {
  const int O = static_cast<int>(dout.extent(1));
  for_each_example_element(
      "kbnn::affine::stack_dout", dout.extent(0), O, P,
      KOKKOS_LAMBDA(const std::int64_t r, const std::int64_t e, const int o) {
        stacked(r, o) = dout(r, o);
        stacked(r, O + o) = dout(r, o) * sign_out(e, o);
      },
      shape);
}

// both = [top ; bottom], n numbers each: grad_mu += top, d_draw = bottom.
template <class Scalar>
void unstack_gradients(const View1<Scalar>& both, const View1<Scalar>& grad_mu,
                       const View1<Scalar>& d_draw) {
  const int n = static_cast<int>(d_draw.extent(0));
  Kokkos::parallel_for(
      "kbnn::affine::unstack_gradients", Range(0, n), KOKKOS_LAMBDA(const std::int64_t i) {
        grad_mu(i) += both(i);
        d_draw(i) = both(n + i);
      });
}

}  // namespace affine
}  // namespace kbnn

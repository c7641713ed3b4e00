// The kernels of local reparameterization (layers/affine_local_reparam.cpp):
//   out = cols mu^T + sqrt(cols^2 (sigma^2)^T) o E + b, one standard normal E per output.
// Each is elementwise, in either thread shape (core/thread_shape.hpp).
#pragma once

#include "core/math.hpp"
#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {
namespace affine {

// y(r, k) = x(r, k)^2.
template <class Scalar>
void square(const Matrix<const Scalar>& x, const Matrix<Scalar>& y,
            ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::square", x.extent(0), static_cast<int>(x.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t r, const int j) { y(r, j) = x(r, j) * x(r, j); }, shape);
}

// On entry stddev holds the output variances v = cols^2 (sigma^2)^T; on exit their
// square roots s, and out(r, o) += s(r, o) eps(r, o) + bias(o).
template <class Scalar>
void add_output_noise(const Matrix<Scalar>& stddev, const Matrix<const Scalar>& eps,
                      const View1<Scalar>& bias, const Matrix<Scalar>& out,
                      ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::add_output_noise", out.extent(0), static_cast<int>(out.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t r, const int o) {
        const Scalar s = math::sqrt(stddev(r, o));
        stddev(r, o) = s;
        out(r, o) += s * eps(r, o) + bias(o);
      },
      shape);
}

// d_variance(r, o) = dL/dv = dout eps / (2 s). Where s = 0 the row of cols is zero,
// so v has no gradient to pass on (dv/d sigma^2 = cols^2 = 0): 0, not 0 * inf.
template <class Scalar>
void output_variance_gradient(const Matrix<const Scalar>& dout, const Matrix<const Scalar>& eps,
                              const Matrix<const Scalar>& stddev, const Matrix<Scalar>& d_variance,
                              ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::output_variance_gradient", dout.extent(0), static_cast<int>(dout.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t r, const int o) {
        const Scalar s = stddev(r, o);
        d_variance(r, o) = s > Scalar(0) ? dout(r, o) * eps(r, o) / (Scalar(2) * s) : Scalar(0);
      },
      shape);
}

// dcols(r, k) += 2 cols(r, k) t(r, k), with t = dL/dv sigma^2: the variance path's share.
template <class Scalar>
void add_variance_input_gradient(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& t,
                                 const Matrix<Scalar>& dcols, ThreadShape shape = native_shape) {
  for_each_element(
      "kbnn::affine::add_variance_input_gradient", cols.extent(0), static_cast<int>(cols.extent(1)),
      KOKKOS_LAMBDA(const std::int64_t r, const int j) {
        dcols(r, j) += Scalar(2) * cols(r, j) * t(r, j);
      },
      shape);
}

}  // namespace affine
}  // namespace kbnn

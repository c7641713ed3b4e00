// The kernels of local reparameterization (layers/affine_local_reparam.cpp):
//   out = cols mu^T + sqrt(cols^2 (sigma^2)^T) o E + b, one standard normal E per output.
#pragma once

#include "core/math.hpp"
#include "core/types.hpp"

namespace kbnn {
namespace affine {

// y(r, k) = x(r, k)^2.
template <class Scalar>
void square(const Matrix<const Scalar>& x, const Matrix<Scalar>& y) {
  const int n = static_cast<int>(x.extent(1));
  Kokkos::parallel_for(
      "kbnn::affine::square", Range(0, x.extent(0)), KOKKOS_LAMBDA(const int r) {
        for (int j = 0; j < n; ++j) y(r, j) = x(r, j) * x(r, j);
      });
}

// On entry stddev holds the output variances v = cols^2 (sigma^2)^T; on exit their
// square roots s, and out(r, o) += s(r, o) eps(r, o) + bias(o).
template <class Scalar>
void add_output_noise(const Matrix<Scalar>& stddev, const Matrix<const Scalar>& eps,
                      const View1<Scalar>& bias, const Matrix<Scalar>& out) {
  const int O = static_cast<int>(out.extent(1));
  Kokkos::parallel_for(
      "kbnn::affine::add_output_noise", Range(0, out.extent(0)), KOKKOS_LAMBDA(const int r) {
        for (int o = 0; o < O; ++o) {
          const Scalar s = math::sqrt(stddev(r, o));
          stddev(r, o) = s;
          out(r, o) += s * eps(r, o) + bias(o);
        }
      });
}

// d_variance(r, o) = dL/dv = dout eps / (2 s). Where s = 0 the row of cols is zero,
// so v has no gradient to pass on (dv/d sigma^2 = cols^2 = 0): 0, not 0 * inf.
template <class Scalar>
void output_variance_gradient(const Matrix<const Scalar>& dout, const Matrix<const Scalar>& eps,
                              const Matrix<const Scalar>& stddev,
                              const Matrix<Scalar>& d_variance) {
  const int O = static_cast<int>(dout.extent(1));
  Kokkos::parallel_for(
      "kbnn::affine::output_variance_gradient", Range(0, dout.extent(0)),
      KOKKOS_LAMBDA(const int r) {
        for (int o = 0; o < O; ++o) {
          const Scalar s = stddev(r, o);
          d_variance(r, o) = s > Scalar(0) ? dout(r, o) * eps(r, o) / (Scalar(2) * s) : Scalar(0);
        }
      });
}

// dcols(r, k) += 2 cols(r, k) t(r, k), with t = dL/dv sigma^2: the variance path's share.
template <class Scalar>
void add_variance_input_gradient(const Matrix<const Scalar>& cols, const Matrix<const Scalar>& t,
                                 const Matrix<Scalar>& dcols) {
  const int n = static_cast<int>(cols.extent(1));
  Kokkos::parallel_for(
      "kbnn::affine::add_variance_input_gradient", Range(0, cols.extent(0)),
      KOKKOS_LAMBDA(const int r) {
        for (int j = 0; j < n; ++j) dcols(r, j) += Scalar(2) * cols(r, j) * t(r, j);
      });
}

}  // namespace affine
}  // namespace kbnn

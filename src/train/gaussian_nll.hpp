// The Gaussian negative log-likelihood, the data term of the negative ELBO for
// regression (both Gaussian likelihoods: the network's rows hold the means and then the
// log-variances, layers/noise_variance.hpp). For target t of row b, r = y - mu and the
// row's log-variance v:
//   nll = 1/2 log(2 pi) + 1/2 s + 1/2 r^2 exp(-s),      s = log sigma^2 = bound(v)
//   dnll/dmu = -r exp(-s),   dnll/dv = (1/2 - 1/2 r^2 exp(-s)) bound'(v)
// in the units the network sees (standardized targets when data.standardize is on);
// bound is the identity for |v| <= 40 (train/log_variance_bound.hpp).
#pragma once

#include "core/math.hpp"
#include "core/types.hpp"
#include "train/log_variance_bound.hpp"
#include "train/loss.hpp"

namespace kbnn {

// 1/2 log(2 pi).
constexpr double half_log_two_pi = 0.91893853320467274178;

// Returns the sums over this shard's rows: nll (summed over targets) and, in `correct`'s
// place, the sum of squared errors in the targets' own units (r times `scale`, the
// targets' standard deviations, (T)). Writes dout = d nll / d out * grad_scale, where
// grad_scale = 1 / (global batch size), as softmax_cross_entropy does. out, dout: (rows,
// 2T); y: (rows, T); squared_error: (rows) scratch.
template <class Scalar>
LossSums gaussian_nll(const Matrix<const Scalar>& out, const Matrix<const Scalar>& y,
                      const View1<const double>& scale, Scalar grad_scale,
                      const Matrix<Scalar>& dout, const View1<double>& squared_error) {
  const int rows = static_cast<int>(out.extent(0));
  const int targets = static_cast<int>(y.extent(1));
  LossSums sums;
  Kokkos::parallel_reduce(
      "kbnn::gaussian_nll", Range(0, rows),
      KOKKOS_LAMBDA(const int b, double& nll) {
        double row_error = 0;
        for (int t = 0; t < targets; ++t) {
          const Scalar v = out(b, targets + t), s = bounded_log_variance(v);
          const Scalar r = y(b, t) - out(b, t);
          const Scalar precision = math::exp(-s);
          dout(b, t) = -r * precision * grad_scale;
          const Scalar ds = (Scalar(0.5) - Scalar(0.5) * r * r * precision) * grad_scale;
          dout(b, targets + t) = s == v ? ds : ds * bounded_log_variance_slope(v);
          nll += half_log_two_pi + 0.5 * double(s) + 0.5 * double(r) * double(r) * double(precision);
          const double e = double(r) * scale(t);
          row_error += e * e;
        }
        squared_error(b) = row_error;
      },
      sums.nll);
  Kokkos::parallel_reduce(
      "kbnn::sum_squared_error", Range(0, rows),
      KOKKOS_LAMBDA(const int b, double& sum) { sum += squared_error(b); }, sums.correct);
  return sums;
}

}  // namespace kbnn

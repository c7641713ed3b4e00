// The bound on the log-variance s = log sigma^2 that both Gaussian likelihoods read from
// the network's rows (docs/design.md, "Regression"): the loss (train/gaussian_nll.hpp)
// and the predictive (uq/monte_carlo.cpp) take sigma^2 = exp(bound(s)),
//   bound(s) = s                                   |s| <= L = 40
//            = sign(s) (L + d / (1 + d / W))       beyond, d = |s| - L, W = 10
// the identity where a model describes its data (e^40 is 2e17 times the variance of
// standardized targets), so such runs keep their bits; beyond it, continuous with slope
// 1 / (1 + d / W)^2, strictly increasing, and never past +-(L + W) = +-50. Unbounded, a
// network fed inputs far from its training data (an OOD set, unstandardized features)
// gave s of hundreds: exp(s) overflowed float, and double past 709, into variances of
// inf; and in training exp(-s) underflowed a float past 87, taking the mean's gradient
// with it. PETS (Chua et al. 2018) soft-bounds s by softplus for the same reasons; a
// rational bend leaves the identity exact and keeps a gradient (slope 0.004 at s = 188)
// that Adam follows back. At the bound exp(50) = 5e21: a variance fits in float unless
// the targets' standard deviation (data.standardize) exceeds 2.6e8.
#pragma once

#include "core/math.hpp"

namespace kbnn {

constexpr double log_variance_linear = 40;  // L: bound(s) = s for |s| <= L
constexpr double log_variance_bend = 10;    // W: |bound(s)| < L + W

template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar bounded_log_variance(Scalar s) {
  const Scalar limit = Scalar(log_variance_linear), width = Scalar(log_variance_bend);
  const Scalar d = math::fabs(s) - limit;
  if (!(d > 0)) return s;  // NaN passes through
  const Scalar bent = limit + d / (1 + d / width);
  return s < 0 ? -bent : bent;
}

// d bound(s) / ds: 1 for |s| <= L.
template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar bounded_log_variance_slope(Scalar s) {
  const Scalar d = math::fabs(s) - Scalar(log_variance_linear);
  if (!(d > 0)) return Scalar(1);
  const Scalar q = 1 + d / Scalar(log_variance_bend);
  return 1 / (q * q);
}

}  // namespace kbnn

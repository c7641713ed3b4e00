// Gradient-norm clipping (train.clip_norm), as torch.nn.utils.clip_grad_norm_: the whole
// gradient g, the data term summed by the step's one allreduce plus the KL term, is
// scaled by min(1, C / (||g||_2 + 1e-6)) before the optimizer's step. Why: with a
// heteroscedastic likelihood, one Flipout draw that misplaces a well-fitted row (a
// predicted sigma of 0.02, a residual of 3 target standard deviations: |z| = 150) makes
// that row's NLL gradient ~ z^2, a step's gradient thousands of times its usual norm;
// Adam's moments take it in, and the second moment holds it for thousands of steps
// (docs/design.md, "Regression"). Clipped, such a step weighs in Adam's moments as an
// ordinary one. No message is needed: after the allreduce every rank holds the same
// gradient, so every rank computes the same norm and the same scale.
#pragma once

#include "core/types.hpp"

#include <cmath>

namespace kbnn {

// What a step's clipping saw: ||g||_2 before it, and whether g was scaled.
struct GradientClip {
  double norm = 0;
  bool clipped = false;
};

// Computes ||g||_2 (squares summed in double) and scales g in place when that exceeds
// max_norm (> 0). g: (size).
template <class Scalar>
GradientClip clip_gradient_norm(const View1<Scalar>& g, double max_norm) {
  double squares = 0;
  Kokkos::parallel_reduce(
      "kbnn::gradient_norm", Range(0, g.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i, double& sum) { sum += double(g(i)) * double(g(i)); },
      squares);
  const double norm = std::sqrt(squares);
  const double coefficient = max_norm / (norm + 1e-6);  // torch's epsilon
  if (coefficient >= 1) return {norm, false};
  const Scalar c = Scalar(coefficient);
  Kokkos::parallel_for(
      "kbnn::clip_gradient", Range(0, g.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { g(i) *= c; });
  return {norm, true};
}

}  // namespace kbnn

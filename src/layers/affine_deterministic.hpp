// The deterministic layer, the deterministic twin of any model (docs/design.md,
// "Estimators"): W is a point tensor and so is the bias.
//
//   out = cols W^T + b      dL/dW = dout^T cols      dcols = dout W
//
// Where it differs from reparam, with which it shares the products of one weight matrix
// (affine_one_weight.hpp): point_weights(), so BayesianAffine declares W with
// declare_point (no rho, so no KL term and no rho gradient) and the bias as a point
// bias whatever model.bayesian_bias says; and nothing is ever drawn, so W is mu in
// every pass and backprop reaches mu alone.
#pragma once

#include "layers/affine_one_weight.hpp"

namespace kbnn {

template <class Scalar>
class DeterministicAffine final : public OneWeightAffine<Scalar> {
 public:
  using typename AffineEstimator<Scalar>::Draw;
  using OneWeightAffine<Scalar>::OneWeightAffine;

  bool point_weights() const override { return true; }
  Draw kernel_draw(bool /*sample*/) const override { return Draw::mean; }
};

}  // namespace kbnn

// Reparameterization (docs/design.md, "Estimators"): one draw W = mu + sigma o eps for
// the whole batch, the same on every rank; the posterior mean W = mu when not sampling.
//
//   out = cols W^T + b      dL/dW = dout^T cols      dcols = dout W
//   dL/dmu += dL/dW         dL/drho += dL/dW o eps o sigmoid(rho)   (GaussianWeights)
//
// The products are those of one weight matrix (affine_one_weight.hpp), which
// deterministic layers share: what reparam adds is the draw, and through it rho.
#pragma once

#include "layers/affine_one_weight.hpp"

namespace kbnn {

template <class Scalar>
class ReparamAffine final : public OneWeightAffine<Scalar> {
 public:
  using typename AffineEstimator<Scalar>::Draw;
  using OneWeightAffine<Scalar>::OneWeightAffine;

  Draw kernel_draw(bool sample) const override { return sample ? Draw::full : Draw::mean; }
};

}  // namespace kbnn

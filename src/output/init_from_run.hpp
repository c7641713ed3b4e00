// A model's starting point from a trained run (model.init_from), and MOPED's posterior
// widths (model.moped_delta; Krishnan et al., AAAI 2020, as in bayesian-torch).
//
// The run file's /weights/<layer>/<tensor> (a deterministic run) or <tensor>_mu (a
// Bayesian one) becomes the mean of the same tensor here: mu of a Gaussian tensor, the
// values of a point tensor, whichever estimator either model used. With delta > 0,
// sigma = delta * |mu|, floored at moped_sigma_floor; otherwise rho keeps the value
// the model was initialised with (model.init_rho_mean).
#pragma once

#include "core/parameter_store.hpp"

#include <string>

namespace kbnn {

// The smallest sigma MOPED sets: a weight of exactly 0 would otherwise get sigma = 0,
// rho = -inf. 1e-5 is far below the TFP default (softplus(-3) = 0.049) yet leaves
// rho = log(expm1(1e-5)) = -11.5 finite, with a KL term that stays finite too.
constexpr double moped_sigma_floor = 1e-5;

// rho = log(exp(sigma) - 1), so that softplus(rho) = sigma = max(delta |w|, floor).
double moped_rho(double w, double delta);

// Sets every block of `store` from the run file at `path`. Throws InputError, naming
// the layer and both shapes, when the run's layers and tensors differ from the model's.
// Not collective: every rank may read the file itself.
template <class Scalar>
void initialize_from_run(ParameterStore<Scalar>& store, const std::string& path,
                         double moped_delta);

}  // namespace kbnn

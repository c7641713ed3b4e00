// KL(q || p) between the mean-field posterior q(w) = N(mu, softplus(rho)^2) and the
// prior p(w) = N(0, sigma_p^2), summed over every Gaussian weight of the store:
//
//   KL = sum_i [ log(sigma_p / sigma_i) + (sigma_i^2 + mu_i^2) / (2 sigma_p^2) - 1/2 ]
//
//   dKL/dmu_i  = mu_i / sigma_p^2
//   dKL/drho_i = (sigma_i / sigma_p^2 - 1 / sigma_i) * sigmoid(rho_i)
//
// The store keeps every mu in [0, n) and every rho in [n, 2n): one kernel each.
// Weights removed by pruning (store.keep() = 0) are not in the sum, and their whole
// gradient, the data term's included, is zeroed here, after the allreduce, so the
// optimizer never moves them.
#pragma once

#include "core/math.hpp"
#include "core/parameter_store.hpp"

#include <cmath>

namespace kbnn {

template <class Scalar>
double kl_divergence(const ParameterStore<Scalar>& store, double prior_sigma) {
  const std::int64_t n = store.gaussian_count();
  const auto p = store.values();
  const auto keep = store.keep();
  const double inv_var = 1.0 / (prior_sigma * prior_sigma);
  const double log_prior_sigma = std::log(prior_sigma);
  double kl = 0;
  Kokkos::parallel_reduce(
      "kbnn::kl_divergence", Range(0, n),
      KOKKOS_LAMBDA(const std::int64_t i, double& sum) {
        if (keep(i) == 0) return;
        const double mu = p(i);
        const double sigma = math::softplus(double(p(n + i)));
        sum += log_prior_sigma - math::log(sigma) + 0.5 * (sigma * sigma + mu * mu) * inv_var - 0.5;
      },
      kl);
  return kl;
}

// gradient += scale * dKL/d(mu, rho); scale is beta_t / N_train in the ELBO. Then
// the gradient of every pruned weight is set to zero.
template <class Scalar>
void add_kl_gradient(ParameterStore<Scalar>& store, double prior_sigma, double scale) {
  const std::int64_t n = store.gaussian_count();
  const auto p = store.values();
  const auto g = store.gradients();
  const auto keep = store.keep();
  const Scalar inv_var = Scalar(1.0 / (prior_sigma * prior_sigma));
  const Scalar c = Scalar(scale);
  Kokkos::parallel_for(
      "kbnn::add_kl_gradient", Range(0, n), KOKKOS_LAMBDA(const std::int64_t i) {
        const Scalar rho = p(n + i);
        const Scalar sigma = math::softplus(rho);
        g(i) = keep(i) * (g(i) + c * p(i) * inv_var);
        g(n + i) = keep(i) * (g(n + i) + c * (sigma * inv_var - Scalar(1) / sigma) * math::sigmoid(rho));
      });
}

}  // namespace kbnn

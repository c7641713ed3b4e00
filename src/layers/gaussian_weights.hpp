// A mean-field Gaussian weight tensor q(w) = N(mu, softplus(rho)^2): its draws and
// the chain rule back to mu and rho. Shared by Dense and Conv2d (kernels) and by
// Bayesian biases. The layer decides how the draw enters its product.
// A point tensor (declare_point: estimator = deterministic) is the same object with
// sigma = 0: a point block in the store, no rho, no noise; mu() holds its values.
#pragma once

#include "core/curand_noise.hpp"
#include "core/math.hpp"
#include "core/noise.hpp"
#include "core/parameter_store.hpp"
#include "core/philox.hpp"
#include "core/types.hpp"

namespace kbnn {

template <class Scalar>
class GaussianWeights {
 public:
  // What sample() writes into draw():
  //   full:         w = mu + sigma * eps          (reparameterization)
  //   perturbation: w = sigma * eps               (Flipout's delta W; the mean path uses mu)
  //   mean:         nothing is drawn; use mu()
  enum class Draw { full, perturbation, mean };

  void declare(ParameterStore<Scalar>& store, const std::string& name,
               const std::vector<std::size_t>& shape) {
    id_ = store.declare(name, shape, ParameterStore<Scalar>::Kind::gaussian);
    count_ = store.block(id_).count;
  }

  // A tensor with no posterior spread: stored as a point block (no rho, no KL term);
  // sample() never draws, so used() is mu() and backprop reaches mu alone.
  void declare_point(ParameterStore<Scalar>& store, const std::string& name,
                     const std::vector<std::size_t>& shape) {
    id_ = store.declare(name, shape, ParameterStore<Scalar>::Kind::point);
    count_ = store.block(id_).count;
    point_ = true;
  }

  void bind(const ParameterStore<Scalar>& store) {
    if (point_) {
      mu_ = store.point(id_);
      grad_mu_ = store.grad_point(id_);
      return;
    }
    mu_ = store.mu(id_);
    rho_ = store.rho(id_);
    grad_mu_ = store.grad_mu(id_);
    grad_rho_ = store.grad_rho(id_);
    keep_ = store.keep(id_);
    eps_ = View1<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::eps"), count_);
    draw_ = View1<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::draw"), count_);
  }

  // mu ~ N(0, mu_stddev^2) (or N(mu_mean, .)), rho ~ N(rho_mean, rho_stddev^2).
  // A point tensor sets mu alone.
  void initialize(const NoiseKey& key, double mu_stddev, double rho_mean, double rho_stddev) {
    auto mu = mu_;
    auto rho = rho_;
    const bool with_rho = !point_;
    Kokkos::parallel_for(
        "kbnn::GaussianWeights::initialize", Range(0, count_), KOKKOS_LAMBDA(const std::int64_t i) {
          mu(i) = Scalar(mu_stddev) * key.normal<Scalar>(Stream::init_mu, i);
          if (with_rho)
            rho(i) = Scalar(rho_mean) + Scalar(rho_stddev) * key.normal<Scalar>(Stream::init_rho, i);
        });
  }

  void sample(const NoiseKey& key, Stream stream, Draw draw,
              NoiseSource source = NoiseSource::philox) {
    draw_kind_ = point_ ? Draw::mean : draw;
    if (draw_kind_ == Draw::mean) return;
    if (source == NoiseSource::curand)
      curand_.fill(key, stream, eps_);
    else
      fill_normals(key, stream, 0, eps_.data(), count_);
    auto mu = mu_;
    auto rho = rho_;
    auto eps = eps_;
    auto out = draw_;
    auto keep = keep_;
    // A pruned weight (keep 0, mu 0) is exactly zero in every draw.
    Kokkos::parallel_for(
        "kbnn::GaussianWeights::sample", Range(0, count_), KOKKOS_LAMBDA(const std::int64_t i) {
          out(i) = keep(i) * (math::softplus(rho(i)) * eps(i));
        });
    // The full draw adds mu in a pass of its own: mu + (sigma eps), each rounded as the
    // definition reads (in one expression the compiler may fuse them into one rounding,
    // which moves a weight by an ulp against PyTorch's).
    if (draw == Draw::full)
      Kokkos::parallel_for(
          "kbnn::GaussianWeights::sample_add_mean", Range(0, count_),
          KOKKOS_LAMBDA(const std::int64_t i) { out(i) = keep(i) * (mu(i) + out(i)); });
  }

  // Given dL/d(used weights), adds dL/dmu (unless only the perturbation was used)
  // and dL/drho (unless no noise was drawn) to the gradient.
  // d draw / d rho = eps * sigmoid(rho), since d softplus = sigmoid.
  void backprop(const View1<const Scalar>& d_used) const {
    auto rho = rho_;
    auto eps = eps_;
    auto gmu = grad_mu_;
    auto grho = grad_rho_;
    // One straight loop per target (they vectorize).
    if (draw_kind_ != Draw::perturbation)
      Kokkos::parallel_for(
          "kbnn::GaussianWeights::backprop_mu", Range(0, count_),
          KOKKOS_LAMBDA(const std::int64_t i) { gmu(i) += d_used(i); });
    if (draw_kind_ != Draw::mean)
      Kokkos::parallel_for(
          "kbnn::GaussianWeights::backprop_rho", Range(0, count_), KOKKOS_LAMBDA(const std::int64_t i) {
            grho(i) += d_used(i) * eps(i) * math::sigmoid(rho(i));
          });
  }

  // variance(i) = sigma_i^2, for local reparameterization (out = x mu + sqrt(x^2 sigma^2) eps);
  // 0 for a pruned weight.
  void variance(const View1<Scalar>& variance) const {
    auto rho = rho_;
    auto keep = keep_;
    Kokkos::parallel_for(
        "kbnn::GaussianWeights::variance", Range(0, count_), KOKKOS_LAMBDA(const std::int64_t i) {
          const Scalar sigma = math::softplus(rho(i));
          variance(i) = keep(i) * sigma * sigma;
        });
  }

  // Given dL/d(sigma^2), adds dL/drho = dL/d(sigma^2) * 2 sigma * sigmoid(rho).
  void backprop_variance(const View1<const Scalar>& d_variance) const {
    auto rho = rho_;
    auto grho = grad_rho_;
    Kokkos::parallel_for(
        "kbnn::GaussianWeights::backprop_variance", Range(0, count_), KOKKOS_LAMBDA(const std::int64_t i) {
          grho(i) += d_variance(i) * Scalar(2) * math::softplus(rho(i)) * math::sigmoid(rho(i));
        });
  }

  // The weights the product uses: the draw, or mu when no noise was drawn.
  View1<Scalar> used() const { return draw_kind_ == Draw::mean ? mu_ : draw_; }
  View1<Scalar> mu() const { return mu_; }
  View1<Scalar> grad_mu() const { return grad_mu_; }
  View1<Scalar> draw() const { return draw_; }
  View1<Scalar> eps() const { return eps_; }  // the last sample's standard normals
  Draw draw_kind() const { return draw_kind_; }

 private:
  int id_ = -1;
  std::size_t count_ = 0;
  Draw draw_kind_ = Draw::mean;
  bool point_ = false;  // declared by declare_point: no rho, never drawn
  View1<Scalar> mu_, rho_, grad_mu_, grad_rho_;  // subviews of the store
  View1<Scalar> keep_;                           // the store's pruning mask of this block
  View1<Scalar> eps_;                            // (count): the standard-normal draw
  View1<Scalar> draw_;                           // (count): see Draw
  CurandNormals curand_;                         // model.noise = curand
};

}  // namespace kbnn

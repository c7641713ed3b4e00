// The observation noise of model.likelihood = gaussian (homoscedastic regression): one
// learned log-variance s_t per target, a point parameter of the store like any bias, so
// the gradient allreduce, the optimizer, checkpoints and /weights carry it. The layer
// appends it to every row, so both Gaussian likelihoods hand the loss and the
// predictive the same (rows, 2T) rows:
//   out(b, t) = in(b, t)       the mean mu_t                 t < T
//   out(b, T + t) = s_t        its log-variance log sigma_t^2
// (gaussian_heteroscedastic has no such layer: its last layer gives all 2T numbers.)
#pragma once

#include "layers/layer.hpp"

namespace kbnn {

template <class Scalar>
class NoiseVariance : public Layer<Scalar> {
 public:
  NoiseVariance(std::string name, Shape in)
      : name_(std::move(name)), targets_(static_cast<int>(in.size())) {}

  std::string name() const override { return name_; }
  Shape output_shape() const override { return Shape{1, 1, 2 * targets_}; }

  void declare(ParameterStore<Scalar>& store) override {
    id_ = store.declare(name_ + "/log_variance", {std::size_t(targets_)},
                        ParameterStore<Scalar>::Kind::point);
  }
  void bind(const ParameterStore<Scalar>& store) override {
    log_variance_ = store.point(id_);
    grad_ = store.grad_point(id_);
  }
  // sigma^2 = 1 at the start: the variance of standardized targets.
  void initialize(std::uint64_t) override { Kokkos::deep_copy(log_variance_, Scalar(0)); }

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext&) override {
    const int targets = targets_;
    const auto s = log_variance_;
    Kokkos::parallel_for(
        "kbnn::NoiseVariance::forward", Range(0, in.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
          for (int t = 0; t < targets; ++t) {
            out(b, t) = in(b, t);
            out(b, targets + t) = s(t);
          }
        });
  }

  // dL/ds_t = sum over rows of dL/dout(b, T + t): one team per target, its rows summed
  // by the team's threads (a fixed order for a fixed team size).
  void backward(const Matrix<const Scalar>&, const Matrix<const Scalar>&,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override {
    const int targets = targets_;
    const auto grad = grad_;
    const int rows = static_cast<int>(dout.extent(0));
    using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "kbnn::NoiseVariance::backward_variance", Kokkos::TeamPolicy<ExecSpace>(targets, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int t = team.league_rank();
          Scalar sum = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, rows),
              [&](const int b, Scalar& partial) { partial += dout(b, targets + t); }, sum);
          Kokkos::single(Kokkos::PerTeam(team), [&]() { grad(t) += sum; });
        });
    if (din.data() == nullptr) return;
    Kokkos::parallel_for(
        "kbnn::NoiseVariance::backward_mean", Range(0, rows), KOKKOS_LAMBDA(const std::int64_t b) {
          for (int t = 0; t < targets; ++t) din(b, t) = dout(b, t);
        });
  }

 private:
  std::string name_;
  int targets_;
  int id_ = -1;
  View1<Scalar> log_variance_;  // (T)
  View1<Scalar> grad_;          // (T)
};

}  // namespace kbnn

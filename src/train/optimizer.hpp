// Optimizers over the flat parameter buffer: one kernel per step for all layers.
#pragma once

#include "core/math.hpp"
#include "core/types.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace kbnn {

template <class Scalar>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params -= update(grads); `lr` is passed per step so schedules can change it.
  virtual void step(const View1<Scalar>& params, const View1<const Scalar>& grads, double lr) = 0;
  // The state a checkpoint must hold (moment buffers) and the step count.
  virtual std::vector<View1<Scalar>> state() const = 0;
  // A name for each buffer of state(), in order, as checkpoints store them.
  virtual std::vector<std::string> state_names() const = 0;
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }

 protected:
  std::int64_t steps_ = 0;
};

// Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam.
template <class Scalar>
class Adam : public Optimizer<Scalar> {
 public:
  Adam(std::size_t size, double beta1, double beta2, double epsilon)
      : beta1_(beta1), beta2_(beta2), epsilon_(epsilon),
        m_("kbnn::Adam::m", size), v_("kbnn::Adam::v", size) {}

  void step(const View1<Scalar>& params, const View1<const Scalar>& grads, double lr) override {
    const std::int64_t t = ++this->steps_;
    const Scalar b1 = Scalar(beta1_), b2 = Scalar(beta2_), eps = Scalar(epsilon_);
    // Bias corrections folded into the step size and epsilon, as in torch.
    const Scalar step_size = Scalar(lr / (1 - std::pow(beta1_, double(t))));
    const Scalar root_c2 = Scalar(std::sqrt(1 - std::pow(beta2_, double(t))));
    auto m = m_;
    auto v = v_;
    Kokkos::parallel_for(
        "kbnn::Adam::step", Range(0, params.extent(0)), KOKKOS_LAMBDA(const std::int64_t i) {
          const Scalar g = grads(i);
          m(i) = b1 * m(i) + (1 - b1) * g;
          v(i) = b2 * v(i) + (1 - b2) * g * g;
          params(i) -= step_size * m(i) / (math::sqrt(v(i)) / root_c2 + eps);
        });
  }
  std::vector<View1<Scalar>> state() const override { return {m_, v_}; }
  std::vector<std::string> state_names() const override { return {"adam_m", "adam_v"}; }

 private:
  double beta1_, beta2_, epsilon_;
  View1<Scalar> m_, v_;  // (size): first and second moments
};

// SGD with (heavy-ball) momentum, as torch.optim.SGD: buf = mu * buf + g; p -= lr * buf.
template <class Scalar>
class Sgd : public Optimizer<Scalar> {
 public:
  Sgd(std::size_t size, double momentum) : momentum_(momentum), velocity_("kbnn::Sgd::velocity", size) {}

  void step(const View1<Scalar>& params, const View1<const Scalar>& grads, double lr) override {
    ++this->steps_;
    const Scalar mu = Scalar(momentum_), rate = Scalar(lr);
    auto buf = velocity_;
    Kokkos::parallel_for(
        "kbnn::Sgd::step", Range(0, params.extent(0)), KOKKOS_LAMBDA(const std::int64_t i) {
          buf(i) = mu * buf(i) + grads(i);
          params(i) -= rate * buf(i);
        });
  }
  std::vector<View1<Scalar>> state() const override { return {velocity_}; }
  std::vector<std::string> state_names() const override { return {"sgd_velocity"}; }

 private:
  double momentum_;
  View1<Scalar> velocity_;  // (size)
};

}  // namespace kbnn

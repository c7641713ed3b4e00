// ReLU: out = max(in, 0); the gradient passes where the output is positive.
#pragma once

#include "layers/layer.hpp"

namespace kbnn {

template <class Scalar>
class ReLU : public Layer<Scalar> {
 public:
  ReLU(std::string name, Shape shape) : name_(std::move(name)), shape_(shape) {}

  std::string name() const override { return name_; }
  Shape output_shape() const override { return shape_; }

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext&) override {
    // Activations are contiguous: one flat loop, no index arithmetic.
    const Scalar* x = in.data();
    Scalar* y = out.data();
    Kokkos::parallel_for(
        "kbnn::ReLU::forward", Range(0, in.size()), KOKKOS_LAMBDA(const std::int64_t i) {
          y[i] = x[i] > Scalar(0) ? x[i] : Scalar(0);
        });
  }

  void backward(const Matrix<const Scalar>&, const Matrix<const Scalar>& out,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override {
    if (din.data() == nullptr) return;
    const Scalar* y = out.data();
    const Scalar* dy = dout.data();
    Scalar* dx = din.data();
    Kokkos::parallel_for(
        "kbnn::ReLU::backward", Range(0, out.size()), KOKKOS_LAMBDA(const std::int64_t i) {
          dx[i] = y[i] > Scalar(0) ? dy[i] : Scalar(0);
        });
  }

 private:
  std::string name_;
  Shape shape_;
};

}  // namespace kbnn

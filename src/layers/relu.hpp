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
    const std::int64_t n = shape_.size();
    Kokkos::parallel_for(
        "kbnn::ReLU::forward", Range(0, std::int64_t(in.extent(0)) * n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const Scalar x = in(i / n, i % n);
          out(i / n, i % n) = x > Scalar(0) ? x : Scalar(0);
        });
  }

  void backward(const Matrix<const Scalar>&, const Matrix<const Scalar>& out,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override {
    if (din.data() == nullptr) return;
    const std::int64_t n = shape_.size();
    Kokkos::parallel_for(
        "kbnn::ReLU::backward", Range(0, std::int64_t(out.extent(0)) * n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          din(i / n, i % n) = out(i / n, i % n) > Scalar(0) ? dout(i / n, i % n) : Scalar(0);
        });
  }

 private:
  std::string name_;
  Shape shape_;
};

}  // namespace kbnn

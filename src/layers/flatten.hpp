// Flatten: (H, W, C) -> (H*W*C). Activations are already rows of H*W*C numbers
// (NHWC, as TensorFlow flattens), so only the shape changes; the data is copied
// because every layer owns its output buffer.
#pragma once

#include "layers/layer.hpp"

namespace kbnn {

template <class Scalar>
class Flatten : public Layer<Scalar> {
 public:
  Flatten(std::string name, Shape input) : name_(std::move(name)), size_(int(input.size())) {}

  std::string name() const override { return name_; }
  Shape output_shape() const override { return Shape{1, 1, size_}; }

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext&) override {
    Kokkos::deep_copy(out, in);
  }
  void backward(const Matrix<const Scalar>&, const Matrix<const Scalar>&,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override {
    if (din.data() != nullptr) Kokkos::deep_copy(din, dout);
  }

 private:
  std::string name_;
  int size_;
};

}  // namespace kbnn

// Max pooling over rectangular windows (NHWC; layers/max_pool_kernels.hpp). Forward
// remembers where each maximum came from; backward routes the gradient there. The deck's
// two kinds only choose the window: maxpool2d (layers/maxpool2d.hpp) a square one over
// images, maxpool1d (layers/maxpool1d.hpp) 1 x size along signals.
#pragma once

#include "layers/layer.hpp"
#include "layers/max_pool_kernels.hpp"

namespace kbnn {

template <class Scalar>
class MaxPool : public Layer<Scalar> {
 public:
  // window: its size_h, size_w, stride_h and stride_w (the rest follows from `input`),
  // already checked to fit the input.
  MaxPool(std::string name, Shape input, const PoolGeometry& window);

  std::string name() const override { return name_; }
  Shape output_shape() const override { return output_; }
  void reserve(int max_batch) override;

  void forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
               const PassContext&) override;
  void backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>& out,
                const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) override;

  // (batch, OH*OW*C): where the last forward pass found each window's maximum, as an
  // index into the input row; read-only (the step dump, train/step_dump.hpp).
  View2<const int> argmax() const { return argmax_; }

 private:
  std::string name_;
  PoolGeometry geometry_;
  Shape output_;
  View2<int> argmax_;  // (batch, OH*OW*C): index into the input row of each maximum
};

}  // namespace kbnn

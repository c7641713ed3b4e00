// Max pooling over size x size windows (NHWC). Forward remembers where each maximum
// came from; backward routes the gradient there.
#pragma once

#include "layers/layer.hpp"
#include "layers/max_pool_kernels.hpp"

namespace kbnn {

template <class Scalar>
class MaxPool2d : public Layer<Scalar> {
 public:
  MaxPool2d(std::string name, Shape input, int size, int stride);

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
  PoolGeometry geometry() const {
    return PoolGeometry{input_.width, input_.channels, output_.height, output_.width, size_, stride_};
  }

  std::string name_;
  Shape input_, output_;
  int size_, stride_;
  View2<int> argmax_;  // (batch, OH*OW*C): index into the input row of each maximum
};

}  // namespace kbnn

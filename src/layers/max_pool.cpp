#include "layers/max_pool.hpp"

#include "core/error.hpp"

namespace kbnn {

template <class Scalar>
MaxPool<Scalar>::MaxPool(std::string name, Shape input, const PoolGeometry& window)
    : name_(std::move(name)), geometry_(window) {
  if (window.size_h < 1 || window.size_w < 1 || window.stride_h < 1 || window.stride_w < 1 ||
      input.height < window.size_h || input.width < window.size_w)
    throw RuntimeError(concat(name_, ": the window does not fit the input (checked by the layer "
                              "kind)"));
  geometry_.width = input.width;
  geometry_.channels = input.channels;
  geometry_.out_height = (input.height - window.size_h) / window.stride_h + 1;
  geometry_.out_width = (input.width - window.size_w) / window.stride_w + 1;
  output_ = Shape{geometry_.out_height, geometry_.out_width, input.channels};
}

template <class Scalar>
void MaxPool<Scalar>::reserve(int max_batch) {
  argmax_ = View2<int>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::MaxPool::argmax"),
                       max_batch, output_.size());
}

template <class Scalar>
void MaxPool<Scalar>::forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
                              const PassContext&) {
  max_pool_forward(in, geometry_, out, argmax_);
}

template <class Scalar>
void MaxPool<Scalar>::backward(const Matrix<const Scalar>&, const Matrix<const Scalar>&,
                               const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) {
  if (din.data() == nullptr) return;
  max_pool_backward(dout, argmax_, geometry_, din);
}

template class MaxPool<float>;
template class MaxPool<double>;

}  // namespace kbnn

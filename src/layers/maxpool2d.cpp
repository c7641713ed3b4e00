#include "layers/maxpool2d.hpp"

#include "core/error.hpp"

namespace kbnn {

template <class Scalar>
MaxPool2d<Scalar>::MaxPool2d(std::string name, Shape input, int size, int stride)
    : name_(std::move(name)), input_(input), size_(size), stride_(stride) {
  output_ = Shape{(input.height - size) / stride + 1, (input.width - size) / stride + 1,
                  input.channels};
  if (size < 1 || stride < 1 || input.height < size || input.width < size)
    throw InputError(concat(name_, ": a ", size, "x", size, " window with stride ", stride,
                            " does not fit the ", input.height, "x", input.width, " input"));
}

template <class Scalar>
void MaxPool2d<Scalar>::reserve(int max_batch) {
  argmax_ = View2<int>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::MaxPool2d::argmax"),
                       max_batch, output_.size());
}

template <class Scalar>
void MaxPool2d<Scalar>::forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
                                const PassContext&) {
  max_pool_forward(in, geometry(), out, argmax_);
}

template <class Scalar>
void MaxPool2d<Scalar>::backward(const Matrix<const Scalar>&, const Matrix<const Scalar>&,
                                 const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) {
  if (din.data() == nullptr) return;
  max_pool_backward(dout, argmax_, geometry(), din);
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;

}  // namespace kbnn

#include "layers/maxpool2d.hpp"

#include "core/error.hpp"
#include "layers/signal_shape.hpp"

namespace kbnn {

namespace {

PoolGeometry square_pool(const std::string& name, Shape in, int size, int stride) {
  if (size < 1 || stride < 1 || in.height < size || in.width < size)
    throw InputError(concat(name, ": a ", size, "x", size, " window with stride ", stride,
                            " does not fit the ", in.height, "x", in.width, " input",
                            signal_hint(in, "maxpool1d")));
  PoolGeometry window{};
  window.size_h = window.size_w = size;
  window.stride_h = window.stride_w = stride;
  return window;
}

}  // namespace

template <class Scalar>
MaxPool2d<Scalar>::MaxPool2d(const std::string& name, Shape input, int size, int stride)
    : MaxPool<Scalar>(name, input, square_pool(name, input, size, stride)) {}

template class MaxPool2d<float>;
template class MaxPool2d<double>;

}  // namespace kbnn

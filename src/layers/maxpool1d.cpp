#include "layers/maxpool1d.hpp"

#include "core/error.hpp"
#include "layers/signal_shape.hpp"

namespace kbnn {

namespace {

PoolGeometry signal_pool(const std::string& name, Shape in, int size, int stride) {
  require_signal(name, in);
  if (size < 1 || stride < 1 || in.width < size)
    throw InputError(concat(name, ": a window of ", size, " with stride ", stride,
                            " does not fit the signal of length ", in.width));
  PoolGeometry window{};
  window.size_h = window.stride_h = 1;
  window.size_w = size;
  window.stride_w = stride;
  return window;
}

}  // namespace

template <class Scalar>
MaxPool1d<Scalar>::MaxPool1d(const std::string& name, Shape input, int size, int stride)
    : MaxPool<Scalar>(name, input, signal_pool(name, input, size, stride)) {}

template class MaxPool1d<float>;
template class MaxPool1d<double>;

}  // namespace kbnn

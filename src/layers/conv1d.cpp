#include "layers/conv1d.hpp"

#include "core/error.hpp"
#include "layers/signal_shape.hpp"

namespace kbnn {

namespace {

ConvGeometry signal_window(const std::string& name, Shape in, int kernel, int stride,
                           int padding) {
  require_signal(name, in);
  const ConvGeometry g{1, in.width, in.channels, 1, kernel, 1, stride, 0, padding};
  if (!g.fits())
    throw InputError(concat(name, ": a kernel of ", kernel, " with padding ", padding,
                            " does not fit the signal of length ", in.width));
  return g;
}

}  // namespace

template <class Scalar>
Conv1d<Scalar>::Conv1d(const std::string& name, std::uint32_t layer_index, Shape input,
                       int out_channels, int kernel, int stride, int padding, BayesOptions options)
    : Convolution<Scalar>(name, layer_index, signal_window(name, input, kernel, stride, padding),
                          out_channels,
                          {std::size_t(out_channels), std::size_t(kernel),
                           std::size_t(input.channels)},
                          options) {}

template class Conv1d<float>;
template class Conv1d<double>;

}  // namespace kbnn

#include "layers/conv2d.hpp"

#include "core/error.hpp"
#include "layers/signal_shape.hpp"

namespace kbnn {

namespace {

ConvGeometry square_window(const std::string& name, Shape in, int kernel, int stride,
                           int padding) {
  const ConvGeometry g{in.height, in.width, in.channels, kernel, kernel,
                       stride,    stride,   padding,     padding};
  if (!g.fits())
    throw InputError(concat(name, ": a ", kernel, "x", kernel, " kernel with padding ", padding,
                            " does not fit the ", in.height, "x", in.width, " input",
                            signal_hint(in, "conv1d")));
  return g;
}

}  // namespace

template <class Scalar>
Conv2d<Scalar>::Conv2d(const std::string& name, std::uint32_t layer_index, Shape input,
                       int out_channels, int kernel, int stride, int padding, BayesOptions options)
    : Convolution<Scalar>(name, layer_index, square_window(name, input, kernel, stride, padding),
                          out_channels,
                          {std::size_t(out_channels), std::size_t(kernel), std::size_t(kernel),
                           std::size_t(input.channels)},
                          options) {}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace kbnn

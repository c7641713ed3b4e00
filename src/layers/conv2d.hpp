// conv2d: a convolution with a square kernel x kernel window, the same stride and
// padding along both axes (layers/convolution.hpp); its kernel is stored (out, kh, kw, in).
#pragma once

#include "layers/convolution.hpp"

namespace kbnn {

template <class Scalar>
class Conv2d : public Convolution<Scalar> {
 public:
  Conv2d(const std::string& name, std::uint32_t layer_index, Shape input, int out_channels,
         int kernel, int stride, int padding, BayesOptions options);
};

}  // namespace kbnn

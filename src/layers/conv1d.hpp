// conv1d: a convolution along a signal (1 x L x C, layers/signal_shape.hpp) with a
// 1 x kernel window, its stride and zero padding along L only (layers/convolution.hpp),
// as PyTorch's nn.Conv1d; its kernel is stored (out, k, in).
#pragma once

#include "layers/convolution.hpp"

namespace kbnn {

template <class Scalar>
class Conv1d : public Convolution<Scalar> {
 public:
  Conv1d(const std::string& name, std::uint32_t layer_index, Shape input, int out_channels,
         int kernel, int stride, int padding, BayesOptions options);
};

}  // namespace kbnn

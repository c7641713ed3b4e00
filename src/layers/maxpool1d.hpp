// maxpool1d: max pooling along a signal (1 x L x C, layers/signal_shape.hpp) over
// windows of `size` points moved by stride (layers/max_pool.hpp), as nn.MaxPool1d.
#pragma once

#include "layers/max_pool.hpp"

namespace kbnn {

template <class Scalar>
class MaxPool1d : public MaxPool<Scalar> {
 public:
  MaxPool1d(const std::string& name, Shape input, int size, int stride);
};

}  // namespace kbnn

// maxpool2d: max pooling over size x size windows moved by stride along both axes
// (layers/max_pool.hpp).
#pragma once

#include "layers/max_pool.hpp"

namespace kbnn {

template <class Scalar>
class MaxPool2d : public MaxPool<Scalar> {
 public:
  MaxPool2d(const std::string& name, Shape input, int size, int stride);
};

}  // namespace kbnn

#include "layers/dense.hpp"

namespace kbnn {
template class Dense<float>;
template class Dense<double>;
}  // namespace kbnn

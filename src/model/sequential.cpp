#include "model/sequential.hpp"

#include "core/error.hpp"

#include <cstdio>

namespace kbnn {

template <class Scalar>
void Sequential<Scalar>::finalize(std::uint64_t seed, int max_batch) {
  for (auto& layer : layers_) layer->declare(store_);
  store_.allocate();
  max_batch_ = max_batch;
  forward_seconds_.assign(layers_.size(), 0.0);
  backward_seconds_.assign(layers_.size(), 0.0);
  outputs_.clear();
  gradients_.clear();
  for (auto& layer : layers_) {
    layer->bind(store_);
    layer->initialize(seed);
    layer->reserve(max_batch);
    const auto features = layer->output_shape().size();
    const auto label = "kbnn::Sequential::" + layer->name();
    outputs_.emplace_back(Kokkos::view_alloc(Kokkos::WithoutInitializing, label + "::out"),
                          max_batch, features);
    gradients_.emplace_back(Kokkos::view_alloc(Kokkos::WithoutInitializing, label + "::grad"),
                            max_batch, features);
  }
}

template <class Scalar>
Matrix<const Scalar> Sequential<Scalar>::forward(const Matrix<const Scalar>& x,
                                                 const PassContext& ctx) {
  const std::size_t rows = x.extent(0);
  if (rows > std::size_t(max_batch_))
    throw RuntimeError(concat("Sequential::forward: batch of ", rows, " rows exceeds the ",
                              max_batch_, " reserved"));
  input_rows_ = x;
  Matrix<const Scalar> in = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    auto out = as_matrix(outputs_[l], rows, outputs_[l].extent(1));
    Kokkos::Timer timer;
    layers_[l]->forward(in, out, ctx);
    if (profiling_) {
      Kokkos::fence();
      forward_seconds_[l] += timer.seconds();
    }
    in = out;
  }
  return in;
}

template <class Scalar>
void Sequential<Scalar>::backward(const Matrix<const Scalar>& dlogits) {
  const std::size_t rows = dlogits.extent(0);
  Matrix<const Scalar> dout = dlogits;
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const Matrix<const Scalar> in =
        l == 0 ? input_rows_ : Matrix<const Scalar>(outputs_[l - 1].data(), rows, outputs_[l - 1].extent(1));
    const Matrix<const Scalar> out(outputs_[l].data(), rows, outputs_[l].extent(1));
    // The first layer's input is data: no gradient is needed for it.
    Matrix<Scalar> din;
    if (l > 0) din = as_matrix(gradients_[l - 1], rows, gradients_[l - 1].extent(1));
    Kokkos::Timer timer;
    layers_[l]->backward(in, out, dout, din);
    if (profiling_) {
      Kokkos::fence();
      backward_seconds_[l] += timer.seconds();
    }
    dout = din;
  }
}

template <class Scalar>
std::string Sequential<Scalar>::profile_report() const {
  std::string text = "layer               forward s  backward s\n";
  char line[128];
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    std::snprintf(line, sizeof line, "%-18s %10.3f %11.3f\n", layers_[l]->name().c_str(),
                  forward_seconds_[l], backward_seconds_[l]);
    text += line;
  }
  return text;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace kbnn

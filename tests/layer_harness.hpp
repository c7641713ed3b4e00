// Test harness for one layer in isolation, in double: parameters in a store, random
// inputs, and a scalar objective L = sum(out o g) with a fixed random g, so that
// dL/dout = g and finite differences of L check every gradient the layer computes.
#pragma once

#include "core/parameter_store.hpp"
#include "layers/layer.hpp"

#include <memory>
#include <random>
#include <vector>

namespace kbnn::test {

using HostMatrix = std::vector<double>;

inline View2<double> device_matrix(const HostMatrix& host, std::size_t rows, std::size_t cols) {
  View2<double> v("test::matrix", rows, cols);
  auto m = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) m(i, j) = host[i * cols + j];
  Kokkos::deep_copy(v, m);
  return v;
}

template <class View>
std::vector<double> to_host(const View& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(m.data(), m.data() + m.size());
}

// The central difference (L(w + h e_i) - L(w - h e_i)) / 2h in element i of `values` (a
// store's parameters, on the device), loss() computing L from them; w_i is restored.
template <class Loss>
double central_difference(const View1<double>& values, std::size_t i, Loss&& loss,
                          double h = 1e-6) {
  auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), values);
  const double saved = v(i);
  const auto at = [&](double value) {
    v(i) = value;
    Kokkos::deep_copy(values, v);
    return loss();
  };
  const double difference = (at(saved + h) - at(saved - h)) / (2 * h);
  at(saved);
  return difference;
}

inline HostMatrix random_values(std::size_t n, std::uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  HostMatrix v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Holds a layer with its parameters, an input batch and the objective weights g.
struct LayerUnderTest {
  std::unique_ptr<Layer<double>> layer;
  ParameterStore<double> store;
  int batch;
  std::int64_t in_features, out_features;
  HostMatrix x, g;
  PassContext ctx;

  LayerUnderTest(std::unique_ptr<Layer<double>> l, int batch_size, std::int64_t in,
                 std::uint64_t seed = 7)
      : layer(std::move(l)), batch(batch_size), in_features(in),
        out_features(layer->output_shape().size()) {
    layer->declare(store);
    store.allocate();
    layer->bind(store);
    layer->initialize(seed);
    layer->reserve(batch);
    x = random_values(std::size_t(batch) * in_features, 11);
    g = random_values(std::size_t(batch) * out_features, 13);
    ctx = PassContext{seed, 5, 3, true};
  }

  // Makes the posterior wide (sigma ~ softplus(-1) = 0.31) so rho matters.
  void set_rho(double value) {
    auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), store.values());
    for (std::size_t i = store.gaussian_count(); i < 2 * store.gaussian_count(); ++i) v(i) = value;
    Kokkos::deep_copy(store.values(), v);
  }

  std::vector<double> forward_output() {
    auto in = device_matrix(x, batch, in_features);
    View2<double> out("test::out", batch, out_features);
    layer->forward(Matrix<const double>(in.data(), batch, in_features),
                   Matrix<double>(out.data(), batch, out_features), ctx);
    return to_host(out);
  }

  double objective() {
    const auto out = forward_output();
    double sum = 0;
    for (std::size_t i = 0; i < out.size(); ++i) sum += out[i] * g[i];
    return sum;
  }

  // Analytic gradients: returns dL/dx; dL/dparameters land in store.gradients().
  // want_input_gradient = false is how a first layer is called (its input is data).
  std::vector<double> backward(bool want_input_gradient = true) {
    store.zero_gradients();
    auto in = device_matrix(x, batch, in_features);
    View2<double> out("test::out", batch, out_features);
    layer->forward(Matrix<const double>(in.data(), batch, in_features),
                   Matrix<double>(out.data(), batch, out_features), ctx);
    auto dout = device_matrix(g, batch, out_features);
    View2<double> din("test::din", batch, in_features);
    layer->backward(Matrix<const double>(in.data(), batch, in_features),
                    Matrix<const double>(out.data(), batch, out_features),
                    Matrix<const double>(dout.data(), batch, out_features),
                    want_input_gradient ? Matrix<double>(din.data(), batch, in_features)
                                        : Matrix<double>());
    return to_host(din);
  }

  // Central difference of L in parameter i of the store.
  double parameter_fd(std::size_t i, double h = 1e-6) {
    return central_difference(store.values(), i, [&] { return objective(); }, h);
  }

  double input_fd(std::size_t i, double h = 1e-6) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = objective();
    x[i] = saved - h;
    const double down = objective();
    x[i] = saved;
    return (up - down) / (2 * h);
  }
};

}  // namespace kbnn::test

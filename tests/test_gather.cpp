// Gathering a batch from a data set on the device (data/device_dataset.hpp): row b of
// the batch is row order(first + b) of the set, pixels scaled by 1/255, float features
// and targets as they are, labels alongside; in both thread shapes, bit for bit.
#include "catch.hpp"

#include "data/device_dataset.hpp"
#include "thread_shapes.hpp"

#include <cstdint>
#include <tuple>
#include <vector>

namespace {

using kbnn::ThreadShape;

template <class V>
std::vector<typename V::non_const_value_type> host(const V& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<typename V::non_const_value_type>(m.data(), m.data() + m.size());
}

// 9 examples of 2 x 3 x 1 features, an order that visits them shuffled, and a batch of
// 4 from position 3 of that order (rows 8, 0, 5, 2).
constexpr int examples = 9, features = 6, batch = 4, first = 3;
const std::vector<std::int64_t> order_host = {4, 7, 1, 8, 0, 5, 2, 6, 3};

kbnn::Dataset images() {
  kbnn::Dataset d;
  d.count = examples;
  d.height = 2, d.width = 3, d.channels = 1;
  d.num_classes = 10;
  for (int i = 0; i < examples * features; ++i) d.pixels.push_back(std::uint8_t((37 * i) % 256));
  for (int i = 0; i < examples; ++i) d.labels.push_back((3 * i) % 10);
  return d;
}

kbnn::Dataset regression_rows() {
  kbnn::Dataset d;
  d.count = examples;
  d.height = d.width = 1, d.channels = features;
  d.float_features = true;
  d.target_dim = 2;
  for (int i = 0; i < examples * features; ++i) d.values.push_back(0.25f * float(i) - 3.0f);
  for (int i = 0; i < examples * 2; ++i) d.targets.push_back(1.5f * float(i) + 100.0f);
  return d;
}

kbnn::View1<const std::int64_t> order() {
  kbnn::View1<std::int64_t> v("order", examples);
  auto m = Kokkos::create_mirror_view(v);
  for (int i = 0; i < examples; ++i) m(i) = order_host[i];
  Kokkos::deep_copy(v, m);
  return v;
}

}  // namespace

TEST_CASE("gather_batch takes the ordered rows of images and their labels", "[data]") {
  const kbnn::Dataset d = images();
  const auto data = kbnn::to_device(d);
  const auto [x, y] = same_in_both_shapes([&](ThreadShape shape) {
    kbnn::View2<float> xb("x", batch, features);
    kbnn::View1<std::int32_t> yb("y", batch);
    kbnn::gather_batch<float>(data, order(), first, kbnn::Matrix<float>(xb.data(), batch, features),
                              yb, shape);
    return std::make_tuple(host(xb), host(yb));
  });
  for (int b = 0; b < batch; ++b) {
    const std::int64_t row = order_host[first + b];
    INFO("batch row " << b << ", data row " << row);
    CHECK(y[b] == d.labels[row]);
    for (int f = 0; f < features; ++f)
      CHECK(x[b * features + f] == float(d.pixels[row * features + f]) * float(1.0 / 255.0));
  }
}

TEST_CASE("gather_batch and gather_targets take float features and targets as they are",
          "[data]") {
  const kbnn::Dataset d = regression_rows();
  const auto data = kbnn::to_device(d);
  const auto [x, y, t] = same_in_both_shapes([&](ThreadShape shape) {
    kbnn::View2<float> xb("x", batch, features), tb("t", batch, 2);
    kbnn::View1<std::int32_t> yb("y", batch);
    Kokkos::deep_copy(yb, -7);
    kbnn::gather_batch<float>(data, order(), first, kbnn::Matrix<float>(xb.data(), batch, features),
                              yb, shape);
    kbnn::gather_targets<float>(data, order(), first, kbnn::Matrix<float>(tb.data(), batch, 2),
                                shape);
    return std::make_tuple(host(xb), host(yb), host(tb));
  });
  for (int b = 0; b < batch; ++b) {
    const std::int64_t row = order_host[first + b];
    INFO("batch row " << b << ", data row " << row);
    CHECK(y[b] == -7);  // no labels: y is left alone
    for (int f = 0; f < features; ++f) CHECK(x[b * features + f] == d.values[row * features + f]);
    for (int k = 0; k < 2; ++k) CHECK(t[b * 2 + k] == d.targets[row * 2 + k]);
  }
}

// A data set copied to the device once, and the kernels that gather a batch from it.
// uint8 pixels stay bytes on the device (4x less memory than floats) and are scaled to
// [0, 1] while gathering; float features (HDF5 data of other types, or standardized
// features) are copied as they are. No per-step host work or host->device copy.
#pragma once

#include "core/thread_shape.hpp"
#include "core/types.hpp"
#include "data/dataset.hpp"

namespace kbnn {

struct DeviceDataset {
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, MemSpace> pixels;  // (N, H*W*C) or empty
  View2<float> values;         // (N, H*W*C): float features, or empty
  View1<std::int32_t> labels;  // (N): classes, or empty
  View2<float> targets;        // (N, T): real targets (regression), or empty
  Shape shape;
  int num_classes = 0;
  std::int64_t rows = 0;
  std::int64_t count() const { return rows; }
  // Targets per example of a regression set; 0 for classes.
  int target_dim() const { return int(targets.extent(1)); }
};

namespace detail {
// A device copy of a host vector holding (rows, width) values.
template <class DeviceView, class T>
DeviceView device_copy(const char* label, const std::vector<T>& host, std::int64_t rows,
                       std::int64_t width) {
  Kokkos::View<const T**, Kokkos::LayoutRight, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>
      from(host.data(), rows, width);
  DeviceView to(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), rows, width);
  Kokkos::deep_copy(to, from);
  return to;
}
}  // namespace detail

inline DeviceDataset to_device(const Dataset& d) {
  DeviceDataset out;
  out.shape = Shape{d.height, d.width, d.channels};
  out.num_classes = d.num_classes;
  out.rows = d.count;
  if (d.float_features)
    out.values = detail::device_copy<View2<float>>("kbnn::DeviceDataset::values", d.values,
                                                   d.count, d.features());
  else
    out.pixels = detail::device_copy<decltype(out.pixels)>("kbnn::DeviceDataset::pixels",
                                                           d.pixels, d.count, d.features());
  if (d.target_dim > 0) {
    out.targets = detail::device_copy<View2<float>>("kbnn::DeviceDataset::targets", d.targets,
                                                    d.count, d.target_dim);
  } else {
    Kokkos::View<const std::int32_t*, Kokkos::LayoutRight, HostSpace,
                 Kokkos::MemoryTraits<Kokkos::Unmanaged>>
        host_labels(d.labels.data(), d.count);
    out.labels = View1<std::int32_t>("kbnn::DeviceDataset::labels", d.count);
    Kokkos::deep_copy(out.labels, host_labels);
  }
  return out;
}

// x(b, :) = features(order(first + b), :) for b in [0, x.extent(0)): pixels / 255 or
// float values. `order` is the epoch's permutation (or the identity).
template <class Scalar>
void gather_features(const DeviceDataset& data, const View1<const std::int64_t>& order,
                     std::int64_t first, const Matrix<Scalar>& x,
                     ThreadShape shape = native_shape) {
  const int features = static_cast<int>(data.shape.size());
  const auto pixels = data.pixels;
  const auto values = data.values;
  if (values.extent(0) == 0)
    for_each_element(
        "kbnn::gather_pixels", x.extent(0), features,
        KOKKOS_LAMBDA(const std::int64_t b, const int f) {
          x(b, f) = Scalar(pixels(order(first + b), f)) * Scalar(1.0 / 255.0);
        },
        shape);
  else
    for_each_element(
        "kbnn::gather_values", x.extent(0), features,
        KOKKOS_LAMBDA(const std::int64_t b, const int f) {
          x(b, f) = Scalar(values(order(first + b), f));
        },
        shape);
}

// x(b, :) = pixels(order(first + b), :) / 255 (or the float features) and y(b) =
// labels(order(first + b)) for b in [0, x.extent(0)). A set without labels (regression)
// leaves y alone: its targets come from gather_targets.
template <class Scalar>
void gather_batch(const DeviceDataset& data, const View1<const std::int64_t>& order,
                  std::int64_t first, const Matrix<Scalar>& x, const View1<std::int32_t>& y,
                  ThreadShape shape = native_shape) {
  gather_features(data, order, first, x, shape);
  const auto labels = data.labels;
  if (labels.extent(0) == 0) return;
  Kokkos::parallel_for(
      "kbnn::gather_labels", Range(0, x.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t b) { y(b) = labels(order(first + b)); });
}

// t(b, :) = targets(order(first + b), :) for b in [0, t.extent(0)).
template <class Scalar>
void gather_targets(const DeviceDataset& data, const View1<const std::int64_t>& order,
                    std::int64_t first, const Matrix<Scalar>& t, ThreadShape shape = native_shape) {
  const auto targets = data.targets;
  for_each_element(
      "kbnn::gather_targets", t.extent(0), data.target_dim(),
      KOKKOS_LAMBDA(const std::int64_t b, const int k) {
        t(b, k) = Scalar(targets(order(first + b), k));
      },
      shape);
}

}  // namespace kbnn

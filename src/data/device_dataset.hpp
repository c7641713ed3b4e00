// A data set copied to the device once, and the kernels that gather a batch from it.
// uint8 pixels stay bytes on the device (4x less memory than floats) and are scaled to
// [0, 1] while gathering; float features (HDF5 data of other types, or standardized
// features) are copied as they are. No per-step host work or host->device copy.
#pragma once

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
                     std::int64_t first, const Matrix<Scalar>& x) {
  const std::int64_t features = data.shape.size();
  const auto pixels = data.pixels;
  const auto values = data.values;
  if (values.extent(0) == 0) {
    Kokkos::parallel_for(
        "kbnn::gather_pixels", Range(0, x.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
          const std::int64_t src = order(first + b);
          for (std::int64_t f = 0; f < features; ++f)
            x(b, f) = Scalar(pixels(src, f)) * Scalar(1.0 / 255.0);
        });
    return;
  }
  Kokkos::parallel_for(
      "kbnn::gather_values", Range(0, x.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const std::int64_t src = order(first + b);
        for (std::int64_t f = 0; f < features; ++f) x(b, f) = Scalar(values(src, f));
      });
}

// x(b, :) = pixels(order(first + b), :) / 255 (or the float features) and y(b) =
// labels(order(first + b)) for b in [0, x.extent(0)). A set without labels (regression)
// leaves y alone: its targets come from gather_targets.
template <class Scalar>
void gather_batch(const DeviceDataset& data, const View1<const std::int64_t>& order,
                  std::int64_t first, const Matrix<Scalar>& x, const View1<std::int32_t>& y) {
  const std::int64_t features = data.shape.size();
  const auto pixels = data.pixels;
  const auto labels = data.labels;
  if (data.values.extent(0) > 0 || labels.extent(0) == 0) {
    gather_features(data, order, first, x);
    if (labels.extent(0) == 0) return;
    Kokkos::parallel_for(
        "kbnn::gather_labels", Range(0, x.extent(0)),
        KOKKOS_LAMBDA(const std::int64_t b) { y(b) = labels(order(first + b)); });
    return;
  }
  // Images and labels (classification): one pass over both.
  Kokkos::parallel_for(
      "kbnn::gather_batch", Range(0, x.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const std::int64_t src = order(first + b);
        for (std::int64_t f = 0; f < features; ++f)
          x(b, f) = Scalar(pixels(src, f)) * Scalar(1.0 / 255.0);
        y(b) = labels(src);
      });
}

// t(b, :) = targets(order(first + b), :) for b in [0, t.extent(0)).
template <class Scalar>
void gather_targets(const DeviceDataset& data, const View1<const std::int64_t>& order,
                    std::int64_t first, const Matrix<Scalar>& t) {
  const int width = data.target_dim();
  const auto targets = data.targets;
  Kokkos::parallel_for(
      "kbnn::gather_targets", Range(0, t.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const std::int64_t src = order(first + b);
        for (int k = 0; k < width; ++k) t(b, k) = Scalar(targets(src, k));
      });
}

}  // namespace kbnn

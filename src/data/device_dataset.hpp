// A data set copied to the device once, and the kernel that gathers a batch from it.
// Pixels stay bytes on the device (4x less memory than floats) and are scaled to
// [0, 1] while gathering, so no per-step host work or host->device copy is needed.
#pragma once

#include "core/types.hpp"
#include "data/dataset.hpp"

namespace kbnn {

struct DeviceDataset {
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, MemSpace> pixels;  // (N, H*W*C)
  View1<std::int32_t> labels;                                          // (N)
  Shape shape;
  int num_classes = 0;
  std::int64_t count() const { return std::int64_t(labels.extent(0)); }
};

inline DeviceDataset to_device(const Dataset& d) {
  DeviceDataset out;
  out.shape = Shape{d.height, d.width, d.channels};
  out.num_classes = d.num_classes;
  Kokkos::View<const std::uint8_t**, Kokkos::LayoutRight, HostSpace,
               Kokkos::MemoryTraits<Kokkos::Unmanaged>>
      host_pixels(d.pixels.data(), d.count, d.features());
  Kokkos::View<const std::int32_t*, Kokkos::LayoutRight, HostSpace,
               Kokkos::MemoryTraits<Kokkos::Unmanaged>>
      host_labels(d.labels.data(), d.count);
  out.pixels = decltype(out.pixels)("kbnn::DeviceDataset::pixels", d.count, d.features());
  out.labels = View1<std::int32_t>("kbnn::DeviceDataset::labels", d.count);
  Kokkos::deep_copy(out.pixels, host_pixels);
  Kokkos::deep_copy(out.labels, host_labels);
  return out;
}

// x(b, :) = pixels(order(first + b), :) / 255 and y(b) = labels(order(first + b)) for
// b in [0, x.extent(0)). `order` is the epoch's permutation (or the identity).
template <class Scalar>
void gather_batch(const DeviceDataset& data, const View1<const std::int64_t>& order,
                  std::int64_t first, const Matrix<Scalar>& x, const View1<std::int32_t>& y) {
  const std::int64_t features = data.shape.size();
  const auto pixels = data.pixels;
  const auto labels = data.labels;
  Kokkos::parallel_for(
      "kbnn::gather_batch", Range(0, x.extent(0)), KOKKOS_LAMBDA(const std::int64_t b) {
        const std::int64_t src = order(first + b);
        for (std::int64_t f = 0; f < features; ++f)
          x(b, f) = Scalar(pixels(src, f)) * Scalar(1.0 / 255.0);
        y(b) = labels(src);
      });
}

}  // namespace kbnn

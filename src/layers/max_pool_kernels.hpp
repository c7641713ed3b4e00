// The max-pooling kernels, in both thread shapes (core/thread_shape.hpp). Rows
// of `in` are NHWC images; out(b, (oh OW + ow) C + c) is the maximum of channel c over
// the size x size window at (oh stride, ow stride), and argmax the index of that
// maximum in the input row (ties keep the first in row-major window order). Both shapes
// compute the same numbers; MaxPool2d::backward routes gradients by argmax.
#pragma once

#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {

struct PoolGeometry {
  int width, channels;         // of the input image
  int out_height, out_width;
  int size, stride;
};

namespace detail {
// The rows shape: one thread per (example, output row), channels innermost. A window
// pixel's C channels are contiguous, so with the window size known at compile time
// (Size > 0; 0 reads g.size) the channel loop is straight selects that vectorize.
template <class Scalar, int Size>
void max_pool_rows(const Matrix<const Scalar>& in, const PoolGeometry& g,
                   const Matrix<Scalar>& out, const View2<int>& argmax) {
  const int W = g.width, C = g.channels, OH = g.out_height, OW = g.out_width;
  const int size = Size > 0 ? Size : g.size, stride = g.stride;
  const Scalar* in_data = in.data();
  const std::int64_t in_stride = in.stride(0);
  Kokkos::parallel_for(
      "kbnn::max_pool_forward_rows", Range(0, std::int64_t(in.extent(0)) * OH),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / OH;
        const int oh = static_cast<int>(i % OH);
        const Scalar* KOKKOS_RESTRICT image = in_data + b * in_stride;
        for (int ow = 0; ow < OW; ++ow) {
          const int corner = (oh * stride * W + ow * stride) * C;
          Scalar* KOKKOS_RESTRICT value = &out(b, (oh * OW + ow) * C);
          int* KOKKOS_RESTRICT best = &argmax(b, (oh * OW + ow) * C);
          for (int c = 0; c < C; ++c) {
            Scalar v = image[corner + c];
            int at = corner + c;
            for (int dh = 0; dh < size; ++dh)
              for (int dw = 0; dw < size; ++dw) {
                const int j = corner + (dh * W + dw) * C + c;
                const Scalar x = image[j];
                at = x > v ? j : at;
                v = x > v ? x : v;
              }
            value[c] = v;
            best[c] = at;
          }
        }
      });
}
}  // namespace detail

template <class Scalar>
void max_pool_forward(const Matrix<const Scalar>& in, const PoolGeometry& g,
                      const Matrix<Scalar>& out, const View2<int>& argmax,
                      ThreadShape shape = native_shape) {
  const int W = g.width, C = g.channels, OW = g.out_width, size = g.size, stride = g.stride;
  const int positions = g.out_height * g.out_width;
  const std::int64_t examples = in.extent(0);
  if (shape == ThreadShape::elements) {
    // One thread per output number: neighbouring threads read neighbouring channels.
    const std::int64_t per_example = std::int64_t(positions) * C;
    Kokkos::parallel_for(
        "kbnn::max_pool_forward_elements", Range(0, examples * per_example),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / per_example;
          const int o = static_cast<int>(i % per_example);
          const int pos = o / C, c = o % C;
          const int corner = ((pos / OW) * stride * W + (pos % OW) * stride) * C + c;
          int best = corner;
          Scalar value = in(b, corner);
          for (int dh = 0; dh < size; ++dh)
            for (int dw = 0; dw < size; ++dw) {
              const int j = corner + (dh * W + dw) * C;
              const Scalar x = in(b, j);
              best = x > value ? j : best;
              value = x > value ? x : value;
            }
          out(b, o) = value;
          argmax(b, o) = best;
        });
    return;
  }
  if (size == 2)
    detail::max_pool_rows<Scalar, 2>(in, g, out, argmax);  // LeNet's, VGG's, most nets'
  else
    detail::max_pool_rows<Scalar, 0>(in, g, out, argmax);
}

// The gradient of max_pool_forward: din(b, j) = the sum of dout(b, o) over the windows o
// whose maximum came from input j (0 when none did): zero din, then scatter each window's
// gradient to its argmax, atomically only where windows overlap (stride < size). (A
// gather that writes din once, window by window, measured slower on a CPU than this
// zeroing pass and scatter.)
template <class Scalar>
void max_pool_backward(const Matrix<const Scalar>& dout, const View2<int>& argmax,
                       const PoolGeometry& g, const Matrix<Scalar>& din) {
  Kokkos::deep_copy(din, Scalar(0));
  const std::int64_t n = dout.extent(1);
  const bool overlap = g.stride < g.size;
  Kokkos::parallel_for(
      "kbnn::max_pool_backward", Range(0, std::int64_t(dout.extent(0)) * n),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / n, o = i % n;
        if (overlap)
          Kokkos::atomic_add(&din(b, argmax(b, o)), dout(b, o));
        else
          din(b, argmax(b, o)) = dout(b, o);
      });
}

}  // namespace kbnn

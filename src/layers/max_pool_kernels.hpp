// The max-pooling kernels, in both thread shapes (core/thread_shape.hpp). Rows
// of `in` are NHWC images; out(b, (oh OW + ow) C + c) is the maximum of channel c over
// the size_h x size_w window at (oh stride_h, ow stride_w), and argmax the index of that
// maximum in the input row (ties keep the first in row-major window order). Both shapes
// compute the same numbers; MaxPool::backward routes gradients by argmax. maxpool2d's
// windows are square, maxpool1d's 1 x size over signals (images of height 1).
#pragma once

#include "core/lanes.hpp"
#include "core/thread_shape.hpp"
#include "core/types.hpp"

#include <type_traits>

namespace kbnn {

struct PoolGeometry {
  int width, channels;         // of the input image
  int out_height, out_width;
  int size_h, size_w;          // the window
  int stride_h, stride_w;
};

namespace detail {

// One output pixel's C channels in the rows shape: the window's maximum of channel c
// (of `image`, a NHWC row) into value[c], its index into best[c].
template <class Scalar, int Size>
KOKKOS_INLINE_FUNCTION void pool_pixel(const Scalar* KOKKOS_RESTRICT image, int corner, int W,
                                       int C, int size_h, int size_w, Scalar* KOKKOS_RESTRICT value,
                                       int* KOKKOS_RESTRICT best) {
  for (int c = 0; c < C; ++c) {
    Scalar v = image[corner + c];
    int at = corner + c;
    for (int dh = 0; dh < (Size > 0 ? Size : size_h); ++dh)
      for (int dw = 0; dw < (Size > 0 ? Size : size_w); ++dw) {
        const int j = corner + (dh * W + dw) * C + c;
        const Scalar x = image[j];
        at = x > v ? j : at;
        v = x > v ? x : v;
      }
    value[c] = v;
    best[c] = at;
  }
}

#if defined(KBNN_LANES_ARE_VECTORS)
// Images of few channels (C <= 8: LeNet's first pooling has 6) in float: 8 lanes hold a
// window pixel's channels, reading past them into the rest of the image's row (never
// beyond it: the caller checks), so the window's compares and selects are vector
// operations, each lane the same fold as pool_pixel's. The channel loop alone is too
// short to vectorize; measured on one batch of conv1's output, 4.5x faster on an
// AVX-512 EPYC, 1.5x on AVX2.
constexpr int narrow_pool_lanes = 8;

template <int Size>
inline void pool_narrow_pixel(const float* KOKKOS_RESTRICT image, int corner, int W, int C,
                              int size_h, int size_w, float* KOKKOS_RESTRICT value,
                              int* KOKKOS_RESTRICT best) {
  typedef float Values __attribute__((vector_size(narrow_pool_lanes * sizeof(float))));
  typedef int Indices __attribute__((vector_size(narrow_pool_lanes * sizeof(int))));
  const Indices lane = {0, 1, 2, 3, 4, 5, 6, 7};
  Values v;
  __builtin_memcpy(&v, image + corner, sizeof v);
  Indices at = corner + lane;
  for (int dh = 0; dh < (Size > 0 ? Size : size_h); ++dh)
    for (int dw = 0; dw < (Size > 0 ? Size : size_w); ++dw) {
      const int j = corner + (dh * W + dw) * C;
      Values x;
      __builtin_memcpy(&x, image + j, sizeof x);
      const Indices greater = x > v;
      at = greater ? j + lane : at;
      v = greater ? x : v;
    }
  for (int c = 0; c < C; ++c) {
    value[c] = v[c];
    best[c] = at[c];
  }
}
#endif
// The rows shape: one thread per (example, output row), channels innermost. A window
// pixel's C channels are contiguous, so with a square window's size known at compile
// time (Size > 0; 0 reads g.size_h and g.size_w) the channel loop is straight selects
// that vectorize; up to 8 channels of floats take pool_narrow_pixel instead.
template <class Scalar, int Size>
void max_pool_rows(const Matrix<const Scalar>& in, const PoolGeometry& g,
                   const Matrix<Scalar>& out, const View2<int>& argmax) {
  const int W = g.width, C = g.channels, OH = g.out_height, OW = g.out_width;
  const int size_h = Size > 0 ? Size : g.size_h, size_w = Size > 0 ? Size : g.size_w;
  const int stride_h = g.stride_h, stride_w = g.stride_w;
#if defined(KBNN_LANES_ARE_VECTORS)
  // The vector path's last read (the window's last pixel, 8 lanes) stays in the image's
  // row for windows whose corner is at most this.
  const int narrow_last_corner = static_cast<int>(in.extent(1)) - narrow_pool_lanes -
                                 ((size_h - 1) * W + size_w - 1) * C;
#endif
  const Scalar* in_data = in.data();
  const std::int64_t in_stride = in.stride(0);
  Kokkos::parallel_for(
      "kbnn::max_pool_forward_rows", Range(0, std::int64_t(in.extent(0)) * OH),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / OH;
        const int oh = static_cast<int>(i % OH);
        const Scalar* KOKKOS_RESTRICT image = in_data + b * in_stride;
        for (int ow = 0; ow < OW; ++ow) {
          const int corner = (oh * stride_h * W + ow * stride_w) * C;
          Scalar* KOKKOS_RESTRICT value = &out(b, (oh * OW + ow) * C);
          int* KOKKOS_RESTRICT best = &argmax(b, (oh * OW + ow) * C);
#if defined(KBNN_LANES_ARE_VECTORS)
          if constexpr (std::is_same_v<Scalar, float>) {
            if (C <= narrow_pool_lanes && corner <= narrow_last_corner) {
              pool_narrow_pixel<Size>(image, corner, W, C, size_h, size_w, value, best);
              continue;
            }
          }
#endif
          pool_pixel<Scalar, Size>(image, corner, W, C, size_h, size_w, value, best);
        }
      });
}
}  // namespace detail

template <class Scalar>
void max_pool_forward(const Matrix<const Scalar>& in, const PoolGeometry& g,
                      const Matrix<Scalar>& out, const View2<int>& argmax,
                      ThreadShape shape = native_shape) {
  const int W = g.width, C = g.channels, OW = g.out_width;
  const int size_h = g.size_h, size_w = g.size_w, stride_h = g.stride_h, stride_w = g.stride_w;
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
          const int corner = ((pos / OW) * stride_h * W + (pos % OW) * stride_w) * C + c;
          int best = corner;
          Scalar value = in(b, corner);
          for (int dh = 0; dh < size_h; ++dh)
            for (int dw = 0; dw < size_w; ++dw) {
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
  if (g.size_h == 2 && g.size_w == 2)
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
  const bool overlap = g.stride_h < g.size_h || g.stride_w < g.size_w;
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

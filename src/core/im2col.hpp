// im2col / col2im for NHWC images, so that a convolution becomes one gemm.
// A row of cols is one (example, output position); its columns are the receptive
// field in (kh, kw, c) order, channel last like the image, so column k belongs to
// input channel k % channels.
#pragma once

#include "core/types.hpp"

namespace kbnn {

struct ConvGeometry {
  int height, width, channels;  // input
  int kernel, stride, padding;
  int out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  int out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  int positions() const { return out_height() * out_width(); }
  int patch() const { return kernel * kernel * channels; }
};

// in: (batch, H*W*C) -> cols: (batch*OH*OW, k*k*C), zeros where the window leaves the image.
template <class Scalar>
void im2col(const ConvGeometry& g, const Matrix<const Scalar>& in, const Matrix<Scalar>& cols) {
  const int W = g.width, H = g.height, C = g.channels, k = g.kernel, s = g.stride, p = g.padding;
  const int OW = g.out_width(), P = g.positions(), K = g.patch();
  Kokkos::parallel_for(
      "kbnn::im2col", Range(0, std::int64_t(cols.extent(0)) * K),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t row = i / K;
        const int col = static_cast<int>(i % K);
        const int b = static_cast<int>(row / P), pos = static_cast<int>(row % P);
        const int kh = col / (k * C), kw = (col / C) % k, c = col % C;
        const int h = (pos / OW) * s - p + kh, w = (pos % OW) * s - p + kw;
        const bool inside = h >= 0 && h < H && w >= 0 && w < W;
        cols(row, col) = inside ? in(b, (h * W + w) * C + c) : Scalar(0);
      });
}

// The adjoint of im2col: din(b, h, w, c) = sum of the cols entries that read it.
// Written as a gather (one thread per input element), so it needs no atomics.
template <class Scalar>
void col2im(const ConvGeometry& g, const Matrix<const Scalar>& cols, const Matrix<Scalar>& din) {
  const int W = g.width, H = g.height, C = g.channels, k = g.kernel, s = g.stride, p = g.padding;
  const int OH = g.out_height(), OW = g.out_width(), P = g.positions();
  Kokkos::parallel_for(
      "kbnn::col2im", Range(0, std::int64_t(din.extent(0)) * H * W * C),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const int b = static_cast<int>(i / (std::int64_t(H) * W * C));
        const int rest = static_cast<int>(i % (std::int64_t(H) * W * C));
        const int h = rest / (W * C), w = (rest / C) % W, c = rest % C;
        Scalar sum = 0;
        for (int kh = 0; kh < k; ++kh) {
          const int hs = h + p - kh;
          if (hs < 0 || hs % s != 0 || hs / s >= OH) continue;
          for (int kw = 0; kw < k; ++kw) {
            const int ws = w + p - kw;
            if (ws < 0 || ws % s != 0 || ws / s >= OW) continue;
            sum += cols(std::int64_t(b) * P + (hs / s) * OW + ws / s, (kh * k + kw) * C + c);
          }
        }
        din(b, rest) = sum;
      });
}

}  // namespace kbnn

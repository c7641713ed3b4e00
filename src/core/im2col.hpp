// im2col / col2im for NHWC images, so that a convolution becomes one gemm.
// A row of cols is one (example, output position); its columns are the receptive
// field in (kh, kw, c) order, channel last like the image, so column k belongs to
// input channel k % channels and each (kh, kw) is one contiguous run of C numbers.
// Kernels run one thread per row and copy those runs: no divisions per element.
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
  const int OW = g.out_width(), P = g.positions();
  Kokkos::parallel_for(
      "kbnn::im2col", Range(0, cols.extent(0)), KOKKOS_LAMBDA(const std::int64_t row) {
        const std::int64_t b = row / P;
        const int pos = static_cast<int>(row % P);
        const int h0 = (pos / OW) * s - p, w0 = (pos % OW) * s - p;
        const Scalar* image = &in(b, 0);
        Scalar* out = &cols(row, 0);
        // For one kh the window covers k*C consecutive numbers of image row h:
        // copy them as one run, with zeros for the columns outside the image.
        const int kw_begin = w0 < 0 ? -w0 : 0;
        const int kw_end = w0 + k > W ? W - w0 : k;
        for (int kh = 0; kh < k; ++kh, out += k * C) {
          const int h = h0 + kh;
          if (h < 0 || h >= H || kw_begin >= kw_end) {
            for (int j = 0; j < k * C; ++j) out[j] = Scalar(0);
            continue;
          }
          for (int j = 0; j < kw_begin * C; ++j) out[j] = Scalar(0);
          const Scalar* image_row = image + std::int64_t(h) * W * C;
          const int shift = w0 * C;  // column j of the run reads image_row[shift + j]
          for (int j = kw_begin * C; j < kw_end * C; ++j) out[j] = image_row[shift + j];
          for (int j = kw_end * C; j < k * C; ++j) out[j] = Scalar(0);
        }
      });
}

// The adjoint of im2col: din(b, h, w, :) = sum of the cols runs that read pixel (h, w).
// Written as a gather (one thread per input pixel), so it needs no atomics.
template <class Scalar>
void col2im(const ConvGeometry& g, const Matrix<const Scalar>& cols, const Matrix<Scalar>& din) {
  const int W = g.width, H = g.height, C = g.channels, k = g.kernel, s = g.stride, p = g.padding;
  const int OH = g.out_height(), OW = g.out_width(), P = g.positions();
  const std::int64_t stride = cols.stride(0);
  Kokkos::parallel_for(
      "kbnn::col2im", Range(0, std::int64_t(din.extent(0)) * H * W),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / (H * W);
        const int h = static_cast<int>(i % (H * W)) / W, w = static_cast<int>(i % W);
        Scalar* out = &din(b, (h * W + w) * C);
        for (int c = 0; c < C; ++c) out[c] = Scalar(0);
        for (int kh = 0; kh < k; ++kh) {
          const int hs = h + p - kh;
          if (hs < 0 || hs % s != 0 || hs / s >= OH) continue;
          for (int kw = 0; kw < k; ++kw) {
            const int ws = w + p - kw;
            if (ws < 0 || ws % s != 0 || ws / s >= OW) continue;
            const std::int64_t row = b * P + (hs / s) * OW + ws / s;
            const Scalar* run = cols.data() + row * stride + (kh * k + kw) * C;
            for (int c = 0; c < C; ++c) out[c] += run[c];
          }
        }
      });
}

}  // namespace kbnn

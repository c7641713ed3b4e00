// im2col / col2im for NHWC images, so that a convolution becomes one gemm.
// A row of cols is one (example, output position); its columns are the receptive
// field in (kh, kw, c) order, channel last like the image, so column k belongs to
// input channel k % channels and each kh is one contiguous run of kernel_w * C numbers.
// Windows are rectangular: conv2d's are square, conv1d's 1 x k over signals, which are
// images of height 1 (layers/convolution.hpp).
// Each kernel has both thread shapes (core/thread_shape.hpp): rows, one thread per
// image or cols row copying whole runs (CPUs), and elements, one per number (GPUs).
#pragma once

#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {

// A kernel_h x kernel_w window moved by (stride_h, stride_w) over an image with pad_h
// rows and pad_w columns of zeros on each side.
struct ConvGeometry {
  int height, width, channels;  // input
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_h, pad_w;
  int padded_height() const { return height + 2 * pad_h; }
  int padded_width() const { return width + 2 * pad_w; }
  bool padded() const { return pad_h > 0 || pad_w > 0; }
  // Whether the window fits the padded image (out_height would round a negative up).
  bool fits() const { return kernel_h <= padded_height() && kernel_w <= padded_width(); }
  int out_height() const { return (padded_height() - kernel_h) / stride_h + 1; }
  int out_width() const { return (padded_width() - kernel_w) / stride_w + 1; }
  int positions() const { return out_height() * out_width(); }
  int patch() const { return kernel_h * kernel_w * channels; }
};

// Copies images into the interior of a zero-bordered buffer (batch, Hp*Wp*C), Hp = H+2pad_h,
// Wp = W+2pad_w. The border is never written, so it stays zero from the buffer's
// allocation; with it im2col needs no bounds checks at all.
template <class Scalar>
void pad_images(const ConvGeometry& g, const Matrix<const Scalar>& in, const Matrix<Scalar>& padded,
                ThreadShape shape = native_shape) {
  const int W = g.width, H = g.height, C = g.channels, ph = g.pad_h, pw = g.pad_w;
  const int Wp = g.padded_width();
  if (shape == ThreadShape::elements) {
    const std::int64_t row = std::int64_t(W) * C;  // numbers per image row
    Kokkos::parallel_for(
        "kbnn::pad_images(elements)", Range(0, std::int64_t(in.extent(0)) * H * row),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / (H * row), j = i % row;
          const int h = static_cast<int>((i / row) % H);
          padded(b, (std::int64_t(h + ph) * Wp + pw) * C + j) = in(b, std::int64_t(h) * row + j);
        });
    return;
  }
  Kokkos::parallel_for(
      "kbnn::pad_images", Range(0, std::int64_t(in.extent(0)) * H), KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / H;
        const int h = static_cast<int>(i % H);
        const Scalar* src = &in(b, std::int64_t(h) * W * C);
        Scalar* dst = &padded(b, (std::int64_t(h + ph) * Wp + pw) * C);
        for (int j = 0; j < W * C; ++j) dst[j] = src[j];
      });
}

namespace detail {
// The rows shape of im2col: one thread per output row (b, oh), walking its OW positions
// (no division per row); each (position, kh) is one copy of a run of kernel_w*C numbers.
// With Run > 0 the run's length is a compile-time constant (LeNet's first layer: 5
// numbers), so the copy is unrolled instead of a loop whose overhead outweighs 5 loads.
template <int Run, class Scalar>
void im2col_rows(const ConvGeometry& g, const Matrix<const Scalar>& padded,
                 const Matrix<Scalar>& cols) {
  const int C = g.channels, KH = g.kernel_h, sh = g.stride_h, sw = g.stride_w;
  const int Wp = g.padded_width();
  const int OH = g.out_height(), OW = g.out_width(), run = Run > 0 ? Run : g.kernel_w * C;
  const int examples = static_cast<int>(cols.extent(0) / g.positions());
  Kokkos::parallel_for(
      "kbnn::im2col", Range(0, std::int64_t(examples) * OH), KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / OH;
        const int oh = static_cast<int>(i % OH);
        const Scalar* image_row = &padded(b, std::int64_t(oh) * sh * Wp * C);
        Scalar* out = &cols(i * OW, 0);
        for (int ow = 0; ow < OW; ++ow) {
          const Scalar* corner = image_row + ow * sw * C;
          for (int kh = 0; kh < KH; ++kh, out += run) {
            const Scalar* src = corner + kh * Wp * C;
            for (int j = 0; j < run; ++j) out[j] = src[j];
          }
        }
      });
}
}  // namespace detail

// padded: (batch, Hp*Wp*C) from pad_images (or the images themselves when unpadded) ->
// cols: (batch*OH*OW, kernel_h*kernel_w*C). For one kh the window covers kernel_w*C
// consecutive numbers of a padded image row: each row of cols is kernel_h straight copies.
template <class Scalar>
void im2col(const ConvGeometry& g, const Matrix<const Scalar>& padded, const Matrix<Scalar>& cols,
            ThreadShape shape = native_shape) {
  const int C = g.channels, sh = g.stride_h, sw = g.stride_w;
  const int Wp = g.padded_width();
  const int OW = g.out_width(), run = g.kernel_w * C;
  const int examples = static_cast<int>(cols.extent(0) / g.positions());
  if (shape == ThreadShape::elements) {
    // Element (r, col) of cols, r = (b, oh, ow), col = (kh, kw, c): consecutive threads
    // take consecutive columns of a row, which read consecutive numbers of the image.
    const int P = g.positions(), K = g.patch();
    Kokkos::parallel_for(
        "kbnn::im2col(elements)", Range(0, std::int64_t(examples) * P * K),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t r = i / K;
          const int col = static_cast<int>(i % K);
          const std::int64_t b = r / P;
          const int position = static_cast<int>(r % P);
          const int oh = position / OW, ow = position % OW, kh = col / run, rest = col % run;
          cols(r, col) = padded(b, (std::int64_t(oh * sh + kh) * Wp + ow * sw) * C + rest);
        });
    return;
  }
  if (run == 3)
    detail::im2col_rows<3>(g, padded, cols);
  else if (run == 5)
    detail::im2col_rows<5>(g, padded, cols);
  else
    detail::im2col_rows<0>(g, padded, cols);
}

// im2col without cols, for kernels that load one input per (row, k) anyway (the
// narrow affine kernel): row r = (e, oh, ow) of cols starts in the padded images at
//   base(r) = e * image_stride + (oh * stride_h * Wp + ow * stride_w) * C
// and its column k = (kh * kernel_w + kw) * C + c sits offset[k] = (kh * Wp + kw) * C + c
// further on, the table from patch_offsets. row(r)[column(k)] == cols(r, k).
template <class Scalar>
struct PatchRows {
  const Scalar* images;       // padded images (or the images themselves when unpadded)
  std::int64_t image_stride;  // numbers from one image to the next
  int positions, out_width;   // P = OH * OW, OW
  int row_step, column_step;  // stride_h * Wp * C, stride_w * C: to the next output row / column
  const int* offsets;         // (K) from patch_offsets

  KOKKOS_INLINE_FUNCTION const Scalar* row(int r) const {
    const int e = r / positions, position = r % positions;
    const int oh = position / out_width, ow = position % out_width;
    return images + e * image_stride + oh * row_step + ow * column_step;
  }
  KOKKOS_INLINE_FUNCTION int column(int k) const { return offsets[k]; }
};

// offsets (K = kernel_h * kernel_w * C): offsets(k) = (kh * Wp + kw) * C + c, the table
// of PatchRows.
inline void patch_offsets(const ConvGeometry& g, const View1<int>& offsets) {
  const int C = g.channels, KW = g.kernel_w, Wp = g.padded_width();
  Kokkos::parallel_for(
      "kbnn::patch_offsets", Range(0, g.patch()), KOKKOS_LAMBDA(const int i) {
        const int c = i % C, kw = (i / C) % KW, kh = i / (C * KW);
        offsets(i) = (kh * Wp + kw) * C + c;
      });
}

// padded as for im2col, offsets from patch_offsets (kept alive by the caller).
template <class Scalar>
PatchRows<Scalar> patch_rows(const ConvGeometry& g, const Matrix<const Scalar>& padded,
                             const View1<int>& offsets) {
  const int C = g.channels, Wp = g.padded_width();
  return PatchRows<Scalar>{padded.data(), std::int64_t(padded.stride(0)), g.positions(),
                           g.out_width(), g.stride_h * Wp * C, g.stride_w * C, offsets.data()};
}

namespace detail {
// col2im's elements shape: element (b, h, w, c) of din gathers the cols entries that
// read it: for each window offset (kh, kw) with (h + pad_h - kh, w + pad_w - kw) =
// (oh * stride_h, ow * stride_w) inside the output. Adds kh ascending, kw descending: the
// order of the rows shape (kh, then ow ascending), so both shapes give the same sums bit
// for bit.
template <class Scalar>
void col2im_elements(const ConvGeometry& g, const Matrix<const Scalar>& cols,
                     const Matrix<Scalar>& din) {
  const int W = g.width, H = g.height, C = g.channels, KH = g.kernel_h, KW = g.kernel_w;
  const int sh = g.stride_h, sw = g.stride_w, ph = g.pad_h, pw = g.pad_w;
  const int OH = g.out_height(), OW = g.out_width(), P = g.positions(), run = KW * C;
  const std::int64_t stride = cols.stride(0);
  const Scalar* cols_data = cols.data();
  Kokkos::parallel_for(
      "kbnn::col2im(elements)", Range(0, std::int64_t(din.extent(0)) * H * W * C),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / (std::int64_t(H) * W * C);
        const int pixel = static_cast<int>(i % (std::int64_t(H) * W * C));
        const int h = pixel / (W * C), w = (pixel / C) % W, c = pixel % C;
        Scalar sum = 0;
        for (int kh = 0; kh < KH; ++kh) {
          const int hs = h + ph - kh;
          if (hs < 0 || hs % sh != 0 || hs / sh >= OH) continue;
          for (int kw = KW - 1; kw >= 0; --kw) {
            const int ws = w + pw - kw;
            if (ws < 0 || ws % sw != 0 || ws / sw >= OW) continue;
            const std::int64_t r = b * P + std::int64_t(hs / sh) * OW + ws / sw;
            sum += cols_data[r * stride + kh * run + kw * C + c];
          }
        }
        din(b, pixel) = sum;
      });
}
}  // namespace detail

// The adjoint of im2col: din(b, h, w, :) = sum of the cols runs that read pixel (h, w).
// Written as a gather, one thread per input image row (b, h), so it needs no atomics:
// the window offsets kh that read row h pick the output rows oh, and for each output
// position the cols run of kh covers kernel_w*C consecutive numbers of that image row
// (clipped at the padding). The inner loop adds those runs: long, contiguous, vector.
template <class Scalar>
void col2im(const ConvGeometry& g, const Matrix<const Scalar>& cols, const Matrix<Scalar>& din,
            ThreadShape shape = native_shape) {
  if (shape == ThreadShape::elements) return detail::col2im_elements(g, cols, din);
  const int W = g.width, H = g.height, C = g.channels, KH = g.kernel_h;
  const int sh = g.stride_h, sw = g.stride_w, ph = g.pad_h, pw = g.pad_w;
  const int OH = g.out_height(), OW = g.out_width(), P = g.positions(), run = g.kernel_w * C;
  const std::int64_t stride = cols.stride(0);
  const Scalar* cols_data = cols.data();
  Kokkos::parallel_for(
      "kbnn::col2im", Range(0, std::int64_t(din.extent(0)) * H),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const std::int64_t b = i / H;
        const int h = static_cast<int>(i % H);
        Scalar* out = &din(b, std::int64_t(h) * W * C);
        for (int j = 0; j < W * C; ++j) out[j] = Scalar(0);
        for (int kh = 0; kh < KH; ++kh) {
          const int hs = h + ph - kh;  // = oh * stride_h for the output row that reads row h at kh
          if (hs < 0 || hs % sh != 0 || hs / sh >= OH) continue;
          const std::int64_t first_row = b * P + std::int64_t(hs / sh) * OW;
          for (int ow = 0; ow < OW; ++ow) {
            const Scalar* src = cols_data + (first_row + ow) * stride + kh * run;
            const int start = (ow * sw - pw) * C;  // where the run begins in the image row
            const int lo = start < 0 ? -start : 0;
            const int hi = start + run > W * C ? W * C - start : run;
            for (int j = lo; j < hi; ++j) out[start + j] += src[j];
          }
        }
      });
}

}  // namespace kbnn

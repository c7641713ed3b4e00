// max_pool_forward in both thread shapes and max_pool_backward against plain loops over
// the definition: the same maxima and argmax, ties (first in window order) included, and
// the same input gradient, for windows that tile, overlap, or leave gaps: square ones
// (maxpool2d) and 1 x size ones along signals (maxpool1d, height 1).
#include "catch.hpp"

#include "layers/max_pool_kernels.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>

namespace {

using HostMatrix = Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostInts = Kokkos::View<int**, Kokkos::LayoutRight, Kokkos::HostSpace>;

struct Case {
  int height, width, channels;
  int size_h, size_w, stride_h, stride_w;  // the window
};

Case square(int height, int width, int channels, int size, int stride) {
  return {height, width, channels, size, size, stride, stride};
}

}  // namespace

TEST_CASE("max_pool_forward (both thread shapes) and max_pool_backward give the definition's numbers",
          "[max_pool]") {
  // Odd channel counts (not a vector width), overlapping windows, and inputs drawn from
  // four levels so that most windows hold ties. Up to 8 channels of floats take the rows
  // shape's vector path (8 lanes reading past a pixel's channels) except where the
  // window's last pixel has fewer than 8 numbers left in the image: both are covered
  // ({12, 12, 6, 2, 2}: 6x6 windows by the vector path, the last by the other;
  // {10, 10, 8, 2, 2}: a full 8 lanes). Signals: tiling, overlapping, with gaps, and
  // one whose last windows leave fewer than 8 numbers for the vector path. Windows that
  // are neither (no deck kind makes them, but the kernels take any): size and stride
  // differing between the axes, overlapping along one axis only (w, then h: a size_h /
  // size_w or stride_h / stride_w mixed up anywhere, the choice of atomics included,
  // gives other numbers), and one through the vector path.
  const Case cases[] = {square(6, 8, 6, 2, 2),   square(7, 7, 3, 3, 2), square(5, 6, 17, 3, 1),
                        square(4, 4, 1, 2, 2),   square(8, 7, 2, 2, 3), square(12, 12, 6, 2, 2),
                        square(10, 10, 8, 2, 2), square(9, 9, 5, 3, 3), square(9, 11, 9, 2, 2),
                        {1, 21, 4, 1, 2, 1, 2},  {1, 20, 3, 1, 3, 1, 1}, {1, 23, 1, 1, 3, 1, 4},
                        {1, 12, 8, 1, 2, 1, 2},  {1, 9, 16, 1, 4, 1, 2}, {8, 11, 2, 2, 3, 3, 2},
                        {11, 8, 3, 3, 2, 2, 3},  {9, 7, 5, 3, 1, 2, 1},  {6, 13, 8, 2, 4, 1, 3}};
  for (const Case& k : cases) {
    const int examples = 3;
    const int OH = (k.height - k.size_h) / k.stride_h + 1;
    const int OW = (k.width - k.size_w) / k.stride_w + 1;
    const int in_cols = k.height * k.width * k.channels, out_cols = OH * OW * k.channels;
    HostMatrix x("x", examples, in_cols);
    std::uint32_t state = 12345;
    for (int b = 0; b < examples; ++b)
      for (int j = 0; j < in_cols; ++j) {
        state = state * 1664525u + 1013904223u;
        x(b, j) = float((state >> 20) % 4) - 1.5f;
      }
    // The definition, on the host.
    HostMatrix want("want", examples, out_cols);
    HostInts want_arg("want_arg", examples, out_cols);
    for (int b = 0; b < examples; ++b)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int c = 0; c < k.channels; ++c) {
            const int o = (oh * OW + ow) * k.channels + c;
            int best = -1;
            for (int dh = 0; dh < k.size_h; ++dh)
              for (int dw = 0; dw < k.size_w; ++dw) {
                const int j =
                    ((oh * k.stride_h + dh) * k.width + ow * k.stride_w + dw) * k.channels + c;
                if (best < 0 || x(b, j) > x(b, best)) best = j;
              }
            want(b, o) = x(b, best);
            want_arg(b, o) = best;
          }

    kbnn::View2<float> in("in", examples, in_cols), out("out", examples, out_cols);
    kbnn::View2<int> argmax("argmax", examples, out_cols);
    Kokkos::deep_copy(in, x);
    const kbnn::PoolGeometry g{k.width,  k.channels, OH,         OW,
                               k.size_h, k.size_w,   k.stride_h, k.stride_w};
    for (const auto shape : {kbnn::ThreadShape::rows, kbnn::ThreadShape::elements}) {
      CAPTURE(k.height, k.width, k.channels, k.size_h, k.size_w, k.stride_h, k.stride_w, int(shape));
      Kokkos::deep_copy(out, 0.0f);
      Kokkos::deep_copy(argmax, -1);
      kbnn::max_pool_forward(kbnn::Matrix<const float>(in), g, kbnn::Matrix<float>(out), argmax, shape);
      auto got = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
      auto got_arg = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), argmax);
      int wrong = 0;
      for (int b = 0; b < examples; ++b)
        for (int o = 0; o < out_cols; ++o)
          wrong += got(b, o) != want(b, o) || got_arg(b, o) != want_arg(b, o);
      CHECK(wrong == 0);
    }

    // Backward: the gradient of each window goes to its argmax (summed where windows
    // overlap), every other input gets 0, against a scatter on the host.
    HostMatrix dout_host("dout", examples, out_cols);
    for (int b = 0; b < examples; ++b)
      for (int o = 0; o < out_cols; ++o) dout_host(b, o) = float(o % 7) - 3.0f + 0.25f * float(b);
    HostMatrix want_din("want_din", examples, in_cols);
    for (int b = 0; b < examples; ++b)
      for (int o = 0; o < out_cols; ++o) want_din(b, want_arg(b, o)) += dout_host(b, o);
    kbnn::View2<float> dout("dout", examples, out_cols), din("din", examples, in_cols);
    Kokkos::deep_copy(dout, dout_host);
    kbnn::max_pool_forward(kbnn::Matrix<const float>(in), g, kbnn::Matrix<float>(out), argmax);
    CAPTURE(k.height, k.width, k.channels, k.size_h, k.size_w, k.stride_h, k.stride_w);
    Kokkos::deep_copy(din, 99.0f);  // every number must be written
    kbnn::max_pool_backward(kbnn::Matrix<const float>(dout), argmax, g, kbnn::Matrix<float>(din));
    auto got = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), din);
    int wrong = 0;
    for (int b = 0; b < examples; ++b)
      for (int j = 0; j < in_cols; ++j) wrong += got(b, j) != want_din(b, j);
    CHECK(wrong == 0);
  }
}

#include "layers/conv2d.hpp"

#include "core/error.hpp"

namespace kbnn {

template <class Scalar>
Conv2d<Scalar>::Conv2d(std::string name, std::uint32_t layer_index, Shape input,
                       int out_channels, int kernel, int stride, int padding,
                       BayesOptions options)
    : name_(std::move(name)),
      geometry_{input.height, input.width, input.channels, kernel, stride, padding},
      out_channels_(out_channels),
      affine_(name_, layer_index,
              {geometry_.patch(), out_channels, input.channels, geometry_.positions(),
               {std::size_t(out_channels), std::size_t(kernel), std::size_t(kernel),
                std::size_t(input.channels)}},
              options) {
  if (geometry_.out_height() < 1 || geometry_.out_width() < 1)
    throw InputError(concat(name_, ": a ", kernel, "x", kernel, " kernel with padding ",
                            padding, " does not fit the ", input.height, "x", input.width,
                            " input"));
}

template <class Scalar>
Shape Conv2d<Scalar>::output_shape() const {
  return Shape{geometry_.out_height(), geometry_.out_width(), out_channels_};
}

template <class Scalar>
void Conv2d<Scalar>::reserve(int max_batch) {
  affine_.reserve(max_batch);
  if (geometry_.padding > 0) {
    const std::size_t padded_size = std::size_t(geometry_.height + 2 * geometry_.padding) *
                                    (geometry_.width + 2 * geometry_.padding) * geometry_.channels;
    padded_ = View2<Scalar>("kbnn::Conv2d::padded", max_batch, padded_size);  // zero border
  }
  if (affine_.forward_is_narrow()) {
    offsets_ = View1<int>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Conv2d::offsets"),
                          geometry_.patch());
    patch_offsets(geometry_, offsets_);
  }
  const std::size_t rows = std::size_t(max_batch) * geometry_.positions();
  cols_ = View2<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Conv2d::cols"),
                        rows, geometry_.patch());
  dcols_ = View2<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Conv2d::dcols"),
                         rows, geometry_.patch());
}

template <class Scalar>
void Conv2d<Scalar>::forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
                             const PassContext& ctx) {
  const std::size_t rows = in.extent(0) * geometry_.positions();
  Matrix<const Scalar> padded = in;
  if (geometry_.padding > 0) {
    auto bordered = as_matrix(padded_, in.extent(0), padded_.extent(1));
    pad_images<Scalar>(geometry_, in, bordered);
    padded = bordered;
  }
  const auto out_rows = as_matrix(out, rows, out_channels_);
  // The narrow kernel loads each input once, so it can read the padded images in place
  // (same numbers, same order: the same outputs); backward needs cols, so training builds it.
  if (affine_.forward_is_narrow() && !ctx.backward_follows) {
    affine_.forward(patch_rows<Scalar>(geometry_, padded, offsets_), int(rows), out_rows, ctx);
    return;
  }
  auto cols = as_matrix(cols_, rows, geometry_.patch());
  im2col<Scalar>(geometry_, padded, cols);
  affine_.forward(cols, out_rows, ctx);
}

template <class Scalar>
void Conv2d<Scalar>::backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>&,
                              const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) {
  const std::size_t rows = in.extent(0) * geometry_.positions();
  const Matrix<const Scalar> cols(cols_.data(), rows, geometry_.patch());
  const Matrix<const Scalar> dout_rows(dout.data(), rows, out_channels_);
  if (din.data() == nullptr) {
    affine_.backward(cols, dout_rows, Matrix<Scalar>());
    return;
  }
  auto dcols = as_matrix(dcols_, rows, geometry_.patch());
  affine_.backward(cols, dout_rows, dcols);
  col2im<Scalar>(geometry_, dcols, din);
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace kbnn

#include "layers/convolution.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace kbnn {

template <class Scalar>
Convolution<Scalar>::Convolution(std::string name, std::uint32_t layer_index,
                                 const ConvGeometry& geometry, int out_channels,
                                 std::vector<std::size_t> kernel_shape, BayesOptions options)
    : name_(std::move(name)),
      geometry_(geometry),
      out_channels_(out_channels),
      affine_(name_, layer_index,
              {geometry.patch(), out_channels, geometry.channels, geometry.positions(),
               std::move(kernel_shape)},
              options) {
  if (!geometry.fits())
    throw RuntimeError(concat(name_, ": the window does not fit the input (checked by the "
                              "layer kind)"));
}

template <class Scalar>
Shape Convolution<Scalar>::output_shape() const {
  return Shape{geometry_.out_height(), geometry_.out_width(), out_channels_};
}

template <class Scalar>
void Convolution<Scalar>::reserve(int max_batch) {
  affine_.reserve(max_batch);
  // CPUs: when the forward product reads the padded images in place (the narrow kernel)
  // and the backward pass can run in blocks, cols never exists for the whole batch:
  // backward rebuilds it a few examples at a time, into a block that stays in cache
  // (the whole batch's cols is megabytes, written once and read twice per step).
  // GPUs take the whole batch at once, which is what fills them.
  const std::int64_t example_cols = std::int64_t(geometry_.positions()) * geometry_.patch();
  in_blocks_ = host_paths(affine_.options()) && affine_.forward_is_narrow() &&
               affine_.backward_in_blocks();
  block_examples_ = in_blocks_ ? int(std::max<std::int64_t>(1, cols_block_numbers / example_cols))
                               : max_batch;
  block_examples_ = std::min(block_examples_, max_batch);
  if (geometry_.padded()) {
    const std::size_t padded_size =
        std::size_t(geometry_.padded_height()) * geometry_.padded_width() * geometry_.channels;
    padded_ = View2<Scalar>("kbnn::Convolution::padded", max_batch, padded_size);  // zero border
  }
  if (affine_.forward_is_narrow()) {
    offsets_ = View1<int>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Convolution::offsets"),
        geometry_.patch());
    patch_offsets(geometry_, offsets_);
  }
  const std::size_t rows = std::size_t(block_examples_) * geometry_.positions();
  const auto scratch = [&](const std::string& label) {
    return View2<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), rows,
                         geometry_.patch());
  };
  cols_ = scratch("kbnn::Convolution::cols");
  dcols_ = scratch("kbnn::Convolution::dcols");
}

template <class Scalar>
void Convolution<Scalar>::forward(const Matrix<const Scalar>& in, const Matrix<Scalar>& out,
                                  const PassContext& ctx) {
  const std::size_t rows = in.extent(0) * geometry_.positions();
  Matrix<const Scalar> padded = in;
  if (geometry_.padded()) {
    auto bordered = as_matrix(padded_, in.extent(0), padded_.extent(1));
    pad_images<Scalar>(geometry_, in, bordered);
    padded = bordered;
  }
  const auto out_rows = as_matrix(out, rows, out_channels_);
  // The narrow kernel loads each input once, so it can read the padded images in place
  // (same numbers, same order: the same outputs). A backward pass that is not built in
  // blocks needs the whole batch's cols, so then training builds it here.
  if (affine_.forward_is_narrow() && (in_blocks_ || !ctx.backward_follows)) {
    affine_.forward(patch_rows<Scalar>(geometry_, padded, offsets_), int(rows), out_rows, ctx);
    return;
  }
  auto cols = as_matrix(cols_, rows, geometry_.patch());
  im2col<Scalar>(geometry_, padded, cols);
  affine_.forward(cols, out_rows, ctx);
}

template <class Scalar>
void Convolution<Scalar>::backward(const Matrix<const Scalar>& in, const Matrix<const Scalar>&,
                                   const Matrix<const Scalar>& dout, const Matrix<Scalar>& din) {
  const int examples = static_cast<int>(in.extent(0)), P = geometry_.positions();
  const Matrix<const Scalar> dout_rows(dout.data(), std::size_t(examples) * P, out_channels_);
  if (!in_blocks_) {  // cols of the whole batch, from forward
    const Matrix<const Scalar> cols(cols_.data(), dout_rows.extent(0), geometry_.patch());
    auto dcols = din.data() ? as_matrix(dcols_, dout_rows.extent(0), geometry_.patch()) : Matrix<Scalar>();
    affine_.backward(cols, dout_rows, dcols);
    if (din.data()) col2im<Scalar>(geometry_, dcols, din);
    return;
  }
  // The padded images forward read (padded_ still holds them), a block of examples at a time.
  const Matrix<const Scalar> images =
      geometry_.padded() ? as_matrix(padded_, examples, padded_.extent(1)) : in;
  affine_.backward_begin(examples, din.data() != nullptr);
  for (int first = 0; first < examples; first += block_examples_) {
    const int count = std::min(block_examples_, examples - first);
    const std::size_t rows = std::size_t(count) * P, K = geometry_.patch();
    auto cols = as_matrix(cols_, rows, K);
    im2col<Scalar>(geometry_, rows_of(images, first, count), cols);
    auto dcols = din.data() ? as_matrix(dcols_, rows, K) : Matrix<Scalar>();
    affine_.backward_block(cols, rows_of(dout_rows, std::size_t(first) * P, rows), dcols, first);
    if (din.data()) col2im<Scalar>(geometry_, dcols, rows_of(din, first, count));
  }
  affine_.backward_end(dout_rows);
}

template class Convolution<float>;
template class Convolution<double>;

}  // namespace kbnn

// Flipout on the gemm and narrow paths, and the parts every path shares: the signs,
// the workspace, and the block-wise backward pass (affine_flipout.hpp).
#include "layers/affine_flipout.hpp"

#include "core/gemm.hpp"
#include "core/noise.hpp"
#include "layers/affine_narrow_kernel.hpp"
#include "layers/affine_per_example_kernels.hpp"
#include "layers/affine_sign_kernels.hpp"

namespace kbnn {

template <class Scalar>
void FlipoutAffine<Scalar>::reserve(int max_examples) {
  OneWeightAffine<Scalar>::reserve(max_examples);  // the mean pass's, and d_used_
  const AffinePlan& p = plan_;
  const std::size_t rows = std::size_t(max_examples) * p.P;
  const bool per_example = p.path == AffinePath::per_example;
  const bool one_channel = p.single_input_channel();
  signs_.in = View2<Scalar>(affine::workspace("sign_in"), max_examples, p.C);
  signs_.out = View2<Scalar>(affine::workspace("sign_out"), max_examples, p.O);
  // S spread over the columns, and cols o S, exist only when S varies along a row.
  if (!one_channel)
    signs_.columns = View2<Scalar>(affine::workspace("sign_columns"), max_examples, p.K);
  if (p.path == AffinePath::gemm)
    perturbed_ = View2<Scalar>(affine::workspace("perturbed"), rows, p.O);
  if (!per_example) {  // the per-example path never builds cols o S nor dout o R
    dout_signed_ = View2<Scalar>(affine::workspace("dout_signed"), rows, p.O);
    if (!one_channel) {
      cols_signed_ = View2<Scalar>(affine::workspace("cols_signed"), rows, p.K);
      dcols_perturbed_ = View2<Scalar>(affine::workspace("dcols_perturbed"), rows, p.K);
    }
  }
  if (one_channel && !p.host_paths) {
    stacked_ = View2<Scalar>(affine::workspace("stacked"), rows, 2 * p.O);
    d_stacked_ = View1<Scalar>(affine::workspace("d_stacked"), 2 * std::size_t(p.O) * p.K);
  }
  if (p.narrow_forward) {
    const int padded = affine::narrow_vectors<Scalar>(p.O) * simd::width<Scalar>();
    // A convolution gives each example its own weights W_e^T (its P rows share them).
    if (p.P >= 16) {
      example_weights_t_ = View2<Scalar>(affine::workspace("example_weights_t"),
                                         std::size_t(max_examples) * p.K, padded);
    } else {
      mean_t_ = View2<Scalar>(affine::workspace("mean_t"), p.K, padded);
      delta_t_ = View2<Scalar>(affine::workspace("delta_t"), p.K, padded);
    }
  }
  const std::size_t per_example_numbers = std::size_t(max_examples) * p.O * p.K;
  if (per_example)
    example_weights_ = View1<Scalar>(affine::workspace("example_weights"), per_example_numbers);
  if (per_example || (one_channel && p.host_paths))
    d_examples_ = View1<Scalar>(affine::workspace("d_examples"), per_example_numbers);
}

template <class Scalar>
void FlipoutAffine<Scalar>::begin_pass(int examples, const PassContext& ctx, const NoiseKey& key) {
  sampled_ = ctx.sample;
  if (!sampled_) return;
  // Row e of S and R belongs to global example first_example + e.
  const std::uint64_t first = std::uint64_t(ctx.first_example);
  const int C = plan_.C, O = plan_.O;
  fill_signs(key, Stream::sign_in, first * C, signs_.in.data(), std::int64_t(examples) * C);
  fill_signs(key, Stream::sign_out, first * O, signs_.out.data(), std::int64_t(examples) * O);
  // One input channel: S is one sign per example, so (cols o S) dW^T o R equals
  // (cols dW^T) o (S R). Folding S into R saves building cols o S at all.
  if (plan_.single_input_channel())
    affine::fold_signs(signs_.in, examples, signs_.out);
  else
    affine::spread_signs(signs_.in, examples, signs_.columns);
}

template <class Scalar>
void FlipoutAffine<Scalar>::forward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                    const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  if (!sampled_) {
    OneWeightAffine<Scalar>::forward(kernel, cols, out, bias);
  } else if (plan_.narrow_forward) {
    forward_narrow(kernel, affine::MatrixRows<Scalar>{cols.data(), std::int64_t(cols.stride(0))},
                   static_cast<int>(cols.extent(0)), out, bias);
  } else if (plan_.path == AffinePath::per_example) {
    forward_per_example(kernel, cols, out, bias);
  } else {
    forward_gemm(kernel, cols, out, bias);
  }
}

template <class Scalar>
void FlipoutAffine<Scalar>::forward_patches(const Weights& kernel, const PatchRows<Scalar>& patches,
                                            int rows, const Matrix<Scalar>& out,
                                            const View1<Scalar>& bias) {
  if (sampled_)
    forward_narrow(kernel, patches, rows, out, bias);
  else
    OneWeightAffine<Scalar>::forward_patches(kernel, patches, rows, out, bias);
}

template <class Scalar>
Matrix<const Scalar> FlipoutAffine<Scalar>::signed_inputs(const Matrix<const Scalar>& cols) const {
  if (plan_.single_input_channel()) return cols;
  return Matrix<const Scalar>(cols_signed_.data(), cols.extent(0), cols.extent(1));
}

template <class Scalar>
void FlipoutAffine<Scalar>::sign_inputs(const Matrix<const Scalar>& cols) {
  if (plan_.single_input_channel()) return;  // S is folded into R
  affine::sign_rows(cols, signs_.columns, plan_.P,
                    as_matrix(cols_signed_, cols.extent(0), plan_.K));
}

// The reference: a mean and a perturbation product, combined with R and the bias.
template <class Scalar>
void FlipoutAffine<Scalar>::forward_gemm(const Weights& kernel, const Matrix<const Scalar>& cols,
                                         const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  gemm<Scalar>('N', 'T', 1, cols, weights(kernel.mu()), 0, out);
  sign_inputs(cols);
  auto pert = as_matrix(perturbed_, cols.extent(0), plan_.O);
  gemm<Scalar>('N', 'T', 1, signed_inputs(cols), weights(kernel.draw()), 0, pert);
  affine::combine<Scalar>(out, pert, signs_.out, bias, plan_.P, out);
}

// The narrow path: the gemm path is the reference (tests compare the two).
template <class Scalar>
template <class Rows>
void FlipoutAffine<Scalar>::forward_narrow(const Weights& kernel, const Rows& source, int rows,
                                           const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  const int K = plan_.K, O = plan_.O, P = plan_.P;
  const View2<Scalar> spread = plan_.single_input_channel() ? View2<Scalar>() : signs_.columns;
  if (example_weights_t_.is_allocated()) {
    // Each example's effective weights W_e: one product instead of a mean and a
    // perturbation product (P rows per example share them).
    const int examples = rows / P;
    const View2<Scalar> wt =
        Kokkos::subview(example_weights_t_, Kokkos::make_pair(0, examples * K), Kokkos::ALL);
    affine::example_weights_transposed(kernel.mu(), kernel.draw(), spread, signs_.out, examples, O,
                                       K, wt);
    affine::narrow_forward<Scalar>(source, rows, K, wt, View2<Scalar>(), View2<Scalar>(),
                                   signs_.out, bias, P, out);
    return;
  }
  affine::transpose_padded(kernel.mu(), O, K, mean_t_);
  affine::transpose_padded(kernel.draw(), O, K, delta_t_);
  affine::narrow_forward<Scalar>(source, rows, K, mean_t_, delta_t_, spread, signs_.out, bias, P,
                                 out);
}

template <class Scalar>
void FlipoutAffine<Scalar>::backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                     const Matrix<const Scalar>& dout,
                                     const Matrix<Scalar>& dcols) {
  if (signed_inputs_pass())
    backward_signed_inputs(kernel, cols, dout, dcols);
  else
    OneWeightAffine<Scalar>::backward(kernel, cols, dout, dcols);
}

template <class Scalar>
void FlipoutAffine<Scalar>::backward_begin(const Weights& kernel, int examples, bool want_dcols) {
  if (!sampled_) return OneWeightAffine<Scalar>::backward_begin(kernel, examples, want_dcols);
  backward_examples_ = examples;
  if (plan_.path == AffinePath::per_example) {
    gradients_ = Gradients::per_example;
    // dcols needs each example's W_e, which the narrow forward kernel does not build.
    if (want_dcols && plan_.narrow_forward) build_example_weights(kernel, examples);
  } else if (!want_dcols) {
    // One input channel (several read cols o S over all rows: no blocks). Without dcols,
    // as on the per_example path on the host: D_e per example, O outputs per product,
    // not 2 O; on device memory one gemm of [dout | dout o R]^T cols reads cols once.
    gradients_ = plan_.host_paths ? Gradients::per_example : Gradients::stacked;
  } else {
    gradients_ = Gradients::direct;
  }
}

template <class Scalar>
void FlipoutAffine<Scalar>::backward_block(const Weights& kernel, const Matrix<const Scalar>& cols,
                                           const Matrix<const Scalar>& dout,
                                           const Matrix<Scalar>& dcols, int first_example) {
  if (!sampled_) {
    OneWeightAffine<Scalar>::backward_block(kernel, cols, dout, dcols, first_example);
  } else if (gradients_ == Gradients::per_example) {
    backward_per_example(cols, dout, dcols, first_example);
  } else if (gradients_ == Gradients::direct) {
    backward_direct(kernel, cols, dout, dcols, first_example);
  } else {
    // Both weight gradients read the same cols: one gemm of [dout | dout o R]^T cols
    // gives [dL/dmu ; dL/d(dW)] in a single pass over cols.
    const int K = plan_.K, O = plan_.O, P = plan_.P;
    const int rows = static_cast<int>(cols.extent(0));
    const View2<Scalar> block_signs = Kokkos::subview(
        signs_.out, Kokkos::make_pair(first_example, first_example + rows / P), Kokkos::ALL);
    auto stacked = as_matrix(stacked_, rows, 2 * O);
    affine::stack_dout(dout, block_signs, P, stacked);
    gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(stacked), cols, first_example == 0 ? 0 : 1,
                 as_matrix(d_stacked_, 2 * O, K));
  }
}

// One input channel with dcols: mean path dL/dmu += dout^T cols, accumulated straight
// into the store; perturbation path, with dr = dout o R: dL/d(dW) = dr^T cols (S is
// folded into R); dcols = dout mu + dr dW.
template <class Scalar>
void FlipoutAffine<Scalar>::backward_direct(const Weights& kernel, const Matrix<const Scalar>& cols,
                                            const Matrix<const Scalar>& dout,
                                            const Matrix<Scalar>& dcols, int first_example) {
  const int K = plan_.K, O = plan_.O, P = plan_.P;
  const int rows = static_cast<int>(cols.extent(0));
  // The block's products add to what earlier blocks left (beta = 1 after the first).
  const Scalar beta = first_example == 0 ? 0 : 1;
  const View2<Scalar> block_signs = Kokkos::subview(
      signs_.out, Kokkos::make_pair(first_example, first_example + rows / P), Kokkos::ALL);
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel.grad_mu(), O, K));
  auto dr = as_matrix(dout_signed_, rows, O);
  affine::sign_rows(dout, block_signs, P, dr);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(dr), cols, beta, as_matrix(d_used_, O, K));
  gemm<Scalar>('N', 'N', 1, dout, weights(kernel.mu()), 0, dcols);
  gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), weights(kernel.draw()), 1, dcols);
}

template <class Scalar>
void FlipoutAffine<Scalar>::backward_end(const Weights& kernel) {
  if (!sampled_) return OneWeightAffine<Scalar>::backward_end(kernel);
  const int K = plan_.K, O = plan_.O;
  if (gradients_ == Gradients::per_example) {
    // dL/dmu += sum_e D_e, dL/d(dW) = sum_e R_e S_e D_e (S folded into R: no spread).
    affine::reduce_examples(d_examples_,
                            plan_.single_input_channel() ? View2<Scalar>() : signs_.columns,
                            signs_.out, backward_examples_, O, K, kernel.grad_mu(), d_used_);
  } else if (gradients_ == Gradients::stacked) {
    affine::unstack_gradients(d_stacked_, kernel.grad_mu(), d_used_);
  }
  kernel.backprop(d_used_);
}

// Several input channels off the per_example path: S varies along a row of cols, so the
// perturbation path reads cols o S, over all rows.
template <class Scalar>
void FlipoutAffine<Scalar>::backward_signed_inputs(const Weights& kernel,
                                                   const Matrix<const Scalar>& cols,
                                                   const Matrix<const Scalar>& dout,
                                                   const Matrix<Scalar>& dcols) {
  const int K = plan_.K, O = plan_.O, P = plan_.P;
  const int rows = static_cast<int>(cols.extent(0));
  // Mean path: dL/dmu += dout^T cols, accumulated straight into the store.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel.grad_mu(), O, K));
  // Perturbation path: with dr = dout o R, dL/d(dW) = dr^T (cols o S). The narrow
  // forward kernel applies S on the fly, so then cols o S is built here.
  auto dr = as_matrix(dout_signed_, rows, O);
  affine::sign_rows(dout, signs_.out, P, dr);
  if (plan_.narrow_forward) sign_inputs(cols);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(dr), signed_inputs(cols), 0,
               as_matrix(d_used_, O, K));
  kernel.backprop(d_used_);
  if (dcols.data() != nullptr) {
    // dcols = dout mu + (dr dW) o S.
    auto dr_dw = as_matrix(dcols_perturbed_, rows, K);
    gemm<Scalar>('N', 'N', 1, dout, weights(kernel.mu()), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), weights(kernel.draw()), 0, dr_dw);
    affine::add_signed_rows<Scalar>(dr_dw, signs_.columns, P, dcols);
  }
}

template class FlipoutAffine<float>;
template class FlipoutAffine<double>;

}  // namespace kbnn

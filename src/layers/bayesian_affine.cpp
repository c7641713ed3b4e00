#include "layers/bayesian_affine.hpp"

#include "core/gemm.hpp"
#include "core/noise.hpp"
#include "layers/affine_kernels.hpp"

#include <stdexcept>
#include <utility>

namespace kbnn {

namespace {
// Bayesian biases draw from their own key so they never share numbers with the kernel.
constexpr std::uint32_t bias_key_offset = 1u << 23;

template <class Scalar>
Matrix<const Scalar> const_matrix(const View1<Scalar>& v, std::size_t rows, std::size_t cols) {
  return Matrix<const Scalar>(v.data(), rows, cols);
}

// A deterministic layer is deterministic throughout: its bias is a point estimate too.
BayesOptions without_noise_if_deterministic(BayesOptions options) {
  if (options.estimator == Estimator::deterministic) options.bayesian_bias = false;
  return options;
}
}  // namespace

template <class Scalar>
BayesianAffine<Scalar>::BayesianAffine(std::string name, std::uint32_t layer_index,
                                       Geometry geometry, BayesOptions options)
    : name_(std::move(name)), layer_index_(layer_index), geometry_(geometry),
      options_(without_noise_if_deterministic(options)), path_(choose_path(geometry, options)),
      narrow_forward_(path_ == AffinePath::narrow ||
                      (path_ == AffinePath::per_example && fits_narrow(geometry))) {}

template <class Scalar>
AffinePath BayesianAffine<Scalar>::choose_path(const Geometry& g, const BayesOptions& options) {
  // Local reparameterization has gemm kernels only (its extra product is cols^2 sigma^2).
  if (!options.fused_kernels || options.estimator == Estimator::local_reparam)
    return AffinePath::gemm;
  // Per-example weights pay when S varies along a row (more than one input channel;
  // with one, S folds into R) and each example has enough rows to fill a gemm.
  if (host_accessible && options.estimator == Estimator::flipout && g.in_channels > 1 &&
      g.positions >= 16)
    return AffinePath::per_example;
  // The fused kernel wins over gemm for few outputs and short rows (LeNet's conv1:
  // K = 25, O = 6, measured with KBNN_PROFILE_LAYERS); longer rows go to gemm, whose
  // backward pass is the same anyway.
  if (fits_narrow(g) && g.in_features <= 64) return AffinePath::narrow;
  return AffinePath::gemm;
}

template <class Scalar>
void BayesianAffine<Scalar>::declare(ParameterStore<Scalar>& store) {
  if (options_.estimator == Estimator::deterministic)
    kernel_.declare_point(store, name_ + "/kernel", geometry_.kernel_shape);
  else
    kernel_.declare(store, name_ + "/kernel", geometry_.kernel_shape);
  const std::vector<std::size_t> bias_shape{std::size_t(geometry_.out_features)};
  if (options_.bayesian_bias)
    bias_gauss_.declare(store, name_ + "/bias", bias_shape);
  else
    bias_id_ = store.declare(name_ + "/bias", bias_shape, ParameterStore<Scalar>::Kind::point);
}

template <class Scalar>
void BayesianAffine<Scalar>::bind(const ParameterStore<Scalar>& store) {
  kernel_.bind(store);
  if (options_.bayesian_bias) {
    bias_gauss_.bind(store);
  } else {
    bias_point_ = store.point(bias_id_);
    grad_bias_point_ = store.grad_point(bias_id_);
  }
}

template <class Scalar>
void BayesianAffine<Scalar>::initialize(std::uint64_t seed) {
  const NoiseKey key{seed, 0, layer_index_};
  kernel_.initialize(key, options_.init_mu_stddev, options_.init_rho_mean,
                     options_.init_rho_stddev);
  const NoiseKey bias_key{seed, 0, layer_index_ + bias_key_offset};
  if (options_.bayesian_bias) {
    bias_gauss_.initialize(bias_key, options_.init_bias_stddev, options_.init_rho_mean,
                           options_.init_rho_stddev);
  } else {
    auto bias = bias_point_;
    const Scalar stddev = Scalar(options_.init_bias_stddev);
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::initialize_bias", Range(0, bias.extent(0)),
        KOKKOS_LAMBDA(const int o) { bias(o) = stddev * bias_key.normal<Scalar>(Stream::init_bias, o); });
  }
}

template <class Scalar>
void BayesianAffine<Scalar>::reserve(int max_examples) {
  const auto& g = geometry_;
  const std::size_t max_rows = std::size_t(max_examples) * g.positions;
  const auto no_init = [](const std::string& label) {
    return Kokkos::view_alloc(Kokkos::WithoutInitializing, label);
  };
  const bool flipout = options_.estimator == Estimator::flipout;
  const bool per_example = path_ == AffinePath::per_example;
  if (flipout) {
    sign_in_ = View2<Scalar>(no_init("kbnn::BayesianAffine::sign_in"), max_examples, g.in_channels);
    sign_out_ = View2<Scalar>(no_init("kbnn::BayesianAffine::sign_out"), max_examples, g.out_features);
    // (cols o S) dW^T: the gemm products, and dout o R in the gemm backward.
    if (!per_example)
      perturbed_ = View2<Scalar>(no_init("kbnn::BayesianAffine::perturbed"), max_rows, g.out_features);
  }
  // S spread over the columns, and cols o S, exist only when S varies along a row (more
  // than one input channel); the per-example path never builds cols o S.
  if (flipout && !single_input_channel()) {
    sign_columns_ =
        View2<Scalar>(no_init("kbnn::BayesianAffine::sign_columns"), max_examples, g.in_features);
    if (!per_example)
      cols_signed_ = View2<Scalar>(no_init("kbnn::BayesianAffine::cols_signed"), max_rows, g.in_features);
  }
  d_kernel_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_kernel"),
                            std::size_t(g.out_features) * g.in_features);
  d_bias_ = View1<Scalar>("kbnn::BayesianAffine::d_bias", g.out_features);
  if (narrow_forward_) {
    const int padded = affine::narrow_vectors<Scalar>(g.out_features) * simd::width<Scalar>();
    mean_t_ = View2<Scalar>(no_init("kbnn::BayesianAffine::mean_t"), g.in_features, padded);
    if (flipout)
      delta_t_ = View2<Scalar>(no_init("kbnn::BayesianAffine::delta_t"), g.in_features, padded);
    // A convolution's Flipout gives each example its own weights W_e^T (its P rows share them).
    if (flipout && g.positions >= 16)
      example_weights_t_ = View2<Scalar>(no_init("kbnn::BayesianAffine::example_weights_t"),
                                         std::size_t(max_examples) * g.in_features, padded);
  }
  if (per_example || (flipout && single_input_channel() && host_accessible)) {
    const std::size_t per_example_numbers = std::size_t(max_examples) * g.out_features * g.in_features;
    if (per_example)
      example_weights_ = View1<Scalar>(no_init("kbnn::BayesianAffine::example_weights"), per_example_numbers);
    d_examples_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_examples"), per_example_numbers);
  }
  if (flipout && single_input_channel()) {
    stacked_ = View2<Scalar>(no_init("kbnn::BayesianAffine::stacked"), max_rows, 2 * g.out_features);
    d_stacked_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_stacked"),
                               2 * std::size_t(g.out_features) * g.in_features);
  }
  if (options_.estimator == Estimator::local_reparam) {
    cols_squared_ = View2<Scalar>(no_init("kbnn::BayesianAffine::cols_squared"), max_rows, g.in_features);
    variance_ = View1<Scalar>(no_init("kbnn::BayesianAffine::variance"),
                              std::size_t(g.out_features) * g.in_features);
    output_noise_ = View2<Scalar>(no_init("kbnn::BayesianAffine::output_noise"), max_rows, g.out_features);
    output_stddev_ = View2<Scalar>(no_init("kbnn::BayesianAffine::output_stddev"), max_rows, g.out_features);
    d_variance_out_ = View2<Scalar>(no_init("kbnn::BayesianAffine::d_variance_out"), max_rows, g.out_features);
  }
  column_partial_ = View2<Scalar>(no_init("kbnn::BayesianAffine::column_partial"),
                                  (max_rows + affine::column_block - 1) / affine::column_block,
                                  g.out_features);
}

template <class Scalar>
void BayesianAffine<Scalar>::draw_signs(int examples, const PassContext& ctx) {
  // Row e of S and R belongs to global example first_example + e.
  const NoiseKey key = ctx.key(layer_index_);
  const std::uint64_t first = std::uint64_t(ctx.first_example);
  const int C = geometry_.in_channels, O = geometry_.out_features;
  fill_signs(key, Stream::sign_in, first * C, sign_in_.data(), std::int64_t(examples) * C);
  fill_signs(key, Stream::sign_out, first * O, sign_out_.data(), std::int64_t(examples) * O);
  // One input channel: S is one sign per example, so (cols o S) dW^T o R equals
  // (cols dW^T) o (S R). Folding S into R saves building cols o S at all.
  if (single_input_channel())
    affine::fold_signs(sign_in_, examples, sign_out_);
  else
    affine::spread_signs(sign_in_, examples, sign_columns_);
}

template <class Scalar>
View1<Scalar> BayesianAffine<Scalar>::begin_forward(int examples, const PassContext& ctx) {
  using Draw = typename GaussianWeights<Scalar>::Draw;
  const NoiseKey key = ctx.key(layer_index_);
  // Local reparameterization draws no weights: its noise enters at the outputs.
  const Estimator estimator = options_.estimator;
  const Draw kernel_draw = !ctx.sample || estimator == Estimator::deterministic ||
                                   estimator == Estimator::local_reparam
                               ? Draw::mean
                           : estimator == Estimator::flipout ? Draw::perturbation
                                                             : Draw::full;
  local_pass_ = ctx.sample && estimator == Estimator::local_reparam;
  kernel_.sample(key, Stream::weight_noise, kernel_draw, options_.noise);
  View1<Scalar> bias = bias_point_;
  if (options_.bayesian_bias) {
    bias_gauss_.sample(NoiseKey{ctx.seed, ctx.pass, layer_index_ + bias_key_offset},
                       Stream::bias_noise, ctx.sample ? Draw::full : Draw::mean, options_.noise);
    bias = bias_gauss_.used();
  }
  if (flipout_active()) draw_signs(examples, ctx);
  per_example_pass_ = path_ == AffinePath::per_example && flipout_active();
  example_weights_ready_ = false;
  return bias;
}

template <class Scalar>
void BayesianAffine<Scalar>::forward(const PatchRows<Scalar>& patches, int rows,
                                     const Matrix<Scalar>& out, const PassContext& ctx) {
  if (!narrow_forward_)
    throw std::logic_error(name_ + ": implicit cols need the narrow forward kernel");
  const View1<Scalar> bias = begin_forward(rows / geometry_.positions, ctx);
  forward_narrow(patches, rows, out, bias);
}

template <class Scalar>
void BayesianAffine<Scalar>::forward(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
                                     const PassContext& ctx) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0));
  const View1<Scalar> bias = begin_forward(rows / P, ctx);
  if (narrow_forward_) {
    forward_narrow(affine::MatrixRows<Scalar>{cols.data(), std::int64_t(cols.stride(0))}, rows,
                   out, bias);
    return;
  }
  if (per_example_pass_) {
    forward_per_example(cols, out, bias);
    return;
  }

  // Mean path (flipout) or the whole product (reparam, posterior mean).
  const View1<Scalar> w = flipout_active() ? kernel_.mu() : kernel_.used();
  gemm<Scalar>('N', 'T', 1, cols, const_matrix(w, O, K), 0, out);

  if (local_pass_) {
    forward_local(cols, out, bias, ctx);
    return;
  }
  if (!flipout_active()) {
    affine::add_bias(bias, out);
    return;
  }

  sign_inputs(cols);
  auto pert = as_matrix(perturbed_, rows, O);
  gemm<Scalar>('N', 'T', 1, signed_inputs(cols), const_matrix(kernel_.draw(), O, K), 0, pert);
  affine::combine<Scalar>(out, pert, sign_out_, bias, P, out);
}

template <class Scalar>
void BayesianAffine<Scalar>::sign_inputs(const Matrix<const Scalar>& cols) {
  signed_rows_ = int(cols.extent(0));
  if (single_input_channel()) return;  // S is folded into R
  affine::sign_rows(cols, sign_columns_, geometry_.positions,
                    as_matrix(cols_signed_, cols.extent(0), geometry_.in_features));
}

// The narrow path: the gemm path is the reference (tests compare the two).
template <class Scalar>
template <class Rows>
void BayesianAffine<Scalar>::forward_narrow(const Rows& source, int rows,
                                            const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const bool flipout = flipout_active();
  signed_rows_ = 0;  // cols o S is not built; backward builds it if it needs it
  if (flipout && example_weights_t_.is_allocated()) {
    // Each example's effective weights W_e: one product instead of a mean and a
    // perturbation product (P rows per example share them).
    const int examples = rows / geometry_.positions;
    const View2<Scalar> wt =
        Kokkos::subview(example_weights_t_, Kokkos::make_pair(0, examples * K), Kokkos::ALL);
    affine::example_weights_transposed(kernel_.mu(), kernel_.draw(),
                                       single_input_channel() ? View2<Scalar>() : sign_columns_,
                                       sign_out_, examples, O, K, wt);
    affine::narrow_forward<Scalar>(source, rows, K, wt, View2<Scalar>(), View2<Scalar>(), sign_out_,
                                   bias, geometry_.positions, out);
    return;
  }
  affine::transpose_padded(flipout ? kernel_.mu() : kernel_.used(), O, K, mean_t_);
  if (flipout) affine::transpose_padded(kernel_.draw(), O, K, delta_t_);
  affine::narrow_forward<Scalar>(source, rows, K, mean_t_, flipout ? delta_t_ : View2<Scalar>(),
                                 flipout && !single_input_channel() ? sign_columns_ : View2<Scalar>(),
                                 sign_out_, bias, geometry_.positions, out);
}

template <class Scalar>
bool BayesianAffine<Scalar>::backward_in_blocks() const {
  // Everything but local reparameterization and Flipout through cols o S over all rows
  // (the gemm path with several input channels), whichever pass it is.
  return options_.estimator != Estimator::local_reparam &&
         (path_ == AffinePath::per_example || single_input_channel() ||
          options_.estimator != Estimator::flipout);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward(const Matrix<const Scalar>& cols,
                                      const Matrix<const Scalar>& dout,
                                      const Matrix<Scalar>& dcols) {
  if (local_pass_) {
    backward_local(cols, dout, dcols);
    return;
  }
  if (signed_inputs_pass()) {
    backward_signed_inputs(cols, dout, dcols);
    return;
  }
  // All rows as one block.
  backward_begin(int(cols.extent(0)) / geometry_.positions);
  backward_block(cols, dout, dcols, 0);
  backward_end(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_begin(int examples) {
  if (local_pass_ || signed_inputs_pass())
    throw std::logic_error(name_ + ": this pass has no block-wise backward");
  backward_examples_ = examples;
  // dcols of the per-example path needs the weights the narrow forward kernel skipped.
  if (per_example_pass_ && !example_weights_ready_) {
    affine::example_weights(kernel_.mu(), kernel_.draw(), sign_columns_, sign_out_, examples,
                            geometry_.out_features, geometry_.in_features, example_weights_);
    example_weights_ready_ = true;
  }
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_block(const Matrix<const Scalar>& cols,
                                            const Matrix<const Scalar>& dout,
                                            const Matrix<Scalar>& dcols, int first_example) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0)), examples = rows / P;
  const bool want_dcols = dcols.data() != nullptr;
  // The block's products add to what earlier blocks left (beta = 1 after the first).
  const Scalar beta = first_example == 0 ? 0 : 1;
  auto d_kernel = as_matrix(d_kernel_, O, K);
  // This block's rows of the output signs R.
  const View2<Scalar> sign_out = Kokkos::subview(
      sign_out_, Kokkos::make_pair(first_example, first_example + examples), Kokkos::ALL);

  stacked_gradients_ = example_gradients_ = false;
  if (per_example_pass_) {
    backward_per_example(cols, dout, dcols, first_example);
    example_gradients_ = true;
    return;
  }
  if (!flipout_active()) {
    // d used W = dout^T cols; GaussianWeights routes it to mu and rho at the end.
    gemm<Scalar>('T', 'N', 1, dout, cols, beta, d_kernel);
    if (want_dcols) gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.used(), O, K), 0, dcols);
    return;
  }
  // Flipout with one input channel: S is folded into R, so cols o S is cols.
  if (!want_dcols && host_accessible) {
    // As on the per_example path: D_e = dout_e^T cols_e per example, which backward_end
    // sums into dL/dmu and, times R_e, dL/d(dW) (O outputs per product, not 2 O).
    gemm_blocks<Scalar>(examples, 'T', 'N', 1, dout, cols, 0,
                        Matrix<Scalar>(d_examples_.data() + std::size_t(first_example) * O * K,
                                       std::size_t(examples) * O, K));
    example_gradients_ = true;
    return;
  }
  if (!want_dcols) {
    // Both weight gradients read the same cols: one gemm of [dout | dout o R]^T cols
    // gives [dL/dmu ; dL/d(dW)] in a single pass over cols.
    auto stacked = as_matrix(stacked_, rows, 2 * O);
    affine::stack_dout(dout, sign_out, P, stacked);
    gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(stacked), cols, beta,
                 as_matrix(d_stacked_, 2 * O, K));
    stacked_gradients_ = true;
    return;
  }
  // Mean path: dL/dmu += dout^T cols, accumulated straight into the store. Perturbation
  // path, with dr = dout o R: dL/d(dW) = dr^T cols; dcols = dout mu + dr dW.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel_.grad_mu(), O, K));
  auto dr = as_matrix(perturbed_, rows, O);
  affine::sign_rows(dout, sign_out, P, dr);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(dr), cols, beta, d_kernel);
  gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.mu(), O, K), 0, dcols);
  gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), const_matrix(kernel_.draw(), O, K), 1, dcols);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_end(const Matrix<const Scalar>& dout) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  if (example_gradients_) {
    // dL/dmu += sum_e D_e, dL/d(dW) = sum_e R_e S_e D_e (S folded into R: no spread).
    affine::reduce_examples(d_examples_, single_input_channel() ? View2<Scalar>() : sign_columns_,
                            sign_out_, backward_examples_, O, K, kernel_.grad_mu(), d_kernel_);
  } else if (stacked_gradients_) {
    affine::unstack_gradients(d_stacked_, kernel_.grad_mu(), d_kernel_);
  }
  kernel_.backprop(d_kernel_);
  add_bias_gradient(dout);
}

// Flipout on the gemm path with several input channels: S varies along a row of cols,
// so the perturbation path reads cols o S, built over all rows.
template <class Scalar>
void BayesianAffine<Scalar>::backward_signed_inputs(const Matrix<const Scalar>& cols,
                                                    const Matrix<const Scalar>& dout,
                                                    const Matrix<Scalar>& dcols) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0));
  auto d_kernel = as_matrix(d_kernel_, O, K);
  // Mean path: dL/dmu += dout^T cols, accumulated straight into the store.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel_.grad_mu(), O, K));

  // Perturbation path: with dr = dout o R, dL/d(dW) = dr^T (cols o S).
  auto dr = as_matrix(perturbed_, rows, O);
  affine::sign_rows(dout, sign_out_, P, dr);
  if (signed_rows_ != rows) sign_inputs(cols);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(dr), signed_inputs(cols), 0, d_kernel);
  kernel_.backprop(d_kernel_);

  if (dcols.data() != nullptr) {
    auto xs = as_matrix(cols_signed_, rows, K);
    // dcols = dout mu + (dr dW) o S; cols o S is no longer needed, so it holds dr dW.
    gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.mu(), O, K), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), const_matrix(kernel_.draw(), O, K), 0, xs);
    affine::add_signed_rows<Scalar>(xs, sign_columns_, P, dcols);
  }
  add_bias_gradient(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::forward_local(const Matrix<const Scalar>& cols,
                                           const Matrix<Scalar>& out, const View1<Scalar>& bias,
                                           const PassContext& ctx) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const std::size_t rows = cols.extent(0);
  // v = cols^2 (sigma^2)^T: the variance of each output given cols.
  auto squared = as_matrix(cols_squared_, rows, K);
  affine::square(cols, squared);
  kernel_.variance(variance_);
  auto stddev = as_matrix(output_stddev_, rows, O);
  gemm<Scalar>('N', 'T', 1, Matrix<const Scalar>(squared), const_matrix(variance_, O, K), 0, stddev);
  // E(r, o) is element (global row) * O + o of its stream: the same on any rank count.
  const std::uint64_t first_row = std::uint64_t(ctx.first_example) * geometry_.positions;
  fill_normals(ctx.key(layer_index_), Stream::output_noise, first_row * O, output_noise_.data(),
               std::int64_t(rows) * O);
  affine::add_output_noise<Scalar>(stddev, Matrix<const Scalar>(output_noise_.data(), rows, O), bias, out);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_local(const Matrix<const Scalar>& cols,
                                            const Matrix<const Scalar>& dout,
                                            const Matrix<Scalar>& dcols) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const std::size_t rows = cols.extent(0);
  // Mean path: dL/dmu += dout^T cols.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel_.grad_mu(), O, K));
  // Variance path: with g = dL/dv, dL/d(sigma^2) = g^T cols^2 and dcols += 2 cols o (g sigma^2).
  auto g = as_matrix(d_variance_out_, rows, O);
  affine::output_variance_gradient<Scalar>(dout, Matrix<const Scalar>(output_noise_.data(), rows, O),
                                           Matrix<const Scalar>(output_stddev_.data(), rows, O), g);
  // cols_squared_ still holds forward's cols^2; the dcols product below overwrites it.
  auto squared = as_matrix(cols_squared_, rows, K);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(g), Matrix<const Scalar>(squared), 0,
               as_matrix(d_kernel_, O, K));
  kernel_.backprop_variance(d_kernel_);
  if (dcols.data() != nullptr) {
    gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.mu(), O, K), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(g), const_matrix(variance_, O, K), 0, squared);
    affine::add_variance_input_gradient<Scalar>(cols, Matrix<const Scalar>(squared), dcols);
  }
  add_bias_gradient(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::add_bias_gradient(const Matrix<const Scalar>& dout) {
  affine::column_sums(dout, column_partial_, d_bias_);
  if (options_.bayesian_bias)
    bias_gauss_.backprop(d_bias_);
  else
    affine::add_to(d_bias_, grad_bias_point_);
}

template class BayesianAffine<float>;
template class BayesianAffine<double>;

}  // namespace kbnn

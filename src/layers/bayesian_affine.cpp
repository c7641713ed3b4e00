#include "layers/bayesian_affine.hpp"

#include "core/gemm.hpp"
#include "core/lanes.hpp"
#include "core/noise.hpp"

#include <KokkosBlas2_gemv.hpp>

#include <utility>

namespace kbnn {

namespace {
// Bayesian biases draw from their own key so they never share numbers with the kernel.
constexpr std::uint32_t bias_key_offset = 1u << 23;

template <class Scalar>
Matrix<const Scalar> const_matrix(const View1<Scalar>& v, std::size_t rows, std::size_t cols) {
  return Matrix<const Scalar>(v.data(), rows, cols);
}
}  // namespace

template <class Scalar>
BayesianAffine<Scalar>::BayesianAffine(std::string name, std::uint32_t layer_index,
                                       Geometry geometry, BayesOptions options)
    : name_(std::move(name)), layer_index_(layer_index), geometry_(geometry),
      options_(options) {}

template <class Scalar>
void BayesianAffine<Scalar>::declare(ParameterStore<Scalar>& store) {
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
  sign_in_ = View2<Scalar>(no_init("kbnn::BayesianAffine::sign_in"), max_examples, g.in_channels);
  sign_out_ = View2<Scalar>(no_init("kbnn::BayesianAffine::sign_out"), max_examples, g.out_features);
  sign_columns_ =
      View2<Scalar>(no_init("kbnn::BayesianAffine::sign_columns"), max_examples, g.in_features);
  // cols o S only exists when S varies along a row (more than one input channel) and
  // the per-example path, which never builds it, is not taken.
  if (options_.estimator == Estimator::flipout && !single_input_channel() &&
      !(options_.fused_kernels && per_example_possible() && !use_narrow()))
    cols_signed_ = View2<Scalar>(no_init("kbnn::BayesianAffine::cols_signed"), max_rows, g.in_features);
  perturbed_ = View2<Scalar>(no_init("kbnn::BayesianAffine::perturbed"), max_rows, g.out_features);
  d_kernel_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_kernel"),
                            std::size_t(g.out_features) * g.in_features);
  d_bias_ = View1<Scalar>("kbnn::BayesianAffine::d_bias", g.out_features);
  mean_t_ = View2<Scalar>(no_init("kbnn::BayesianAffine::mean_t"), g.in_features, narrow_width);
  delta_t_ = View2<Scalar>(no_init("kbnn::BayesianAffine::delta_t"), g.in_features, narrow_width);
  if (options_.estimator == Estimator::flipout && per_example_possible()) {
    example_weights_ = View1<Scalar>(no_init("kbnn::BayesianAffine::example_weights"),
                                     std::size_t(max_examples) * 2 * g.out_features * g.in_features);
    example_out_ = View2<Scalar>(no_init("kbnn::BayesianAffine::example_out"), max_rows,
                                 2 * g.out_features);
    d_examples_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_examples"),
                                std::size_t(max_examples) * 2 * g.out_features * g.in_features);
  }
  if (options_.estimator == Estimator::flipout &&
      (single_input_channel() || per_example_possible())) {
    stacked_ = View2<Scalar>(no_init("kbnn::BayesianAffine::stacked"), max_rows, 2 * g.out_features);
    d_stacked_ = View1<Scalar>(no_init("kbnn::BayesianAffine::d_stacked"),
                               2 * std::size_t(g.out_features) * g.in_features);
  }
  ones_ = View1<Scalar>(no_init("kbnn::BayesianAffine::ones"), max_rows);
  Kokkos::deep_copy(ones_, Scalar(1));
}

template <class Scalar>
void BayesianAffine<Scalar>::draw_signs(int examples, const PassContext& ctx) {
  // Row e of S and R belongs to global example first_example + e.
  const NoiseKey key = ctx.key(layer_index_);
  const std::uint64_t first = std::uint64_t(ctx.first_example);
  const int C = geometry_.in_channels, O = geometry_.out_features;
  fill_signs(key, Stream::sign_in, first * C, sign_in_.data(), std::int64_t(examples) * C);
  fill_signs(key, Stream::sign_out, first * O, sign_out_.data(), std::int64_t(examples) * O);
  if (single_input_channel()) {
    // One input channel: S is one sign per example, so (cols o S) dW^T o R equals
    // (cols dW^T) o (S R). Folding S into R saves building cols o S at all.
    auto s = sign_in_;
    auto r = sign_out_;
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::fold_signs", Range(0, examples), KOKKOS_LAMBDA(const int e) {
          for (int o = 0; o < O; ++o) r(e, o) *= s(e, 0);
        });
    return;
  }
  // Spread S over the K columns (column k has channel k % C), so the kernels that
  // apply it run straight, vectorisable loops.
  const int K = geometry_.in_features;
  auto s = sign_in_;
  auto spread = sign_columns_;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::spread_signs", Range(0, examples), KOKKOS_LAMBDA(const int e) {
        for (int k0 = 0; k0 < K; k0 += C)
          for (int c = 0; c < C; ++c) spread(e, k0 + c) = s(e, c);
      });
}

template <class Scalar>
void BayesianAffine<Scalar>::forward(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
                                     const PassContext& ctx) {
  using Draw = typename GaussianWeights<Scalar>::Draw;
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0));
  const int examples = rows / P;
  const NoiseKey key = ctx.key(layer_index_);

  const Draw kernel_draw = !ctx.sample ? Draw::mean
                           : options_.estimator == Estimator::flipout ? Draw::perturbation
                                                                      : Draw::full;
  kernel_.sample(key, Stream::weight_noise, kernel_draw, options_.noise);
  View1<Scalar> bias = bias_point_;
  if (options_.bayesian_bias) {
    bias_gauss_.sample(NoiseKey{ctx.seed, ctx.pass, layer_index_ + bias_key_offset},
                       Stream::bias_noise, ctx.sample ? Draw::full : Draw::mean, options_.noise);
    bias = bias_gauss_.used();
  }

  per_example_weights_ready_ = false;
  if (flipout_active()) draw_signs(examples, ctx);
  if (use_narrow()) {
    forward_narrow(cols, out, bias);
    return;
  }
  if (use_per_example()) {
    forward_per_example(cols, out, bias);
    return;
  }

  // Mean path (flipout) or the whole product (reparam, posterior mean).
  const View1<Scalar> w = flipout_active() ? kernel_.mu() : kernel_.used();
  gemm<Scalar>('N', 'T', 1, cols, const_matrix(w, O, K), 0, out);

  if (!flipout_active()) {
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::add_bias", Range(0, rows), KOKKOS_LAMBDA(const int row) {
          for (int o = 0; o < O; ++o) out(row, o) += bias(o);
        });
    return;
  }

  auto r = sign_out_;
  sign_inputs(cols);
  auto pert = as_matrix(perturbed_, rows, O);
  gemm<Scalar>('N', 'T', 1, signed_inputs(cols), const_matrix(kernel_.draw(), O, K), 0, pert);
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::combine", Range(0, rows), KOKKOS_LAMBDA(const int row) {
        const int e = row / P;
        for (int o = 0; o < O; ++o) out(row, o) += pert(row, o) * r(e, o) + bias(o);
      });
}

template <class Scalar>
Matrix<Scalar> BayesianAffine<Scalar>::stack_dout(const Matrix<const Scalar>& dout) {
  const int O = geometry_.out_features, P = geometry_.positions;
  auto stacked = as_matrix(stacked_, dout.extent(0), 2 * O);
  auto r = sign_out_;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::stack_dout", Range(0, dout.extent(0)), KOKKOS_LAMBDA(const int row) {
        const int e = row / P;
        for (int o = 0; o < O; ++o) {
          stacked(row, o) = dout(row, o);
          stacked(row, O + o) = dout(row, o) * r(e, o);
        }
      });
  return stacked;
}

template <class Scalar>
void BayesianAffine<Scalar>::sign_inputs(const Matrix<const Scalar>& cols) {
  signed_rows_ = int(cols.extent(0));
  if (single_input_channel()) return;  // S is folded into R
  const int K = geometry_.in_features, P = geometry_.positions;
  auto s = sign_columns_;
  auto signed_cols = as_matrix(cols_signed_, cols.extent(0), K);
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::sign_inputs", Range(0, cols.extent(0)),
      KOKKOS_LAMBDA(const int row) {
        const int e = row / P;
        for (int k = 0; k < K; ++k) signed_cols(row, k) = cols(row, k) * s(e, k);
      });
}

// Few outputs (O <= narrow_width): gemm wastes most of its work on such thin shapes,
// so one pass over cols computes the mean path, the Flipout path and the combine,
// with the weights transposed and zero-padded to narrow_width columns so that the
// inner loop is one full-width vector operation. The gemm path is the reference
// (tests compare the two).
template <class Scalar>
void BayesianAffine<Scalar>::forward_narrow(const Matrix<const Scalar>& cols,
                                            const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0));
  const bool flipout = flipout_active();
  auto transpose = [&](const View1<Scalar>& w, const View2<Scalar>& wt) {
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::transpose_narrow", Range(0, K), KOKKOS_LAMBDA(const int k) {
          for (int o = 0; o < narrow_width; ++o) wt(k, o) = o < O ? w(o * K + k) : Scalar(0);
        });
  };
  transpose(flipout ? kernel_.mu() : kernel_.used(), mean_t_);
  // Raw row pointers: contiguous, fixed-width inner loops the compiler vectorises.
  const Scalar* mt = mean_t_.data();
  const Scalar* x_data = cols.data();
  const std::int64_t x_stride = cols.stride(0);
  if (!flipout) {
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::forward_narrow", Range(0, rows), KOKKOS_LAMBDA(const int row) {
          const Scalar* x = x_data + row * x_stride;
          Lanes<Scalar, narrow_width> m;
          for (int k = 0; k < K; ++k) m.fma(x[k], mt + k * narrow_width);
          for (int o = 0; o < O; ++o) out(row, o) = m[o] + bias(o);
        });
    return;
  }
  transpose(kernel_.draw(), delta_t_);
  const Scalar* dt = delta_t_.data();
  const Scalar* s_data = sign_columns_.data();
  const std::int64_t s_stride = sign_columns_.stride(0);
  auto r = sign_out_;
  const bool single = single_input_channel();
  // A thread takes `block` rows: their accumulators are independent, which hides the
  // latency of the fused multiply-adds (one row alone waits on its own sums).
  constexpr int block = 4;
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::forward_narrow_flipout", Range(0, (rows + block - 1) / block),
      KOKKOS_LAMBDA(const int b) {
        const int row0 = b * block, n = rows - row0 < block ? rows - row0 : block;
        Lanes<Scalar, narrow_width> m[block], q[block];
        for (int k = 0; k < K; ++k) {
          const Scalar* wm = mt + k * narrow_width;
          const Scalar* wd = dt + k * narrow_width;
          for (int j = 0; j < n; ++j) {
            const Scalar x = x_data[(row0 + j) * x_stride + k];
            m[j].fma(x, wm);
            q[j].fma(single ? x : x * s_data[((row0 + j) / P) * s_stride + k], wd);
          }
        }
        for (int j = 0; j < n; ++j) {
          const int row = row0 + j, e = row / P;
          for (int o = 0; o < O; ++o) out(row, o) = m[j][o] + q[j][o] * r(e, o) + bias(o);
        }
      });
  signed_rows_ = 0;  // cols o S was not built; backward builds it if it needs it
}

template <class Scalar>
void BayesianAffine<Scalar>::backward(const Matrix<const Scalar>& cols,
                                      const Matrix<const Scalar>& dout,
                                      const Matrix<Scalar>& dcols) {
  const int K = geometry_.in_features, O = geometry_.out_features;
  const int P = geometry_.positions;
  const int rows = static_cast<int>(cols.extent(0));
  const bool want_dcols = dcols.data() != nullptr;
  auto d_kernel = as_matrix(d_kernel_, O, K);

  if (!flipout_active()) {
    // d used W = dout^T cols; GaussianWeights routes it to mu and rho.
    gemm<Scalar>('T', 'N', 1, dout, cols, 0, d_kernel);
    kernel_.backprop(d_kernel_);
    if (want_dcols) gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.used(), O, K), 0, dcols);
    add_bias_gradient(dout);
    return;
  }

  if (per_example_weights_ready_) {
    backward_per_example(cols, dout, dcols);
    return;
  }
  auto r = sign_out_;
  if (single_input_channel() && !want_dcols) {
    // S is folded into R, so both weight gradients read the same cols: one gemm of
    // [dout | dout o R]^T cols gives [dL/dmu ; dL/d(dW)] in a single pass over cols.
    auto stacked = stack_dout(dout);
    auto both = as_matrix(d_stacked_, 2 * O, K);
    gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(stacked), cols, 0, both);
    auto gmu = kernel_.grad_mu();
    auto dk = d_kernel_;
    const Scalar* both_data = d_stacked_.data();
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::unstack_gradients", Range(0, O * K), KOKKOS_LAMBDA(const int i) {
          gmu(i) += both_data[i];
          dk(i) = both_data[O * K + i];
        });
    kernel_.backprop(d_kernel_);
    add_bias_gradient(dout);
    return;
  }

  // Mean path: dL/dmu += dout^T cols, accumulated straight into the store.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel_.grad_mu(), O, K));

  // Perturbation path: with dr = dout o R, dL/d(dW) = dr^T (cols o S).
  auto dr = as_matrix(perturbed_, rows, O);
  Kokkos::parallel_for(
      "kbnn::BayesianAffine::sign_dout", Range(0, rows), KOKKOS_LAMBDA(const int row) {
        const int e = row / P;
        for (int o = 0; o < O; ++o) dr(row, o) = dout(row, o) * r(e, o);
      });
  if (signed_rows_ != rows) sign_inputs(cols);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(dr), signed_inputs(cols), 0, d_kernel);
  kernel_.backprop(d_kernel_);

  if (want_dcols && single_input_channel()) {
    // S is folded into R: dcols = dout mu + dr dW.
    gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.mu(), O, K), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), const_matrix(kernel_.draw(), O, K), 1, dcols);
  } else if (want_dcols) {
    auto xs = as_matrix(cols_signed_, rows, K);
    // dcols = dout mu + (dr dW) o S; cols o S is no longer needed, so it holds dr dW.
    gemm<Scalar>('N', 'N', 1, dout, const_matrix(kernel_.mu(), O, K), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(dr), const_matrix(kernel_.draw(), O, K), 0, xs);
    auto s = sign_columns_;
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::unsign_dcols", Range(0, rows), KOKKOS_LAMBDA(const int row) {
          const int e = row / P;
          for (int k = 0; k < K; ++k) dcols(row, k) += xs(row, k) * s(e, k);
        });
  }
  add_bias_gradient(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::add_bias_gradient(const Matrix<const Scalar>& dout) {
  // db = dout^T * ones: a gemv reads dout once, row by row (BLAS on CPU and GPU).
  const std::size_t rows = dout.extent(0);
  auto db = d_bias_;
  KokkosBlas::gemv("T", Scalar(1), dout, Kokkos::subview(ones_, Kokkos::make_pair(std::size_t(0), rows)),
                   Scalar(0), d_bias_);
  if (options_.bayesian_bias) {
    bias_gauss_.backprop(d_bias_);
  } else {
    auto g = grad_bias_point_;
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::bias_point_gradient", Range(0, geometry_.out_features),
        KOKKOS_LAMBDA(const int o) { g(o) += db(o); });
  }
}

template class BayesianAffine<float>;
template class BayesianAffine<double>;

}  // namespace kbnn

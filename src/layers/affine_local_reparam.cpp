#include "layers/affine_local_reparam.hpp"

#include "core/gemm.hpp"
#include "core/noise.hpp"
#include "layers/affine_local_kernels.hpp"
#include "layers/affine_narrow_kernel.hpp"

namespace kbnn {

template <class Scalar>
void LocalReparamAffine<Scalar>::reserve(int max_examples) {
  OneWeightAffine<Scalar>::reserve(max_examples);  // the mean pass's
  const AffinePlan& p = plan_;
  const std::size_t rows = std::size_t(max_examples) * p.P, weights = std::size_t(p.O) * p.K;
  variance_ = View1<Scalar>(affine::workspace("variance"), weights);
  output_noise_ = View2<Scalar>(affine::workspace("output_noise"), rows, p.O);
  output_stddev_ = View2<Scalar>(affine::workspace("output_stddev"), rows, p.O);
  cols_squared_ = View2<Scalar>(affine::workspace("cols_squared"), rows, p.K);
  d_variance_out_ = View2<Scalar>(affine::workspace("d_variance_out"), rows, p.O);
  d_variance_ = View1<Scalar>(affine::workspace("d_variance"), weights);
  dcols_variance_ = View2<Scalar>(affine::workspace("dcols_variance"), rows, p.K);
  if (p.narrow_forward) {
    const int padded = affine::narrow_vectors<Scalar>(p.O) * simd::width<Scalar>();
    mean_t_ = View2<Scalar>(affine::workspace("mean_t"), p.K, padded);
    variance_t_ = View2<Scalar>(affine::workspace("variance_t"), p.K, padded);
  }
}

template <class Scalar>
void LocalReparamAffine<Scalar>::begin_pass(int examples, const PassContext& ctx,
                                            const NoiseKey& key) {
  sampled_ = ctx.sample;
  if (!sampled_) return;
  // E(r, o) is element (global row) * O + o of its stream: the same on any rank count.
  const std::uint64_t first_row = std::uint64_t(ctx.first_example) * plan_.P;
  fill_normals(key, Stream::output_noise, first_row * plan_.O, output_noise_.data(),
               std::int64_t(examples) * plan_.P * plan_.O);
}

template <class Scalar>
void LocalReparamAffine<Scalar>::forward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                         const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  if (!sampled_) return OneWeightAffine<Scalar>::forward(kernel, cols, out, bias);
  if (plan_.narrow_forward)
    return forward_narrow(
        kernel, affine::MatrixRows<Scalar>{cols.data(), std::int64_t(cols.stride(0))},
        static_cast<int>(cols.extent(0)), out, bias);
  forward_gemm(kernel, cols, out, bias);
}

template <class Scalar>
void LocalReparamAffine<Scalar>::forward_patches(const Weights& kernel,
                                                 const PatchRows<Scalar>& patches, int rows,
                                                 const Matrix<Scalar>& out,
                                                 const View1<Scalar>& bias) {
  if (!sampled_) return OneWeightAffine<Scalar>::forward_patches(kernel, patches, rows, out, bias);
  forward_narrow(kernel, patches, rows, out, bias);
}

// The reference: the mean product, then v = cols^2 (sigma^2)^T, the variance of each
// output given cols, and the noise.
template <class Scalar>
void LocalReparamAffine<Scalar>::forward_gemm(const Weights& kernel,
                                              const Matrix<const Scalar>& cols,
                                              const Matrix<Scalar>& out,
                                              const View1<Scalar>& bias) {
  const std::size_t rows = cols.extent(0);
  gemm<Scalar>('N', 'T', 1, cols, weights(kernel.mu()), 0, out);
  auto squared = as_matrix(cols_squared_, rows, plan_.K);
  affine::square(cols, squared);
  kernel.variance(variance_);
  auto stddev = as_matrix(output_stddev_, rows, plan_.O);
  gemm<Scalar>('N', 'T', 1, Matrix<const Scalar>(squared), weights(variance_), 0, stddev);
  const Matrix<const Scalar> noise(output_noise_.data(), rows, plan_.O);
  affine::add_output_noise<Scalar>(stddev, noise, bias, out);
}

// The narrow path: both products and the noise in one pass over cols, cols^2 on the fly
// (the gemm path is the reference: tests compare the two).
template <class Scalar>
template <class Rows>
void LocalReparamAffine<Scalar>::forward_narrow(const Weights& kernel, const Rows& source,
                                                int rows, const Matrix<Scalar>& out,
                                                const View1<Scalar>& bias) {
  const int K = plan_.K, O = plan_.O;
  kernel.variance(variance_);
  affine::transpose_padded(kernel.mu(), O, K, mean_t_);
  affine::transpose_padded(variance_, O, K, variance_t_);
  const affine::OutputNoise<Scalar> noise{
      Matrix<const Scalar>(output_noise_.data(), rows, O), as_matrix(output_stddev_, rows, O)};
  affine::narrow_forward<Scalar>(source, rows, K, mean_t_, variance_t_, View2<Scalar>(),
                                 View2<Scalar>(), bias, plan_.P, out, native_shape, noise);
}

template <class Scalar>
void LocalReparamAffine<Scalar>::backward_block(const Weights& kernel,
                                                const Matrix<const Scalar>& cols,
                                                const Matrix<const Scalar>& dout,
                                                const Matrix<Scalar>& dcols, int first_example) {
  if (!sampled_)
    return OneWeightAffine<Scalar>::backward_block(kernel, cols, dout, dcols, first_example);
  const int K = plan_.K, O = plan_.O;
  const std::size_t rows = cols.extent(0), first_row = std::size_t(first_example) * plan_.P;
  // Mean path: dL/dmu += dout^T cols.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel.grad_mu(), O, K));
  // Variance path: with g = dL/dv, dL/d(sigma^2) = g^T cols^2 and dcols += 2 cols o (g sigma^2).
  auto g = as_matrix(d_variance_out_, rows, O);
  const Matrix<const Scalar> noise(output_noise_.data() + first_row * O, rows, O);
  const Matrix<const Scalar> stddev(output_stddev_.data() + first_row * O, rows, O);
  affine::output_variance_gradient<Scalar>(dout, noise, stddev, g);
  auto squared = as_matrix(cols_squared_, rows, K);
  affine::square(cols, squared);
  // The block's product adds to what earlier blocks left (beta = 1 after the first).
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(g), Matrix<const Scalar>(squared),
               first_example == 0 ? 0 : 1, as_matrix(d_variance_, O, K));
  if (dcols.data() != nullptr) {
    auto t = as_matrix(dcols_variance_, rows, K);
    gemm<Scalar>('N', 'N', 1, dout, weights(kernel.mu()), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(g), weights(variance_), 0, t);
    affine::add_variance_input_gradient<Scalar>(cols, Matrix<const Scalar>(t), dcols);
  }
}

template <class Scalar>
void LocalReparamAffine<Scalar>::backward_end(const Weights& kernel) {
  if (!sampled_) return OneWeightAffine<Scalar>::backward_end(kernel);
  kernel.backprop_variance(d_variance_);
}

template class LocalReparamAffine<float>;
template class LocalReparamAffine<double>;

}  // namespace kbnn

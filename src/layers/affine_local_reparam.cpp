#include "layers/affine_local_reparam.hpp"

#include "core/gemm.hpp"
#include "core/noise.hpp"
#include "layers/affine_local_kernels.hpp"

namespace kbnn {

template <class Scalar>
void LocalReparamAffine<Scalar>::reserve(int max_examples) {
  OneWeightAffine<Scalar>::reserve(max_examples);  // the mean pass's
  const AffinePlan& p = plan_;
  const std::size_t rows = std::size_t(max_examples) * p.P, weights = std::size_t(p.O) * p.K;
  cols_squared_ = View2<Scalar>(affine::workspace("cols_squared"), rows, p.K);
  variance_ = View1<Scalar>(affine::workspace("variance"), weights);
  output_noise_ = View2<Scalar>(affine::workspace("output_noise"), rows, p.O);
  output_stddev_ = View2<Scalar>(affine::workspace("output_stddev"), rows, p.O);
  d_variance_out_ = View2<Scalar>(affine::workspace("d_variance_out"), rows, p.O);
  d_variance_ = View1<Scalar>(affine::workspace("d_variance"), weights);
  dcols_variance_ = View2<Scalar>(affine::workspace("dcols_variance"), rows, p.K);
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
  const std::size_t rows = cols.extent(0);
  // Mean path.
  gemm<Scalar>('N', 'T', 1, cols, weights(kernel.mu()), 0, out);
  // v = cols^2 (sigma^2)^T: the variance of each output given cols.
  auto squared = as_matrix(cols_squared_, rows, plan_.K);
  affine::square(cols, squared);
  kernel.variance(variance_);
  auto stddev = as_matrix(output_stddev_, rows, plan_.O);
  gemm<Scalar>('N', 'T', 1, Matrix<const Scalar>(squared), weights(variance_), 0, stddev);
  const Matrix<const Scalar> noise(output_noise_.data(), rows, plan_.O);
  affine::add_output_noise<Scalar>(stddev, noise, bias, out);
}

template <class Scalar>
void LocalReparamAffine<Scalar>::backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                          const Matrix<const Scalar>& dout,
                                          const Matrix<Scalar>& dcols) {
  if (!sampled_) return OneWeightAffine<Scalar>::backward(kernel, cols, dout, dcols);
  const int K = plan_.K, O = plan_.O;
  const std::size_t rows = cols.extent(0);
  // Mean path: dL/dmu += dout^T cols.
  gemm<Scalar>('T', 'N', 1, dout, cols, 1, as_matrix(kernel.grad_mu(), O, K));
  // Variance path: with g = dL/dv, dL/d(sigma^2) = g^T cols^2 and dcols += 2 cols o (g sigma^2).
  auto g = as_matrix(d_variance_out_, rows, O);
  const Matrix<const Scalar> noise(output_noise_.data(), rows, O);
  const Matrix<const Scalar> stddev(output_stddev_.data(), rows, O);
  affine::output_variance_gradient<Scalar>(dout, noise, stddev, g);
  const Matrix<const Scalar> squared(cols_squared_.data(), rows, K);
  gemm<Scalar>('T', 'N', 1, Matrix<const Scalar>(g), squared, 0, as_matrix(d_variance_, O, K));
  kernel.backprop_variance(d_variance_);
  if (dcols.data() != nullptr) {
    auto t = as_matrix(dcols_variance_, rows, K);
    gemm<Scalar>('N', 'N', 1, dout, weights(kernel.mu()), 0, dcols);
    gemm<Scalar>('N', 'N', 1, Matrix<const Scalar>(g), weights(variance_), 0, t);
    affine::add_variance_input_gradient<Scalar>(cols, Matrix<const Scalar>(t), dcols);
  }
}

template class LocalReparamAffine<float>;
template class LocalReparamAffine<double>;

}  // namespace kbnn

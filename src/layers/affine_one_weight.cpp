#include "layers/affine_one_weight.hpp"

#include "core/gemm.hpp"
#include "layers/affine_bias_kernels.hpp"
#include "layers/affine_narrow_kernel.hpp"

namespace kbnn {

template <class Scalar>
void OneWeightAffine<Scalar>::reserve(int /*max_examples*/) {
  const AffinePlan& p = plan_;
  d_used_ = View1<Scalar>(affine::workspace("d_used"), std::size_t(p.O) * p.K);
  if (p.narrow_forward) {
    const int padded = affine::narrow_vectors<Scalar>(p.O) * simd::width<Scalar>();
    used_t_ = View2<Scalar>(affine::workspace("used_t"), p.K, padded);
  }
}

template <class Scalar>
void OneWeightAffine<Scalar>::forward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                      const Matrix<Scalar>& out, const View1<Scalar>& bias) {
  const int rows = static_cast<int>(cols.extent(0));
  if (plan_.narrow_forward) {
    forward_narrow(kernel, affine::MatrixRows<Scalar>{cols.data(), std::int64_t(cols.stride(0))},
                   rows, out, bias);
    return;
  }
  gemm<Scalar>('N', 'T', 1, cols, weights(kernel.used()), 0, out);
  affine::add_bias(bias, out);
}

template <class Scalar>
void OneWeightAffine<Scalar>::forward_patches(const Weights& kernel,
                                              const PatchRows<Scalar>& patches, int rows,
                                              const Matrix<Scalar>& out,
                                              const View1<Scalar>& bias) {
  forward_narrow(kernel, patches, rows, out, bias);
}

// The narrow path: the gemm path is the reference (tests compare the two).
template <class Scalar>
template <class Rows>
void OneWeightAffine<Scalar>::forward_narrow(const Weights& kernel, const Rows& source, int rows,
                                             const Matrix<Scalar>& out,
                                             const View1<Scalar>& bias) {
  affine::transpose_padded(kernel.used(), plan_.O, plan_.K, used_t_);
  affine::narrow_forward<Scalar>(source, rows, plan_.K, used_t_, View2<Scalar>(), View2<Scalar>(),
                                 View2<Scalar>(), bias, plan_.P, out);
}

template <class Scalar>
void OneWeightAffine<Scalar>::backward(const Weights& kernel, const Matrix<const Scalar>& cols,
                                       const Matrix<const Scalar>& dout,
                                       const Matrix<Scalar>& dcols) {
  this->backward_begin(kernel, int(cols.extent(0)) / plan_.P, dcols.data() != nullptr);
  this->backward_block(kernel, cols, dout, dcols, 0);
  this->backward_end(kernel);
}

template <class Scalar>
void OneWeightAffine<Scalar>::backward_block(const Weights& kernel,
                                             const Matrix<const Scalar>& cols,
                                             const Matrix<const Scalar>& dout,
                                             const Matrix<Scalar>& dcols, int first_example) {
  const int K = plan_.K, O = plan_.O;
  // The block's product adds to what earlier blocks left (beta = 1 after the first).
  const Scalar beta = first_example == 0 ? 0 : 1;
  // d used W = dout^T cols; GaussianWeights routes it to mu and rho at the end.
  gemm<Scalar>('T', 'N', 1, dout, cols, beta, Matrix<Scalar>(d_used_.data(), O, K));
  if (dcols.data() != nullptr)
    gemm<Scalar>('N', 'N', 1, dout, weights(kernel.used()), 0, dcols);
}

template <class Scalar>
void OneWeightAffine<Scalar>::backward_end(const Weights& kernel) {
  kernel.backprop(d_used_);
}

template class OneWeightAffine<float>;
template class OneWeightAffine<double>;

}  // namespace kbnn

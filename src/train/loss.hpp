// Softmax cross-entropy, the data term of the negative ELBO.
#pragma once

#include "core/math.hpp"
#include "core/types.hpp"

namespace kbnn {

struct LossSums {
  double nll = 0;      // sum over rows of -log softmax(logits)[label] (or the Gaussian NLL)
  double correct = 0;  // rows whose arg-max is the label; for regression (gaussian_nll.hpp)
                       // the sum of squared errors in the targets' units
};

// Returns the sums over this shard's rows and writes
//   dlogits = (softmax(logits) - onehot(label)) * grad_scale,
// where grad_scale = 1 / (global batch size) makes the sum over ranks the gradient
// of the global-batch mean. `correct` is (rows) scratch.
template <class Scalar>
LossSums softmax_cross_entropy(const Matrix<const Scalar>& logits,
                               const View1<const std::int32_t>& labels, Scalar grad_scale,
                               const Matrix<Scalar>& dlogits, const View1<double>& correct) {
  const int rows = static_cast<int>(logits.extent(0));
  const int classes = static_cast<int>(logits.extent(1));
  LossSums sums;
  Kokkos::parallel_reduce(
      "kbnn::softmax_cross_entropy", Range(0, rows),
      KOKKOS_LAMBDA(const int b, double& nll) {
        Scalar top = logits(b, 0);
        int arg = 0;
        for (int k = 1; k < classes; ++k)
          if (logits(b, k) > top) top = logits(b, k), arg = k;
        Scalar total = 0;
        for (int k = 0; k < classes; ++k) total += math::exp(logits(b, k) - top);
        const int y = labels(b);
        const Scalar log_total = math::log(total);
        for (int k = 0; k < classes; ++k) {
          const Scalar p = math::exp(logits(b, k) - top - log_total);
          dlogits(b, k) = (p - (k == y ? Scalar(1) : Scalar(0))) * grad_scale;
        }
        nll += double(log_total + top - logits(b, y));
        correct(b) = arg == y ? 1.0 : 0.0;
      },
      sums.nll);
  Kokkos::parallel_reduce(
      "kbnn::count_correct", Range(0, rows),
      KOKKOS_LAMBDA(const int b, double& n) { n += correct(b); }, sums.correct);
  return sums;
}

}  // namespace kbnn

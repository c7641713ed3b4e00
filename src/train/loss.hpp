// Softmax cross-entropy, the data term of the negative ELBO.
#pragma once

#include "core/math.hpp"
#include "core/thread_shape.hpp"
#include "core/types.hpp"

namespace kbnn {

struct LossSums {
  double nll = 0;      // sum over rows of -log softmax(logits)[label] (or the Gaussian NLL)
  double correct = 0;  // rows whose arg-max is the label; for regression (gaussian_nll.hpp)
                       // the sum of squared errors in the targets' units
};

namespace detail {
// Row b of the logits: its largest value, that value's class (the first on ties), and
// log sum_k exp(logit_k - top).
template <class Scalar>
struct RowSoftmax {
  Scalar top = 0, log_total = 0;
  int arg = 0;
  KOKKOS_INLINE_FUNCTION RowSoftmax(const Matrix<const Scalar>& logits, std::int64_t b,
                                    int classes) {
    top = logits(b, 0);
    for (int k = 1; k < classes; ++k)
      if (logits(b, k) > top) top = logits(b, k), arg = k;
    Scalar total = 0;
    for (int k = 0; k < classes; ++k) total += math::exp(logits(b, k) - top);
    log_total = math::log(total);
  }
  // (softmax_k - onehot_k(y)) * scale, for logit_k of this row.
  KOKKOS_INLINE_FUNCTION Scalar gradient(Scalar logit_k, bool is_label, Scalar scale) const {
    const Scalar p = math::exp(logit_k - top - log_total);
    return (p - (is_label ? Scalar(1) : Scalar(0))) * scale;
  }
  KOKKOS_INLINE_FUNCTION double nll(Scalar logit_y) const {
    return double(log_total + top - logit_y);
  }
};
}  // namespace detail

// Returns the sums over this shard's rows and writes
//   dlogits = (softmax(logits) - onehot(label)) * grad_scale,
// where grad_scale = 1 / (global batch size) makes the sum over ranks the gradient
// of the global-batch mean. `correct` is (rows) scratch. In the elements shape each of a
// row's threads recomputes the row's maximum and normaliser (classes^2 work per row, the
// same arithmetic, so the same numbers) and thread 0 of the row adds its NLL.
template <class Scalar>
LossSums softmax_cross_entropy(const Matrix<const Scalar>& logits,
                               const View1<const std::int32_t>& labels, Scalar grad_scale,
                               const Matrix<Scalar>& dlogits, const View1<double>& correct,
                               ThreadShape shape = native_shape) {
  using Row = detail::RowSoftmax<Scalar>;
  const std::int64_t rows = logits.extent(0);
  const int classes = static_cast<int>(logits.extent(1));
  LossSums sums;
  if (shape == ThreadShape::elements) {
    Kokkos::parallel_reduce(
        "kbnn::softmax_cross_entropy(elements)", Range(0, rows * classes),
        KOKKOS_LAMBDA(const std::int64_t i, double& nll) {
          const std::int64_t b = i / classes;
          const int k = static_cast<int>(i % classes), y = labels(b);
          const Row row(logits, b, classes);
          dlogits(b, k) = row.gradient(logits(b, k), k == y, grad_scale);
          if (k > 0) return;
          nll += row.nll(logits(b, y));
          correct(b) = row.arg == y ? 1.0 : 0.0;
        },
        sums.nll);
  } else {
    Kokkos::parallel_reduce(
        "kbnn::softmax_cross_entropy", Range(0, rows),
        KOKKOS_LAMBDA(const std::int64_t b, double& nll) {
          const int y = labels(b);
          const Row row(logits, b, classes);
          for (int k = 0; k < classes; ++k)
            dlogits(b, k) = row.gradient(logits(b, k), k == y, grad_scale);
          nll += row.nll(logits(b, y));
          correct(b) = row.arg == y ? 1.0 : 0.0;
        },
        sums.nll);
  }
  Kokkos::parallel_reduce(
      "kbnn::count_correct", Range(0, rows),
      KOKKOS_LAMBDA(const std::int64_t b, double& n) { n += correct(b); }, sums.correct);
  return sums;
}

}  // namespace kbnn

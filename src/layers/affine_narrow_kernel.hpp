// The narrow kernel: for few outputs gemm wastes most of its work on thin shapes, so
// one pass over cols computes the mean path, the second path (Flipout's perturbation,
// or local reparameterization's variance) and the combine. The
// weights are transposed to (K, V W) with the O outputs zero-padded to V whole
// vectors of W = simd::width numbers, so each step of the inner loop is V full-width
// fused multiply-adds per path (docs/design.md, "The affine paths").
//
// Notation: rows = examples * P (P positions per example: 1 for dense), row r belongs
// to example e = r / P. S (examples, K) holds the input signs spread over the K columns,
// R (examples, O) the output signs.
#pragma once

#include "core/lanes.hpp"
#include "core/math.hpp"
#include "core/simd_width.hpp"
#include "core/thread_shape.hpp"
#include "core/types.hpp"

#include <type_traits>

namespace kbnn {
namespace affine {

// Vector registers per path for O outputs.
template <class Scalar>
constexpr int narrow_vectors(int O) {
  return simd::vectors_for<Scalar>(O);
}

// Rows one thread carries: their accumulators (paths * V registers per row), one
// register of weights per accumulator of a row, and two scratch registers (the
// broadcast input and its signed copy) must fit the register file. Independent rows
// hide the latency of the fused multiply-adds; more than 8 gains nothing.
constexpr int narrow_rows(int vectors, int paths) {
  const int per_row = paths * vectors;
  const int rows = (simd::registers - per_row - 2) / per_row;
  return rows < 0 ? 0 : rows > 8 ? 8 : rows;
}

// The widest layer the narrow kernel takes: Flipout must still block >= 2 rows.
template <class Scalar>
constexpr int narrow_max_outputs() {
  int v = 1;
  while (narrow_rows(v + 1, 2) >= 2) ++v;
  return narrow_rows(v, 2) >= 2 ? v * simd::width<Scalar>() : 0;
}

// wt (K, >= O) = w^T, w an (O, K) row-major matrix stored flat; columns O.. are zero.
template <class Scalar>
void transpose_padded(const View1<Scalar>& w, int O, int K, const View2<Scalar>& wt) {
  const int padded = static_cast<int>(wt.extent(1));
  Kokkos::parallel_for(
      "kbnn::affine::transpose_padded", Range(0, K), KOKKOS_LAMBDA(const int k) {
        for (int o = 0; o < padded; ++o) wt(k, o) = o < O ? w(o * K + k) : Scalar(0);
      });
}

// wt (examples * K, >= O): rows e K .. e K + K - 1 hold W_e^T, example e's effective
// Flipout weights W_e(o, k) = mu(o, k) + R(e, o) S(e, k) dW(o, k) (an empty spread: S = 1),
// zero-padded like transpose_padded, for the narrow kernel's per-example mode.
template <class Scalar>
void example_weights_transposed(const View1<Scalar>& mu, const View1<Scalar>& delta,
                                const View2<Scalar>& spread, const View2<Scalar>& sign_out,
                                int examples, int O, int K, const View2<Scalar>& wt) {
  const int padded = static_cast<int>(wt.extent(1));
  const bool with_spread = spread.data() != nullptr;
  Kokkos::parallel_for(
      "kbnn::affine::example_weights_transposed", Range(0, std::int64_t(examples) * K),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const int e = static_cast<int>(i / K), k = static_cast<int>(i % K);
        const Scalar s = with_spread ? spread(e, k) : Scalar(1);
        for (int o = 0; o < padded; ++o)
          wt(i, o) = o < O ? mu(o * K + k) + sign_out(e, o) * s * delta(o * K + k) : Scalar(0);
      });
}

// Where the narrow kernel reads row r's K inputs: row(r)[column(k)]. The kernel loads
// one input per (row, k) as a broadcast, so it can read them from anywhere.
// Explicit cols: row r at data + r * stride, column k at offset k.
template <class Scalar>
struct MatrixRows {
  const Scalar* data;
  std::int64_t stride;
  KOKKOS_INLINE_FUNCTION const Scalar* row(int r) const { return data + r * stride; }
  KOKKOS_INLINE_FUNCTION int column(int k) const { return k; }
};

// Local reparameterization's output noise: out = cols mu^T + b + s o E with
// s = sqrt((cols o cols) (sigma^2)^T), one standard normal E per output number; the
// kernel keeps s for the backward pass. Empty for the other variants.
template <class Scalar>
struct OutputNoise {
  Matrix<const Scalar> normals;  // (rows, O): E
  Matrix<Scalar> stddev;         // (rows, O): s, written
};

namespace detail {

// What the kernel computes (its template parameter):
enum NarrowVariant : int {
  mean_only,        // cols W^T + b
  signs_folded,     // Flipout, S folded into R: cols mu^T + (cols dW^T) o R + b
  signs_applied,    // Flipout: cols mu^T + ((cols o S) dW^T) o R + b
  example_weights,  // one path, per-example weights: mean_t holds W_e^T of every example
                    // (example_weights_transposed); a block of rows never spans two examples
  output_noise,     // local reparameterization: cols mu^T + b + sqrt((cols o cols) v^T) o E
};

// Output (row, o) of example e from the paths' sums m (cols W^T) and q (the second
// path's), in either thread shape: the variant's combine.
template <class Scalar>
KOKKOS_FORCEINLINE_FUNCTION Scalar combine_paths(int variant, Scalar m, Scalar q, Scalar bias,
                                                 int row, int o, int e,
                                                 const View2<Scalar>& sign_out,
                                                 const OutputNoise<Scalar>& noise) {
  const Scalar y = m + bias;
  if (variant == output_noise) {
    const Scalar s = math::sqrt(q);
    noise.stddev(row, o) = s;
    return y + s * noise.normals(row, o);
  }
  if (variant == signs_folded || variant == signs_applied) return y + q * sign_out(e, o);
  return y;
}

// Rows: MatrixRows, or any type with row(r) and column(k) (core/im2col.hpp: PatchRows).
template <class Scalar, int V, int Variant, class Rows>
void narrow_forward(const Rows& source, int rows, int K, const View2<Scalar>& mean_t,
                    const View2<Scalar>& delta_t, const View2<Scalar>& sign_columns,
                    const View2<Scalar>& sign_out, const View1<Scalar>& bias, int P,
                    const Matrix<Scalar>& out, const OutputNoise<Scalar>& noise) {
  if (rows == 0) return;
  constexpr int W = simd::width<Scalar>();
  constexpr bool two_paths = Variant == signs_folded || Variant == signs_applied ||
                             Variant == output_noise;
  constexpr int rows_per_thread = narrow_rows(V, two_paths ? 2 : 1);
  static_assert(rows_per_thread >= 1, "narrow kernel: accumulators exceed the register file");
  const int O = static_cast<int>(out.extent(1));
  const int padded = static_cast<int>(mean_t.extent(1));
  // Raw pointers: contiguous, fixed-width inner loops the compiler vectorises.
  const Scalar* mt = mean_t.data();
  const Scalar* dt = delta_t.data();
  const Scalar* s_data = sign_columns.data();
  const std::int64_t s_stride = Variant == signs_applied ? sign_columns.stride(0) : 0;
  // Blocks of rows_per_thread rows: over all rows, or (per-example weights) over each
  // example's P rows on their own.
  const int span = Variant == example_weights ? P : rows;  // rows a block may not cross
  const int blocks_per_span = (span + rows_per_thread - 1) / rows_per_thread;
  const std::int64_t weight_stride = Variant == example_weights ? std::int64_t(K) * padded : 0;
  Kokkos::parallel_for(
      "kbnn::affine::narrow_forward", Range(0, (rows / span) * blocks_per_span),
      KOKKOS_LAMBDA(const int b) {
        const int first_of_span = (b / blocks_per_span) * span;
        const int first = first_of_span + (b % blocks_per_span) * rows_per_thread;
        const int last = first_of_span + span - 1;
        // The last block of a span repeats its last row instead of branching in the inner loop.
        const Scalar* x[rows_per_thread];
        const Scalar* s[rows_per_thread];
        for (int j = 0; j < rows_per_thread; ++j) {
          const int row = first + j < last ? first + j : last;
          x[j] = source.row(row);
          s[j] = s_data + (row / P) * s_stride;
        }
        const Scalar* weights = mt + (first / P) * weight_stride;
        Lanes<Scalar, W> m[rows_per_thread][V], q[rows_per_thread][two_paths ? V : 1];
        for (int k = 0; k < K; ++k) {
          const Scalar* wm = weights + k * padded;
          const Scalar* wd = dt + k * padded;
          const int c = source.column(k);  // one offset per k, shared by the rows
          for (int j = 0; j < rows_per_thread; ++j) {
            const Scalar xk = x[j][c];
            for (int v = 0; v < V; ++v) m[j][v].fma(xk, wm + v * W);
            if (two_paths) {
              const Scalar xs = Variant == signs_applied  ? xk * s[j][k]
                                : Variant == output_noise ? xk * xk
                                                          : xk;
              for (int v = 0; v < V; ++v) q[j][v].fma(xs, wd + v * W);
            }
          }
        }
        for (int j = 0; j < rows_per_thread && first + j <= last; ++j)
          for (int o = 0; o < O; ++o)
            out(first + j, o) = combine_paths<Scalar>(
                Variant, m[j][o / W][o % W], two_paths ? q[j][two_paths ? o / W : 0][o % W] : 0,
                bias(o), first + j, o, (first + j) / P, sign_out, noise);
      });
}

template <class Scalar, int V, class Rows>
void narrow_forward_paths(const Rows& source, int rows, int K, const View2<Scalar>& mean_t,
                          const View2<Scalar>& delta_t, const View2<Scalar>& sign_columns,
                          const View2<Scalar>& sign_out, const View1<Scalar>& bias, int P,
                          const Matrix<Scalar>& out, const OutputNoise<Scalar>& noise) {
  const auto run = [&](auto variant) {
    narrow_forward<Scalar, V, decltype(variant)::value>(source, rows, K, mean_t, delta_t,
                                                        sign_columns, sign_out, bias, P, out,
                                                        noise);
  };
  if (noise.stddev.data() != nullptr)
    run(std::integral_constant<int, output_noise>());
  else if (delta_t.data() == nullptr && int(mean_t.extent(0)) != K)
    run(std::integral_constant<int, example_weights>());
  else if (delta_t.data() == nullptr)
    run(std::integral_constant<int, mean_only>());
  else if (sign_columns.data() == nullptr)
    run(std::integral_constant<int, signs_folded>());
  else
    run(std::integral_constant<int, signs_applied>());
}

// Instantiates the kernel for every vector count up to the target's limit.
template <class Scalar, int V, class Rows>
void narrow_forward_vectors(int vectors, const Rows& source, int rows, int K,
                            const View2<Scalar>& mean_t, const View2<Scalar>& delta_t,
                            const View2<Scalar>& sign_columns, const View2<Scalar>& sign_out,
                            const View1<Scalar>& bias, int P, const Matrix<Scalar>& out,
                            const OutputNoise<Scalar>& noise) {
  if constexpr (V * simd::width<Scalar>() <= narrow_max_outputs<Scalar>()) {
    if (vectors == V)
      narrow_forward_paths<Scalar, V>(source, rows, K, mean_t, delta_t, sign_columns, sign_out,
                                      bias, P, out, noise);
    else
      narrow_forward_vectors<Scalar, V + 1>(vectors, source, rows, K, mean_t, delta_t,
                                            sign_columns, sign_out, bias, P, out, noise);
  }
}

// The elements shape (core/thread_shape.hpp) of the narrow kernel, for GPUs:
// one thread per output number (row, o), so that the threads of a warp read one row's
// input as a broadcast and neighbouring weights and write neighbouring outputs
// (coalesced). Each thread sums k in order, as the rows shape does per lane.
template <class Scalar, class Rows>
void narrow_forward_elements(const Rows& source, int rows, int K, const View2<Scalar>& mean_t,
                             const View2<Scalar>& delta_t, const View2<Scalar>& sign_columns,
                             const View2<Scalar>& sign_out, const View1<Scalar>& bias, int P,
                             const Matrix<Scalar>& out, const OutputNoise<Scalar>& noise) {
  const int O = static_cast<int>(out.extent(1));
  const bool local = noise.stddev.data() != nullptr;
  const bool flipout = delta_t.data() != nullptr && !local;
  const bool apply_s = sign_columns.data() != nullptr;
  // S is applied while summing q here, so Flipout combines as signs_folded does.
  const int variant = local ? output_noise : flipout ? signs_folded : mean_only;
  const bool per_example = int(mean_t.extent(0)) != K;  // W_e^T of every example
  Kokkos::parallel_for(
      "kbnn::affine::narrow_forward(elements)", Range(0, std::int64_t(rows) * O),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const int row = static_cast<int>(i / O), o = static_cast<int>(i % O), e = row / P;
        const Scalar* x = source.row(row);
        const int first_weight = per_example ? e * K : 0;
        Scalar m = 0, q = 0;
        for (int k = 0; k < K; ++k) {
          const Scalar xk = x[source.column(k)];
          m += xk * mean_t(first_weight + k, o);
          if (local) q += xk * xk * delta_t(k, o);
          if (flipout) q += (apply_s ? xk * sign_columns(e, k) : xk) * delta_t(k, o);
        }
        out(row, o) = combine_paths<Scalar>(variant, m, q, bias(o), row, o, e, sign_out, noise);
      });
}

}  // namespace detail

// out (rows, O) = cols mu^T + ((cols o S) dW^T) o R + bias, in one pass over the rows
// of cols, row r read from source.row(r)[source.column(k)], k < K:
//   source:          MatrixRows over explicit cols (the overload below), or PatchRows
//                    (core/im2col.hpp): a convolution's padded images read in place;
//   mean_t, delta_t: (K, >= O) from transpose_padded of mu and dW; an empty delta_t
//                    computes the mean path alone (cols W^T + bias, W in mean_t);
//                    mean_t of (examples * K, >= O) from example_weights_transposed
//                    (with an empty delta_t) gives each example's rows its own W_e:
//                    the same Flipout outputs in one product instead of two;
//   sign_columns:    (examples, K) spread S, or empty when S is folded into R.
// O must be <= narrow_max_outputs<Scalar>() and mean_t padded to whole vectors.
// shape: rows (register-blocked rows per thread, for CPUs) or elements (a thread per
// output number, for GPUs); the build's memory space picks it.
//   noise:           local reparameterization (OutputNoise; delta_t then holds
//                    (sigma^2)^T): out = cols mu^T + b + sqrt((cols o cols) (sigma^2)^T) o E.
template <class Scalar, class Rows>
void narrow_forward(const Rows& source, int rows, int K, const View2<Scalar>& mean_t,
                    const View2<Scalar>& delta_t, const View2<Scalar>& sign_columns,
                    const View2<Scalar>& sign_out, const View1<Scalar>& bias, int P,
                    const Matrix<Scalar>& out, ThreadShape shape = native_shape,
                    const OutputNoise<Scalar>& noise = {}) {
  const int vectors = narrow_vectors<Scalar>(static_cast<int>(out.extent(1)));
  if (static_cast<int>(mean_t.extent(1)) != vectors * simd::width<Scalar>())
    Kokkos::abort("kbnn::affine::narrow_forward: weights not padded to whole vectors");
  const int weight_rows = static_cast<int>(mean_t.extent(0));
  if (weight_rows != K && (delta_t.data() != nullptr || weight_rows != rows / P * K || rows % P != 0))
    Kokkos::abort("kbnn::affine::narrow_forward: weights and inputs disagree on K");
  if (noise.stddev.data() != nullptr && (delta_t.data() == nullptr || weight_rows != K))
    Kokkos::abort("kbnn::affine::narrow_forward: output noise needs the variances");
  if (shape == ThreadShape::elements)
    detail::narrow_forward_elements<Scalar>(source, rows, K, mean_t, delta_t, sign_columns,
                                            sign_out, bias, P, out, noise);
  else
    detail::narrow_forward_vectors<Scalar, 1>(vectors, source, rows, K, mean_t, delta_t,
                                              sign_columns, sign_out, bias, P, out, noise);
}

template <class Scalar>
void narrow_forward(const Matrix<const Scalar>& cols, const View2<Scalar>& mean_t,
                    const View2<Scalar>& delta_t, const View2<Scalar>& sign_columns,
                    const View2<Scalar>& sign_out, const View1<Scalar>& bias, int P,
                    const Matrix<Scalar>& out, ThreadShape shape = native_shape,
                    const OutputNoise<Scalar>& noise = {}) {
  narrow_forward<Scalar>(MatrixRows<Scalar>{cols.data(), std::int64_t(cols.stride(0))},
                         static_cast<int>(cols.extent(0)), static_cast<int>(cols.extent(1)),
                         mean_t, delta_t, sign_columns, sign_out, bias, P, out, shape, noise);
}

}  // namespace affine
}  // namespace kbnn

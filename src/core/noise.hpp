// Bulk draws from the counter-based streams of philox.hpp. Element i of a stream is
// the same number whether it is drawn alone (NoiseKey::normal / sign) or here; these
// kernels only avoid recomputing a Philox block for each of the numbers it yields:
// one block gives 4 normals or 128 signs.
#pragma once

#include "core/philox.hpp"
#include "core/types.hpp"

#include <algorithm>

namespace kbnn {

// out[j] = normal element (first + j) of `stream`, j in [0, count).
template <class Scalar>
void fill_normals(const NoiseKey& key, Stream stream, std::uint64_t first, Scalar* out,
                  std::int64_t count) {
  if (count <= 0) return;
  // Whole blocks, [lo, hi), in a loop without bounds tests (it vectorizes on CPUs);
  // the at most 3 + 3 elements of partial blocks at either end one by one.
  const std::uint64_t end = first + std::uint64_t(count);
  const std::uint64_t lo = std::min((first + 3) / 4 * 4, end);
  const std::uint64_t hi = std::max(end / 4 * 4, lo);
  Kokkos::parallel_for(
      "kbnn::fill_normals", Range(0, std::int64_t((hi - lo) / 4)),
      KOKKOS_LAMBDA(const std::int64_t j) {
        const std::uint64_t block = lo / 4 + std::uint64_t(j);
        const Philox4x32 r = key.draw(stream, block);
        Scalar* o = out + (4 * block - first);
        double z[4];
        NoiseKey::box_muller(r.v[0], r.v[1], z[0], z[1]);
        NoiseKey::box_muller(r.v[2], r.v[3], z[2], z[3]);
        for (int k = 0; k < 4; ++k) o[k] = Scalar(z[k]);
      });
  const std::int64_t head = std::int64_t(lo - first), tail = std::int64_t(end - hi);
  if (head + tail == 0) return;
  Kokkos::parallel_for(
      "kbnn::fill_normals_edges", Range(0, head + tail), KOKKOS_LAMBDA(const std::int64_t e) {
        const std::uint64_t i = e < head ? first + std::uint64_t(e) : hi + std::uint64_t(e - head);
        out[i - first] = key.normal<Scalar>(stream, i);
      });
}

// out[j] = Rademacher element (first + j) of `stream`, j in [0, count).
template <class Scalar>
void fill_signs(const NoiseKey& key, Stream stream, std::uint64_t first, Scalar* out,
                std::int64_t count) {
  if (count <= 0) return;
  const std::uint64_t block0 = first / 128, block_end = (first + count + 127) / 128;
  Kokkos::parallel_for(
      "kbnn::fill_signs", Range(0, std::int64_t(block_end - block0)),
      KOKKOS_LAMBDA(const std::int64_t j) {
        const std::uint64_t block = block0 + j;
        const Philox4x32 r = key.draw(stream, block);
        const std::uint64_t lo = block * 128 < first ? first : block * 128;
        const std::uint64_t hi = block * 128 + 128 > first + count ? first + count : block * 128 + 128;
        for (std::uint64_t i = lo; i < hi; ++i) {
          const std::uint32_t bit = (r.v[(i % 128) / 32] >> (i % 32)) & 1u;
          out[i - first] = bit ? Scalar(1) : Scalar(-1);
        }
      });
}

}  // namespace kbnn

// Bulk draws from the counter-based streams of philox.hpp. Element i of a stream is
// the same number whether it is drawn alone (NoiseKey::normal / sign) or here; these
// kernels only avoid recomputing a Philox block for each of the numbers it yields:
// one block gives 4 normals or 128 signs.
#pragma once

#include "core/philox.hpp"
#include "core/types.hpp"

namespace kbnn {

// out[j] = normal element (first + j) of `stream`, j in [0, count).
template <class Scalar>
void fill_normals(const NoiseKey& key, Stream stream, std::uint64_t first, Scalar* out,
                  std::int64_t count) {
  if (count <= 0) return;
  const std::uint64_t block0 = first / 4, block_end = (first + count + 3) / 4;
  Kokkos::parallel_for(
      "kbnn::fill_normals", Range(0, std::int64_t(block_end - block0)),
      KOKKOS_LAMBDA(const std::int64_t j) {
        const std::uint64_t block = block0 + j;
        const Philox4x32 r = key.draw(stream, block);
        for (int pair = 0; pair < 2; ++pair) {
          double z0, z1;
          NoiseKey::box_muller(r.v[2 * pair], r.v[2 * pair + 1], z0, z1);
          const std::uint64_t i0 = 4 * block + 2 * pair;
          if (i0 >= first && i0 < first + count) out[i0 - first] = Scalar(z0);
          if (i0 + 1 >= first && i0 + 1 < first + count) out[i0 + 1 - first] = Scalar(z1);
        }
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

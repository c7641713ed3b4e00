// The epoch's order of the training set: a Fisher-Yates shuffle driven by Philox
// keyed by (seed, epoch), so every rank computes the same permutation without
// communicating, and a restarted run reproduces it.
#pragma once

#include "core/philox.hpp"

#include <cstdint>
#include <numeric>
#include <vector>

namespace kbnn {

inline std::vector<std::int64_t> epoch_order(std::int64_t count, std::uint64_t seed,
                                             std::uint32_t epoch, bool shuffle) {
  std::vector<std::int64_t> order(count);
  std::iota(order.begin(), order.end(), std::int64_t(0));
  if (!shuffle) return order;
  const NoiseKey key{seed, epoch, 0};
  for (std::int64_t i = count - 1; i > 0; --i) {
    const Philox4x32 r = key.draw(Stream::shuffle, std::uint64_t(i));
    // 64 random bits modulo (i + 1): the bias is below 2^-40 for any data set size.
    const std::uint64_t bits = (std::uint64_t(r.v[0]) << 32) | r.v[1];
    std::swap(order[i], order[bits % std::uint64_t(i + 1)]);
  }
  return order;
}

}  // namespace kbnn

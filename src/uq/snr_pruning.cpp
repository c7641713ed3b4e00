#include "uq/snr_pruning.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kbnn {

namespace {

double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

// Removes the `count` lowest-SNR weights among `candidates` (indices into the mask)
// that are still kept; weights already removed count towards `count`.
void remove_lowest(const std::vector<std::size_t>& candidates, std::size_t count,
                   const std::vector<double>& snr, std::vector<std::uint8_t>& keep) {
  std::vector<std::size_t> order = candidates;
  // Removed weights first (they stay removed), then by SNR, ties by index.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (keep[a] != keep[b]) return keep[a] < keep[b];
    return snr[a] < snr[b];
  });
  for (std::size_t i = 0; i < std::min(count, order.size()); ++i) keep[order[i]] = 0;
}

}  // namespace

bool prunable(const ParameterStore<Real>::Block& block) {
  const std::string suffix = "/kernel";
  return block.kind == ParameterStore<Real>::Kind::gaussian && block.name.size() > suffix.size() &&
         block.name.compare(block.name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::uint8_t> snr_keep_mask(const ParameterBlocks& blocks, std::size_t gaussian_count,
                                        const std::vector<float>& parameters, double fraction,
                                        PruneScope scope,
                                        const std::vector<std::uint8_t>& previous) {
  if (!(fraction >= 0 && fraction < 1))
    throw InputError(concat("a pruning fraction must be in [0, 1), not ", fraction));
  if (parameters.size() < 2 * gaussian_count)
    throw InputError(concat("the parameters (", parameters.size(), ") cannot hold ",
                            gaussian_count, " Gaussian weights"));
  if (!previous.empty() && previous.size() != gaussian_count)
    throw InputError(concat("a keep mask of ", previous.size(), " weights for a model of ",
                            gaussian_count));
  std::vector<std::uint8_t> keep =
      previous.empty() ? std::vector<std::uint8_t>(gaussian_count, 1) : previous;
  std::vector<double> snr(gaussian_count);
  for (std::size_t i = 0; i < gaussian_count; ++i)
    snr[i] = std::fabs(double(parameters[i])) / softplus(double(parameters[gaussian_count + i]));

  std::vector<std::size_t> all;
  for (const auto& b : blocks) {
    if (!prunable(b)) continue;
    std::vector<std::size_t> own(b.count);
    std::iota(own.begin(), own.end(), b.offset);
    if (scope == PruneScope::layer)
      remove_lowest(own, std::size_t(std::floor(fraction * double(b.count))), snr, keep);
    else
      all.insert(all.end(), own.begin(), own.end());
  }
  if (scope == PruneScope::global)
    remove_lowest(all, std::size_t(std::floor(fraction * double(all.size()))), snr, keep);
  return keep;
}

Checkpoint pruned(const Checkpoint& trained, const std::vector<std::uint8_t>& keep) {
  const std::size_t n = keep.size();
  if (trained.parameters.size() < 2 * n)
    throw InputError(concat("a keep mask of ", n, " weights for a checkpoint of ",
                            trained.parameters.size(), " parameters"));
  Checkpoint c = trained;
  c.keep = keep;
  for (std::size_t i = 0; i < n; ++i) {
    if (keep[i]) continue;
    c.parameters[i] = 0;
    for (auto& buffer : c.state) buffer[i] = buffer[n + i] = 0;
  }
  return c;
}

std::size_t kept_in_block(const ParameterStore<Real>::Block& block,
                          const std::vector<std::uint8_t>& keep) {
  if (block.kind != ParameterStore<Real>::Kind::gaussian) return block.count;
  if (keep.empty()) return block.count;
  return std::size_t(std::count(keep.begin() + block.offset,
                                keep.begin() + block.offset + block.count, std::uint8_t(1)));
}

}  // namespace kbnn

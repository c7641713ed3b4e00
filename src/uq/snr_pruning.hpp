// Signal-to-noise pruning of Bayesian weights (Sharma & Jennings 2020, "BPrune"): the
// weights with the lowest |mu| / sigma carry the least signal for their noise, so they
// go first. A removed weight is exactly zero in every Monte-Carlo sample: mu = 0 and a
// keep mask of 0 that the draws, the KL term and its gradient honour (see
// core/parameter_store.hpp). Setting mu = rho = 0 instead, as BPrune's code does, leaves
// sigma = softplus(0) = 0.69: the "pruned" weight would still inject noise.
//
// Everything here works on host copies of the flat parameter buffer and its blocks, so
// it serves `kbnn prune` and tests without a model.
#pragma once

#include "core/parameter_store.hpp"
#include "core/types.hpp"
#include "train/checkpoint.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kbnn {

// Which weights compete: each layer's own kernel weights (the fraction f of every
// layer), or all kernels' weights together (the fraction f of the model).
enum class PruneScope { layer, global };

using ParameterBlocks = std::vector<ParameterStore<Real>::Block>;

// True for the blocks pruning may remove weights from: Gaussian kernels (Bayesian
// biases, with model.bayesian_bias, are few and always kept).
bool prunable(const ParameterStore<Real>::Block& block);

// The keep mask (Gaussian weights, in store order: 1 kept, 0 removed) that removes the
// fraction `fraction` in [0, 1) of the prunable weights with the lowest |mu| / sigma,
// per layer or globally; `parameters` is the flat buffer (all mu, all rho, points).
// floor(fraction * count) weights go; ties go in index order, so the mask is the same
// on every rank and every run. Weights already removed (`previous` 0) stay removed and
// count towards the fraction.
std::vector<std::uint8_t> snr_keep_mask(const ParameterBlocks& blocks, std::size_t gaussian_count,
                                        const std::vector<float>& parameters, double fraction,
                                        PruneScope scope,
                                        const std::vector<std::uint8_t>& previous = {});

// The checkpoint with `keep` applied: mu = 0 and every optimizer moment of mu and rho
// = 0 where keep is 0, so training from it (kbnn train --restart) never moves a removed
// weight (its gradient is zero too).
Checkpoint pruned(const Checkpoint& trained, const std::vector<std::uint8_t>& keep);

// How many weights of a block a mask keeps.
std::size_t kept_in_block(const ParameterStore<Real>::Block& block,
                          const std::vector<std::uint8_t>& keep);

}  // namespace kbnn

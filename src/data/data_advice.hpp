// Warnings about training data that kbnn would train on badly without saying so: classes
// numbered from 1 (class 0, never seen, still gets an output), and, without
// data.standardize, real targets or float features far from unit scale (the network
// starts with outputs near 0 and a noise variance near 1, so a target of mean 150 and
// spread 77 ends far worse than a linear fit; a feature in the thousands beside ones
// near 1 drowns them; uint8 features of a vector, which are scaled as pixels); and,
// standardized or not, float columns whose spread is too small
// for their size for float32 to keep (timestamps in seconds). Each is one line for the
// log, the same on every rank. The columns are judged by the training rows' moments,
// which the run computes once (fit_standardization) whether or not it standardizes.
#pragma once

#include "data/dataset.hpp"
#include "data/standardize.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kbnn {

struct AdviceInput {
  const Dataset* rows = nullptr;  // this rank's rows of the training split
  std::int64_t first = 0, count = 0;  // the rows [first, first + count) this rank counts
  std::int64_t total = 0;         // rows over all ranks (each counted on one rank)
  bool standardized = false;      // data.standardize
  // The moments of the training rows (fit_standardization, over all ranks): features'
  // for float features, targets' for real targets; empty ones are not judged.
  const Standardization* moments = nullptr;
};

// The warning lines ("data: warning: ..."), none for data that is fine. Collective (the
// smallest label).
std::vector<std::string> data_advice(const AdviceInput& in, const Communicator& comm);

}  // namespace kbnn

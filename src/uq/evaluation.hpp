// The Monte-Carlo predictive of a set each rank holds its shard of, scored over all
// ranks: what kbnn train (test split, validation during training) and kbnn prune run.
#pragma once

#include "io/device_dataset.hpp"
#include "model/sequential.hpp"
#include "parallel/communicator.hpp"
#include "uq/predictive.hpp"

namespace kbnn {

struct Evaluation {
  Predictions predictions;  // this rank's rows
  Metrics metrics;          // over all ranks' rows
};

// `first`: the global index of this rank's first row; noise as for predict().
Evaluation evaluate(Sequential<Real>& model, const DeviceDataset& rows, std::int64_t first,
                    int samples, std::int64_t batch, std::uint64_t seed, const Communicator& comm);

}  // namespace kbnn

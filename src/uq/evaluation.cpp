#include "uq/evaluation.hpp"

namespace kbnn {

Evaluation evaluate(Sequential<Real>& model, const DeviceDataset& rows, std::int64_t first,
                    int samples, std::int64_t batch, std::uint64_t seed, const Communicator& comm) {
  Evaluation e;
  e.predictions = predict(model, rows, first, samples, batch, seed);
  std::vector<double> sums = metric_sums(e.predictions);
  comm.allreduce_sum(sums.data(), sums.size());
  e.metrics = metrics_from_sums(sums);
  return e;
}

}  // namespace kbnn

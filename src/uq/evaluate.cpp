#include "uq/evaluate.hpp"

#include "core/error.hpp"
#include "uq/monte_carlo.hpp"

namespace kbnn {

namespace {

// A View1 over all of a View's elements (row-major), for MPI.
template <class View>
View1<double> flat(const View& v) {
  return View1<double>(v.data(), v.size());
}

McPasses passes_of(const EvalOptions& options, int first, int count) {
  McPasses passes;
  passes.seed = options.seed;
  passes.first = first;
  passes.count = count;
  passes.batch = options.batch;
  passes.temperature = options.temperature;
  passes.progress = options.progress;
  return passes;
}

// Split examples, every sample kept: all S passes over this rank's rows, stored.
PassResults stored_own_rows(Sequential<Real>& model, const DeviceDataset& data,
                            std::int64_t data_first, const EvalOptions& options, int classes) {
  PassResults all(data.count(), options.samples, classes, options.tempered());
  store_passes(model, data, RowRange{data_first, 0, data.count()},
               passes_of(options, 0, options.samples), all);
  return all;
}

// Rank q's block of `received`, (rows, count, width) values from element `at` on, into
// samples [first, first + count) of `to`, (rows, samples, width).
void place_block(const View1<double>& received, std::int64_t at, const View1<double>& to,
                 std::int64_t rows, int samples, int first, int count, int width) {
  const std::int64_t per_row = std::int64_t(count) * width;
  Kokkos::parallel_for(
      "kbnn::evaluate::place_block", Range(0, rows * per_row), KOKKOS_LAMBDA(const std::int64_t e) {
        const std::int64_t i = e / per_row;  // e % per_row = j * width + value
        to((i * samples + first) * width + e % per_row) = received(at + e);
      });
}

// One all-to-all of `width` values per (row, sample): `from` holds pairs_out[q] pairs
// for rank q, in rank order; rank q's pairs_in[q] pairs, (rows, shard(S, q), width),
// land at their samples in `to`, (rows, S, width).
void exchange_values(const View1<double>& from, const std::vector<std::int64_t>& pairs_out,
                     const View1<double>& to, const std::vector<std::int64_t>& pairs_in,
                     std::int64_t rows, int samples, int width, const Communicator& comm) {
  const auto values = [width](std::vector<std::int64_t> pairs) {
    for (auto& p : pairs) p *= width;
    return pairs;
  };
  View1<double> received(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::received"), to.size());
  comm.alltoallv(ExecSpace(), from, values(pairs_out), received, values(pairs_in));
  std::int64_t at = 0;
  for (int q = 0; q < comm.size(); ++q) {
    const auto [s0, s1] = shard(samples, q, comm.size());
    place_block(received, at, to, rows, samples, int(s0), int(s1 - s0), width);
    at += pairs_in[q] * width;
  }
}

// Split samples: this rank runs its share of the S samples over every rank's rows,
// each rank's rows in the batches split examples would use (from the rank's first
// row), so every row sees the same batch as there: store(range, mine) for rank q's rows.
// Returns the pairs (row, sample) this rank sends to each rank, then receives from it.
struct SampleExchange {
  McPasses mine;
  std::vector<std::int64_t> pairs_out, pairs_in;
};

template <class Store>
SampleExchange store_shared_samples(std::int64_t total, const EvalOptions& options,
                                    const Communicator& comm, Store&& store) {
  const int ranks = comm.size(), samples = options.samples;
  const auto [s0, s1] = shard(samples, comm.rank(), ranks);
  SampleExchange e{passes_of(options, int(s0), int(s1 - s0)), std::vector<std::int64_t>(ranks),
                   std::vector<std::int64_t>(ranks)};
  const auto [lo, hi] = comm.shard(total);
  for (int q = 0; q < ranks; ++q) {
    const auto [q_lo, q_hi] = shard(total, q, ranks);
    McPasses over_q = e.mine;  // rank q's rows are the q-th of `ranks` parts of the work
    if (options.progress)
      over_q.progress = [&](double f) { options.progress((q + f) / ranks); };
    store(RowRange{0, q_lo, q_hi - q_lo}, over_q);
    const auto [q_s0, q_s1] = shard(samples, q, ranks);
    e.pairs_out[q] = (q_hi - q_lo) * e.mine.count;
    e.pairs_in[q] = (hi - lo) * (q_s1 - q_s0);
  }
  return e;
}

// Then all-to-alls (log-probabilities, the posterior's if tempered, then entropies) give
// every rank all S samples of its own rows, in sample order.
PassResults exchanged_samples(Sequential<Real>& model, const DeviceDataset& data,
                              const EvalOptions& options, int classes, const Communicator& comm) {
  const int samples = options.samples;
  const std::int64_t total = data.count();
  const bool tempered = options.tempered();
  const auto [s0, s1] = shard(samples, comm.rank(), comm.size());
  PassResults computed(total, int(s1 - s0), classes, tempered);
  const SampleExchange e = store_shared_samples(
      total, options, comm, [&](const RowRange& rows, const McPasses& mine) {
        store_passes(model, data, rows, mine, computed);
      });
  const auto [lo, hi] = comm.shard(total);
  PassResults all(hi - lo, samples, classes, tempered);
  exchange_values(flat(computed.log_probs), e.pairs_out, flat(all.log_probs), e.pairs_in, hi - lo,
                  samples, classes, comm);
  if (tempered)
    exchange_values(flat(computed.log_posterior), e.pairs_out, flat(all.log_posterior), e.pairs_in,
                    hi - lo, samples, classes, comm);
  exchange_values(flat(computed.entropy), e.pairs_out, flat(all.entropy), e.pairs_in, hi - lo,
                  samples, 1, comm);
  return all;
}

// The regression outputs (means and log-variances) of split samples, likewise.
PassOutputs exchanged_outputs(Sequential<Real>& model, const DeviceDataset& data,
                              const EvalOptions& options, int width, const Communicator& comm) {
  const int samples = options.samples;
  const std::int64_t total = data.count();
  const auto [s0, s1] = shard(samples, comm.rank(), comm.size());
  const PassOutputs computed(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::outputs"),
                             total, s1 - s0, width);
  const SampleExchange e = store_shared_samples(
      total, options, comm, [&](const RowRange& rows, const McPasses& mine) {
        store_passes(model, data, rows, mine, computed);
      });
  const auto [lo, hi] = comm.shard(total);
  const PassOutputs all(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::all_outputs"),
                        hi - lo, samples, width);
  exchange_values(flat(computed), e.pairs_out, flat(all), e.pairs_in, hi - lo, samples, width, comm);
  return all;
}

void check_rows(const DeviceDataset& data, std::int64_t data_first, std::int64_t total,
                PredictSplit split, const Communicator& comm) {
  const auto [want_lo, want_hi] = rows_to_load(total, split, comm);
  if (data_first != want_lo || data.count() != want_hi - want_lo)
    throw RuntimeError(concat("evaluate: split ", word_of(split), " needs rows [", want_lo, ", ",
                              want_hi, ") on rank ", comm.rank(), ", got [", data_first, ", ",
                              data_first + data.count(), ")"));
}

}  // namespace

Metrics reduced_metrics(const Predictions& rows, const Communicator& comm) {
  std::vector<double> sums = metric_sums(rows);
  comm.allreduce_sum(sums.data(), sums.size());
  return metrics_from_sums(sums);
}

std::pair<std::int64_t, std::int64_t> rows_to_load(std::int64_t total, PredictSplit split,
                                                   const Communicator& comm) {
  return split == PredictSplit::examples ? comm.shard(total)
                                         : std::pair<std::int64_t, std::int64_t>{0, total};
}

PredictiveSums predictive_sums(Sequential<Real>& model, const DeviceDataset& data,
                               std::int64_t data_first, std::int64_t total,
                               const EvalOptions& options, const Communicator& comm,
                               std::vector<double>* sample_log_probs) {
  check_rows(data, data_first, total, options.split, comm);
  const int classes = static_cast<int>(model.output_shape().size());
  const auto [lo, hi] = comm.shard(total);
  const bool by_examples = options.split == PredictSplit::examples;

  PredictiveSums sums(hi - lo, classes, options.tempered());
  if (by_examples && !options.keep_samples) {
    // The common case: every pass adds straight into the sums, nothing kept.
    add_passes(model, data, RowRange{data_first, 0, data.count()},
               passes_of(options, 0, options.samples), sums);
  } else {
    const PassResults all = by_examples ? stored_own_rows(model, data, data_first, options, classes)
                                        : exchanged_samples(model, data, options, classes, comm);
    add_stored(all, sums);
    if (options.keep_samples && sample_log_probs != nullptr)
      *sample_log_probs = sample_log_probabilities(all);
  }
  return sums;
}

Evaluation evaluate(Sequential<Real>& model, const DeviceDataset& data, std::int64_t data_first,
                    std::int64_t total, const EvalOptions& options, const Communicator& comm) {
  Kokkos::Timer clock;
  Evaluation e;
  const PredictiveSums sums =
      predictive_sums(model, data, data_first, total, options, comm, &e.sample_log_probs);
  ExecSpace().fence();
  const double seconds = clock.seconds();

  e.first = comm.shard(total).first;
  e.total = total;
  e.rows = finish(sums, data, e.first - data_first);
  e.rows.seconds = seconds;
  e.metrics = reduced_metrics(e.rows, comm);
  return e;
}

RegressionSums regression_sums(Sequential<Real>& model, const DeviceDataset& data,
                               std::int64_t data_first, std::int64_t total,
                               const EvalOptions& options, const Standardization& s,
                               const Communicator& comm, std::vector<float>* sample_gaussians) {
  check_rows(data, data_first, total, options.split, comm);
  const int width = static_cast<int>(model.output_shape().size());
  const auto [lo, hi] = comm.shard(total);
  const bool by_examples = options.split == PredictSplit::examples;

  RegressionSums sums(hi - lo, data.target_dim());
  if (by_examples && !options.keep_samples) {
    add_passes(model, data, RowRange{data_first, 0, data.count()},
               passes_of(options, 0, options.samples), sums);
    return sums;
  }
  PassOutputs all;
  if (by_examples) {
    all = PassOutputs(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::outputs"),
                      data.count(), options.samples, width);
    store_passes(model, data, RowRange{data_first, 0, data.count()},
                 passes_of(options, 0, options.samples), all);
  } else {
    all = exchanged_outputs(model, data, options, width, comm);
  }
  add_stored(all, data, lo - data_first, sums);
  if (options.keep_samples && sample_gaussians != nullptr)
    *sample_gaussians = kbnn::sample_gaussians(all, s);
  return sums;
}

RegressionMetrics reduced_regression_metrics(const RegressionPredictions& rows,
                                             const Communicator& comm) {
  std::vector<double> sums = regression_metric_sums(rows);
  comm.allreduce_sum(sums.data(), sums.size());
  return regression_metrics_from_sums(sums);
}

RegressionEvaluation evaluate_regression(Sequential<Real>& model, const DeviceDataset& data,
                                         std::int64_t data_first, std::int64_t total,
                                         const EvalOptions& options, const Standardization& s,
                                         const Communicator& comm) {
  Kokkos::Timer clock;
  RegressionEvaluation e;
  const RegressionSums sums =
      regression_sums(model, data, data_first, total, options, s, comm, &e.sample_gaussians);
  ExecSpace().fence();
  const double seconds = clock.seconds();

  e.first = comm.shard(total).first;
  e.total = total;
  e.rows = finish(sums, data, e.first - data_first, s);
  e.rows.seconds = seconds;
  e.metrics = reduced_regression_metrics(e.rows, comm);
  return e;
}

std::vector<float> gather_rows(const std::vector<float>& local, std::int64_t total,
                               const Communicator& comm) {
  std::vector<std::int64_t> counts(comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    const auto [lo, hi] = shard(total, r, comm.size());
    counts[r] = hi - lo;
  }
  if (std::int64_t(local.size()) != counts[comm.rank()])
    throw RuntimeError(concat("gather_rows: rank ", comm.rank(), " holds ", local.size(),
                              " rows, its shard of ", total, " is ", counts[comm.rank()]));
  std::vector<float> all(static_cast<std::size_t>(total));
  comm.allgatherv(local.data(), counts, all.data());
  return all;
}

OodScores gather_ood_scores(const Predictions& local, std::int64_t total, const Communicator& comm) {
  const auto [lo, hi] = comm.shard(total);
  if (local.count != hi - lo)
    throw RuntimeError(concat("gather_ood_scores: rank ", comm.rank(), " holds ", local.count,
                              " rows, its shard of ", total, " is ", hi - lo));
  const OodScores mine = ood_scores_of(local);
  OodScores all;
  for (const OodScore score : ood_scores) all[score] = gather_rows(mine[score], total, comm);
  return all;
}

RegressionOodScores gather_regression_ood_scores(const RegressionOodScores& local,
                                                 std::int64_t total, const Communicator& comm) {
  RegressionOodScores all;
  for (std::size_t k = 0; k < local.size(); ++k) all[k] = gather_rows(local[k], total, comm);
  return all;
}

}  // namespace kbnn

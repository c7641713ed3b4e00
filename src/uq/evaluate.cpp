#include "uq/evaluate.hpp"

#include "core/error.hpp"

#include <climits>

namespace kbnn {

namespace {

using SampleView = Kokkos::View<double***, Kokkos::LayoutRight, MemSpace>;

// Per-sample results of some rows on the host: probs (samples, rows, classes),
// entropies (samples, rows).
struct SampleBlock {
  std::vector<double> probs, entropies;
};

// Samples [first_sample, first_sample + samples) of rows [first_row, first_row + rows)
// of `data` (whose row 0 is global row data_first).
SampleBlock run_samples(Sequential<Real>& model, const DeviceDataset& data, std::int64_t data_first,
                        std::int64_t first_row, std::int64_t rows, int first_sample, int samples,
                        const EvalOptions& options) {
  const int classes = static_cast<int>(model.output_shape().size());
  SampleView probs(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::probs"),
                   samples, rows, classes);
  View2<double> entropies(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::evaluate::entropies"), samples, rows);
  if (samples > 0 && rows > 0)
    predict_samples(model, data, data_first, first_row, first_sample, options.batch, options.seed,
                    probs, entropies);
  const auto p = Kokkos::create_mirror_view_and_copy(HostSpace(), probs);
  const auto e = Kokkos::create_mirror_view_and_copy(HostSpace(), entropies);
  return {std::vector<double>(p.data(), p.data() + p.size()),
          std::vector<double>(e.data(), e.data() + e.size())};
}

int mpi_count(std::int64_t n, const char* what) {
  if (n > INT_MAX)
    throw RuntimeError(concat("evaluate: ", what, " of ", n,
                              " values exceed one MPI message; use split examples"));
  return int(n);
}

// Split samples: rank r ran samples shard(S, r) for every rank q's rows, blocks[q];
// after the exchange this rank holds all S samples of its own rows, in sample order.
SampleBlock exchange(const std::vector<SampleBlock>& blocks, int samples, std::int64_t total,
                     int classes, const Communicator& comm) {
  const int ranks = comm.size();
  const auto [lo, hi] = comm.shard(total);
  const std::int64_t mine = hi - lo;
  SampleBlock out;
  for (const int values : {classes, 1}) {
    const bool is_probs = values == classes;
    std::vector<int> send_counts(ranks), send_offsets(ranks), recv_counts(ranks),
        recv_offsets(ranks);
    std::vector<double> send;
    for (int q = 0; q < ranks; ++q) {
      const auto& block = is_probs ? blocks[q].probs : blocks[q].entropies;
      send_offsets[q] = mpi_count(std::int64_t(send.size()), "the samples sent");
      send_counts[q] = mpi_count(std::int64_t(block.size()), "the samples sent");
      send.insert(send.end(), block.begin(), block.end());
      const auto [s0, s1] = shard(samples, q, ranks);
      recv_offsets[q] = q == 0 ? 0 : recv_offsets[q - 1] + recv_counts[q - 1];
      recv_counts[q] = mpi_count((s1 - s0) * mine * values, "the samples received");
    }
    std::vector<double> received(std::size_t(samples) * mine * values);
    KBNN_MPI_CHECK(MPI_Alltoallv(send.data(), send_counts.data(), send_offsets.data(), MPI_DOUBLE,
                                 received.data(), recv_counts.data(), recv_offsets.data(),
                                 MPI_DOUBLE, comm.get()));
    (is_probs ? out.probs : out.entropies) = std::move(received);
  }
  return out;
}

}  // namespace

std::pair<std::int64_t, std::int64_t> rows_to_load(std::int64_t total, PredictSplit split,
                                                   const Communicator& comm) {
  return split == PredictSplit::examples ? comm.shard(total)
                                         : std::pair<std::int64_t, std::int64_t>{0, total};
}

Evaluation evaluate(Sequential<Real>& model, const DeviceDataset& data, std::int64_t data_first,
                    std::int64_t total, const EvalOptions& options, const Communicator& comm) {
  const auto [want_lo, want_hi] = rows_to_load(total, options.split, comm);
  if (data_first != want_lo || data.count() != want_hi - want_lo)
    throw RuntimeError(concat("evaluate: split ", word_of(options.split), " needs rows [", want_lo,
                              ", ", want_hi, ") on rank ", comm.rank(), ", got [", data_first,
                              ", ", data_first + data.count(), ")"));
  const int classes = static_cast<int>(model.output_shape().size());
  const int S = options.samples;
  const auto [lo, hi] = comm.shard(total);
  const std::int64_t n = hi - lo;

  Kokkos::Timer clock;
  SampleBlock mine;  // (S, n, classes) and (S, n): all samples of this rank's rows
  if (options.split == PredictSplit::examples) {
    mine = run_samples(model, data, data_first, 0, n, 0, S, options);
  } else {
    // Each rank's rows in the batches split examples would use (starting at the
    // rank's first row), so every row sees the same batch as there.
    const auto [s0, s1] = shard(S, comm.rank(), comm.size());
    std::vector<SampleBlock> blocks;
    for (int q = 0; q < comm.size(); ++q) {
      const auto [q_lo, q_hi] = shard(total, q, comm.size());
      blocks.push_back(run_samples(model, data, 0, q_lo, q_hi - q_lo, int(s0), int(s1 - s0),
                                   options));
    }
    mine = exchange(blocks, S, total, classes, comm);
  }
  const double seconds = clock.seconds();

  // Sum the samples in order s = 0, 1, ...: the same bits in both splits (and as predict()).
  std::vector<double> prob_sum(std::size_t(n) * classes, 0.0), entropy_sum(std::size_t(n), 0.0);
  for (int s = 0; s < S; ++s) {
    for (std::int64_t i = 0; i < n * classes; ++i) prob_sum[i] += mine.probs[s * n * classes + i];
    for (std::int64_t i = 0; i < n; ++i) entropy_sum[i] += mine.entropies[s * n + i];
  }
  const auto labels = Kokkos::create_mirror_view_and_copy(
      HostSpace(), Kokkos::subview(data.labels, Kokkos::make_pair(lo - data_first, hi - data_first)));

  Evaluation e;
  e.first = lo;
  e.total = total;
  e.rows = predictions_from_sums(prob_sum.data(), entropy_sum.data(), labels.data(), n, classes, S);
  e.rows.seconds = seconds;
  if (options.keep_samples) e.sample_probs.assign(mine.probs.begin(), mine.probs.end());
  std::vector<double> sums = metric_sums(e.rows);
  comm.allreduce_sum(sums.data(), sums.size());
  e.metrics = metrics_from_sums(sums);
  return e;
}

OodScores gather_ood_scores(const Predictions& local, std::int64_t total, const Communicator& comm) {
  std::vector<int> counts(comm.size()), offsets(comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    const auto [lo, hi] = shard(total, r, comm.size());
    offsets[r] = mpi_count(lo, "the OOD scores");
    counts[r] = mpi_count(hi - lo, "the OOD scores");
  }
  if (local.count != counts[comm.rank()])
    throw RuntimeError(concat("gather_ood_scores: rank ", comm.rank(), " holds ", local.count,
                              " rows, its shard of ", total, " is ", counts[comm.rank()]));
  const OodScores mine = ood_scores_of(local);
  OodScores all;
  for (std::size_t i = 0; i < ood_scores.size(); ++i) {
    all[i].resize(std::size_t(total));
    KBNN_MPI_CHECK(MPI_Allgatherv(mine[i].data(), counts[comm.rank()], MPI_FLOAT, all[i].data(),
                                  counts.data(), offsets.data(), MPI_FLOAT, comm.get()));
  }
  return all;
}

}  // namespace kbnn

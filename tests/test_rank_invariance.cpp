// Distributed training computes the same mathematics on any number of ranks: the
// Trainer run on MPI_COMM_WORLD (n ranks, each with its shard of every global batch,
// one gradient allreduce) against the same Trainer on MPI_COMM_SELF (one rank doing
// the whole batch), in the same process. Run by ctest under mpiexec with 2 and 3
// ranks; a global batch of 10 splits unevenly over 3 (3/3/4) and the last batch of
// the 37 examples is short (7 rows), so uneven shards are covered.
#include "catch.hpp"

#include "app/deck.hpp"
#include "model/build_model.hpp"
#include "parallel/communicator.hpp"
#include "small_model.hpp"
#include "train/trainer.hpp"

#include <cmath>
#include <sstream>

namespace {

kbnn::RunConfig small_config() {
  kbnn::RunConfig c;
  c.deck_path = "test_rank_invariance";
  c.model = kbnn::test::small_model();
  c.train.batch_size = 10;
  c.train.seed = 1234;
  c.train.log_every = 1;
  c.train.lr = 1e-2;
  return c;
}

kbnn::TrainingData synthetic_data(const kbnn::Dataset& d = kbnn::test::synthetic_images()) {
  kbnn::TrainingData t;
  t.data = kbnn::to_device(d);
  t.global_count = d.count;
  return t;
}

struct Result {
  std::vector<double> parameters, gradients;
  std::vector<kbnn::HistoryRow> history;
};

Result train(MPI_Comm comm_handle, const kbnn::RunConfig& config, const kbnn::TrainingData& data) {
  kbnn::Communicator comm(comm_handle);
  auto model = kbnn::build_model<kbnn::Real>(config.model, data.data.shape);
  model->finalize(config.train.seed, int(config.train.batch_size));
  comm.broadcast(kbnn::ExecSpace(), model->parameters().values());
  std::ostringstream log;
  kbnn::Trainer trainer(config.train, config.parallel.batch_mode, config.model.prior_sigma, *model,
                        data, comm, log);
  Result r;
  trainer.on_log = [&](const kbnn::HistoryRow& row) { r.history.push_back(row); };
  trainer.run();
  const auto p = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model->parameters().values());
  const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model->parameters().gradients());
  r.parameters.assign(p.data(), p.data() + p.size());
  r.gradients.assign(g.data(), g.data() + g.size());
  return r;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

// One epoch (4 steps, the last short) on all ranks and on one: the same history and
// the same parameters.
void check_epoch_is_rank_invariant(const kbnn::RunConfig& config,
                                   const kbnn::TrainingData& data = synthetic_data()) {
  const Result all = train(MPI_COMM_WORLD, config, data);
  const Result one = train(MPI_COMM_SELF, config, data);
  REQUIRE(all.history.size() == 4);
  for (std::size_t i = 0; i < all.history.size(); ++i) {
    INFO("step " << all.history[i].step);
    CHECK(all.history[i].nll == Approx(one.history[i].nll).epsilon(1e-4));
    CHECK(all.history[i].kl == Approx(one.history[i].kl).epsilon(1e-5));
  }
  CHECK(relative_difference(all.parameters, one.parameters) < 1e-4);
}

}  // namespace

TEST_CASE("The first step's gradient does not depend on the rank count", "[mpi]") {
  auto config = small_config();
  config.train.max_steps = 1;
  const auto data = synthetic_data();
  const Result all = train(MPI_COMM_WORLD, config, data);
  const Result one = train(MPI_COMM_SELF, config, data);
  INFO("relative gradient difference " << relative_difference(all.gradients, one.gradients));
  CHECK(relative_difference(all.gradients, one.gradients) < 1e-5);
  CHECK(relative_difference(all.parameters, one.parameters) < 1e-6);
  REQUIRE(all.history.size() == 1);
  CHECK(all.history[0].nll == Approx(one.history[0].nll).epsilon(1e-5));
  CHECK(all.history[0].train_accuracy == one.history[0].train_accuracy);
}

TEST_CASE("A whole epoch with a short last batch does not depend on the rank count", "[mpi]") {
  auto config = small_config();  // 37 examples, batch 10: 4 steps, the last of 7 rows
  check_epoch_is_rank_invariant(config);
}

TEST_CASE("local_reparam and deterministic layers do not depend on the rank count", "[mpi]") {
  // Local reparameterization draws one noise value per output element, keyed by the
  // global example index; deterministic layers draw none.
  auto config = small_config();
  config.model.layers.clear();
  for (const char* line : {"conv2d out=4 kernel=3 padding=1 estimator=local_reparam", "relu",
                           "maxpool2d size=2", "conv2d out=6 kernel=3 estimator=deterministic",
                           "relu", "flatten", "dense out=12 estimator=local_reparam", "relu",
                           "dense out=10 estimator=local_reparam"})
    config.model.layers.push_back(kbnn::parse_layer(line));
  check_epoch_is_rank_invariant(config);
}

TEST_CASE("A 1-D CNN on signals does not depend on the rank count", "[mpi]") {
  // 37 float signals of 24 points and 2 channels (data.layout = signal), every estimator.
  kbnn::Dataset d;
  d.source = "synthetic signals";
  d.count = 37;
  d.height = 1;
  d.width = 24;
  d.channels = 2;
  d.float_features = true;
  d.num_classes = 10;
  for (std::int64_t i = 0; i < d.count * 48; ++i) d.values.push_back(std::sin(0.37f * float(i)));
  for (std::int64_t i = 0; i < d.count; ++i) d.labels.push_back(std::int32_t(i % 10));
  auto config = small_config();
  config.model.layers.clear();
  for (const char* line : {"conv1d out=4 kernel=5 padding=2", "relu", "maxpool1d size=2",
                           "conv1d out=6 kernel=3 stride=2 estimator=local_reparam", "relu",
                           "conv1d out=5 kernel=3 estimator=deterministic", "relu", "flatten",
                           "dense out=12 estimator=reparam", "relu", "dense out=10"})
    config.model.layers.push_back(kbnn::parse_layer(line));
  check_epoch_is_rank_invariant(config, synthetic_data(d));
}

TEST_CASE("Gradient-norm clipping does not depend on the rank count and needs no message",
          "[mpi]") {
  // A bound well under the gradient's norm clips every step. Each rank computes the norm
  // from the gradient the allreduce summed, so all ranks scale alike and stay in step.
  // SGD, whose steps grow with the gradient (Adam's first step would not see the scale).
  auto config = small_config();
  config.train.optimizer = kbnn::OptimizerKind::sgd;
  config.train.clip_norm = 0.05;
  check_epoch_is_rank_invariant(config);
  const Result clipped = train(MPI_COMM_WORLD, config, synthetic_data());
  std::vector<double> root = clipped.parameters;
  MPI_Bcast(root.data(), int(root.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  CHECK(relative_difference(clipped.parameters, root) == 0);
  // The last step's gradient, as the optimizer took it, has the bound's norm; unclipped
  // it is ten times longer, and the parameters move otherwise (by far more than the
  // rank count's rounding, 1e-6).
  const auto norm = [](const std::vector<double>& g) {
    double squares = 0;
    for (const double x : g) squares += x * x;
    return std::sqrt(squares);
  };
  CHECK(norm(clipped.gradients) == Approx(0.05).epsilon(1e-5));
  config.train.clip_norm = 0;
  const Result unclipped = train(MPI_COMM_WORLD, config, synthetic_data());
  CHECK(norm(unclipped.gradients) > 0.5);
  CHECK(relative_difference(clipped.parameters, unclipped.parameters) > 1e-4);
}

TEST_CASE("Broadcast gives every rank rank 0's parameters", "[mpi]") {
  kbnn::Communicator comm(MPI_COMM_WORLD);
  kbnn::View1<float> v("v", 100);
  const int rank = comm.rank();
  Kokkos::parallel_for("fill", kbnn::Range(0, 100),
                       KOKKOS_LAMBDA(const int i) { v(i) = float(i + 1000 * rank); });
  comm.broadcast(kbnn::ExecSpace(), v);
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  double mismatches = 0;
  for (int i = 0; i < 100; ++i) mismatches += h(i) != float(i);
  CHECK(comm.allreduce_sum(mismatches) == 0);
}

TEST_CASE("Shards cover a batch exactly, sizes differing by at most one", "[mpi]") {
  for (int ranks : {1, 2, 3, 7})
    for (std::int64_t n : {0, 1, 5, 10, 128, 129}) {
      std::int64_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto [lo, hi] = kbnn::shard(n, r, ranks);
        CHECK(lo == next);
        next = hi;
        smallest = std::min(smallest, hi - lo);
        largest = std::max(largest, hi - lo);
      }
      CHECK(next == n);
      CHECK(largest - smallest <= 1);
    }
}

TEST_CASE("shuffle = local trains each rank on its own partition, parameters in step", "[mpi]") {
  kbnn::Communicator comm(MPI_COMM_WORLD);
  auto config = small_config();
  config.data.shuffle = kbnn::ShuffleScope::local;
  const auto all = synthetic_data();
  // This rank keeps only its contiguous share of the 37 examples.
  const auto [lo, hi] = comm.shard(all.global_count);
  kbnn::Dataset mine;
  mine.source = "synthetic partition";
  mine.count = hi - lo;
  mine.height = mine.width = 8;
  mine.channels = 1;
  mine.num_classes = 10;
  for (std::int64_t i = lo; i < hi; ++i) {
    for (int p = 0; p < 64; ++p) mine.pixels.push_back(std::uint8_t((i * 64 + p) % 251));
    mine.labels.push_back(std::int32_t(i % 10));
  }
  kbnn::TrainingData data;
  data.data = kbnn::to_device(mine);
  data.global_count = all.global_count;
  data.local = true;
  const Result r = train(MPI_COMM_WORLD, config, data);
  REQUIRE(r.history.size() == 4);  // steps per epoch come from the global count
  for (const auto& row : r.history) CHECK(std::isfinite(row.loss));
  // One allreduce per step keeps every rank's parameters identical.
  std::vector<double> root = r.parameters;
  MPI_Bcast(root.data(), int(root.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  CHECK(relative_difference(r.parameters, root) == 0);
}

TEST_CASE("batch_mode = per_rank follows Horovod: batch and learning rate times ranks", "[mpi]") {
  kbnn::Communicator comm(MPI_COMM_WORLD);
  auto config = small_config();
  config.parallel.batch_mode = kbnn::BatchMode::per_rank;
  config.train.batch_size = 4;
  const auto data = synthetic_data();
  auto model = kbnn::build_model<kbnn::Real>(config.model, data.data.shape);
  model->finalize(config.train.seed, int(kbnn::max_rows_per_rank(config.train.batch_size, config.parallel.batch_mode, comm.size())));
  std::ostringstream log;
  kbnn::Trainer trainer(config.train, config.parallel.batch_mode, config.model.prior_sigma, *model,
                        data, comm, log);
  CHECK(trainer.global_batch() == 4 * comm.size());
  CHECK(trainer.peak_learning_rate() == Approx(config.train.lr * comm.size()));
  CHECK(trainer.steps_per_epoch() == (37 + 4 * comm.size() - 1) / (4 * comm.size()));
}

TEST_CASE("a stop requested on one rank stops every rank after the same step", "[mpi]") {
  kbnn::Communicator comm(MPI_COMM_WORLD);
  const auto config = small_config();
  const auto data = synthetic_data();
  auto model = kbnn::build_model<kbnn::Real>(config.model, data.data.shape);
  model->finalize(config.train.seed, int(config.train.batch_size));
  std::ostringstream log;
  kbnn::Trainer trainer(config.train, config.parallel.batch_mode, config.model.prior_sigma, *model,
                        data, comm, log);
  // Only the last rank asks, and only once it has begun step 3 (of 4 in the epoch).
  const bool asker = comm.rank() == comm.size() - 1;
  trainer.stop_requested = [&] { return asker && trainer.step() == 2; };
  trainer.run();
  CHECK(trainer.stopped());
  CHECK(trainer.step() == 3);
  std::vector<double> steps(comm.size(), 0.0);
  steps[comm.rank()] = double(trainer.step());
  comm.allreduce_sum(steps.data(), steps.size());
  for (double s : steps) CHECK(s == 3);
  // The window keeps one sum per rank, for the checkpoint.
  CHECK(trainer.window().nll_sum.size() == std::size_t(comm.size()));
}

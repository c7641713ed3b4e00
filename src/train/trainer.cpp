#include "train/trainer.hpp"

#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "train/kl_divergence.hpp"
#include "train/kl_schedule.hpp"
#include "train/loss.hpp"
#include "train/lr_schedule.hpp"
#include "train/shuffle.hpp"
#include "train/step_dump.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace kbnn {

std::unique_ptr<Optimizer<Real>> make_optimizer(const TrainConfig& config, std::size_t size) {
  if (config.optimizer == OptimizerKind::sgd)
    return std::make_unique<Sgd<Real>>(size, config.momentum);
  return std::make_unique<Adam<Real>>(size, config.adam_beta1, config.adam_beta2,
                                      config.adam_epsilon);
}

Trainer::Trainer(const TrainConfig& config, BatchMode batch_mode, double prior_sigma,
                 Sequential<Real>& model, const TrainingData& train, Communicator& comm,
                 std::ostream& log)
    : stop_requested([] { return stop_signal() != 0; }), config_(config),
      batch_mode_(batch_mode), prior_sigma_(prior_sigma), model_(model), train_(train),
      comm_(comm), log_(log) {
  // Horovod's convention (per_rank): the batch and the learning rate grow with the ranks.
  global_batch_ = global_batch_size(config.batch_size, batch_mode, comm.size());
  peak_lr_ = config.lr * (batch_mode == BatchMode::per_rank ? comm.size() : 1);
  // The deck checks this with a message for the user (check_deck_for_ranks).
  if (global_batch_ < comm.size())
    throw RuntimeError(concat("Trainer: a global batch of ", global_batch_, " for ",
                              comm.size(), " ranks leaves a rank without examples"));
  steps_per_epoch_ = (train.global_count + global_batch_ - 1) / global_batch_;
  total_steps_ = steps_per_epoch_ * config.epochs;
  if (config.max_steps > 0) total_steps_ = std::min(total_steps_, config.max_steps);
  optimizer_ = make_optimizer(config, model.parameters().size());
  const std::int64_t rows = max_rows_per_rank(config.batch_size, batch_mode, comm.size());
  if (rows > model.max_batch())
    throw RuntimeError(concat("Trainer: ", rows, " rows per rank exceed the model's ",
                              model.max_batch(), " reserved rows"));
}

View1<std::int64_t> Trainer::epoch_order_view(int epoch) const {
  const std::uint64_t seed = config_.seed;
  std::vector<std::int64_t> order;
  if (!train_.local) {
    order = epoch_order(train_.global_count, seed, std::uint32_t(epoch), config_.shuffle);
  } else {
    // Each rank walks its own partition, shuffled with its own key, taking its share
    // of every global batch; it wraps around when its partition runs out first.
    const std::int64_t n_local = train_.data.count();
    const auto local = epoch_order(n_local, seed ^ (0x9E3779B97F4A7C15ull * (comm_.rank() + 1)),
                                   std::uint32_t(epoch), config_.shuffle);
    const auto share = comm_.shard(global_batch_);
    order.resize(std::size_t(steps_per_epoch_ * (share.second - share.first)));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = local[i % n_local];
  }
  View1<std::int64_t> view("kbnn::Trainer::order", order.size());
  Kokkos::deep_copy(view, Kokkos::View<const std::int64_t*, HostSpace,
                                       Kokkos::MemoryTraits<Kokkos::Unmanaged>>(order.data(),
                                                                                order.size()));
  return view;
}

namespace {
std::string format_duration(double seconds) {
  char text[32];
  const long s = std::lround(seconds);
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  return text;
}
}  // namespace

void Trainer::run(std::int64_t start_step, const TrainingWindow& resumed) {
  const TrainConfig& tc = config_;
  const std::int64_t n_train = train_.global_count;
  const int features = static_cast<int>(train_.data.shape.size());
  const int classes = static_cast<int>(model_.output_shape().size());
  const std::int64_t max_rows = max_rows_per_rank(tc.batch_size, batch_mode_, comm_.size());
  auto& store = model_.parameters();

  // Scratch, allocated once.
  View2<Real> x(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::x"), max_rows,
                features);
  View1<std::int32_t> y("kbnn::Trainer::y", max_rows);
  View2<Real> dlogits(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::dlogits"),
                      max_rows, classes);
  View1<double> correct("kbnn::Trainer::correct", max_rows);

  // This rank's NLL sum and correct count since the last row, as a checkpoint left them
  // (each rank its own, on the same rank count; otherwise rank 0 takes the totals).
  double window[2] = {0, 0};
  const int rank = comm_.rank();
  if (resumed.nll_sum.size() == std::size_t(comm_.size())) {
    window[0] = resumed.nll_sum[rank];
    window[1] = resumed.correct[rank];
  } else if (rank == 0) {
    for (std::size_t r = 0; r < resumed.nll_sum.size(); ++r) {
      window[0] += resumed.nll_sum[r];
      window[1] += resumed.correct[r];
    }
  }
  std::int64_t window_images = resumed.images;
  stopped_ = false;
  // At a logged step the window is empty: what on_log's checkpoints record.
  const TrainingWindow empty_window{std::vector<double>(comm_.size(), 0.0),
                                    std::vector<double>(comm_.size(), 0.0), 0};
  window_ = empty_window;
  Kokkos::Timer clock;
  double window_start = 0;
  step_ = start_step;
  // With shuffle = local each rank takes the same share of every global batch.
  const auto share = comm_.shard(global_batch_);

  for (int epoch = int(step_ / steps_per_epoch_); step_ < total_steps_; ++epoch) {
    const auto order = epoch_order_view(epoch);
    for (std::int64_t s = step_ % steps_per_epoch_; s < steps_per_epoch_ && step_ < total_steps_;
         ++s) {
      // This step's global batch is positions [first, first + rows) of the epoch's
      // order; this rank computes rows [lo, hi) of it.
      const std::int64_t first = s * global_batch_;
      const std::int64_t rows = std::min(global_batch_, n_train - first);
      const auto [lo, hi] = comm_.shard(rows);
      const std::int64_t local_first = train_.local ? s * (share.second - share.first) : first + lo;
      auto xb = as_matrix(x, hi - lo, features);
      auto yb = Kokkos::subview(y, Kokkos::make_pair(std::int64_t(0), hi - lo));
      gather_batch<Real>(train_.data, order, local_first, xb, yb);

      store.zero_gradients();
      // Noise is keyed by the step and by the example's place in the GLOBAL batch.
      const PassContext ctx{tc.seed, std::uint32_t(step_), lo, true};
      const auto logits = model_.forward(xb, ctx);
      const auto d = as_matrix(dlogits, hi - lo, classes);
      const LossSums sums =
          softmax_cross_entropy<Real>(logits, yb, Real(1.0 / double(rows)), d, correct);
      if (!std::isfinite(sums.nll))
        throw DivergenceError(concat("training diverged at step ", step_ + 1, " (epoch ", epoch + 1,
                                  "): the loss on rank ", comm_.rank(), " is ", sums.nll));
      model_.backward(d);
      // The stop request rides in the gradient allreduce: its sum reaches every rank
      // at this same step, so all ranks stop after it together.
      Kokkos::deep_copy(store.control(), Real(stop_requested && stop_requested() ? 1 : 0));
      comm_.allreduce_sum(store.gradients_and_control());
      Real stop_votes = 0;
      Kokkos::deep_copy(stop_votes, store.control());

      // beta at the start of this step (Liu et al. use t - 1): each cycle opens at 0.
      const double beta = kl_beta(tc, double(step_) / double(steps_per_epoch_), double(tc.epochs));
      add_kl_gradient(store, prior_sigma_, beta / double(n_train));
      const double lr =
          learning_rate(tc, batch_mode_, comm_.size(), step_, steps_per_epoch_);
      const bool dump = step_dump != nullptr && step_dump->wants(step_);
      if (dump)
        step_dump->record_gradients(step_, order, local_first, rows, lo, hi, sums.nll, beta);
      optimizer_->step(store.values(), store.gradients(), lr);
      if (dump) step_dump->record_parameters(step_);
      ++step_;
      const double epoch_progress = double(step_) / double(steps_per_epoch_);

      window[0] += sums.nll;
      window[1] += sums.correct;
      window_images += rows;
      images_trained_ += rows;
      const bool last_of_epoch = s + 1 == steps_per_epoch_ || step_ == total_steps_;
      if (step_ % tc.log_every != 0 && !last_of_epoch) {
        if (stop_votes > 0) {
          stopped_ = true;
          break;
        }
        continue;
      }

      comm_.allreduce_sum(window, 2);
      Kokkos::fence();
      const double now = clock.seconds();
      HistoryRow row;
      row.step = step_;
      row.epoch = epoch_progress;
      row.kl = kl_divergence(store, prior_sigma_);
      row.beta = beta;
      row.lr = lr;
      row.nll = window[0] / double(window_images);
      row.loss = row.nll + beta * row.kl / double(n_train);
      row.train_accuracy = window[1] / double(window_images);
      row.seconds = now;
      row.images_per_second = double(window_images) / (now - window_start);
      const double eta = (total_steps_ - step_) * (now / double(step_ - start_step));
      char line[256];
      std::snprintf(line, sizeof line,
                    "step %6lld/%lld  epoch %6.2f  loss %.4f  nll %.4f  kl %.4g  beta %.3g  "
                    "lr %.3g  acc %.4f  %7.0f img/s  ETA %s",
                    static_cast<long long>(step_), static_cast<long long>(total_steps_),
                    row.epoch, row.loss, row.nll, row.kl, row.beta, row.lr, row.train_accuracy,
                    row.images_per_second, format_duration(eta).c_str());
      log_ << line << std::endl;
      if (on_log) on_log(row);
      window[0] = window[1] = 0;
      window_images = 0;
      window_start = clock.seconds();
      if (stop_votes > 0) {
        stopped_ = true;
        break;
      }
    }
    if (stopped_) break;
  }
  // Each rank's window sums, gathered (a sum of one value and zeros is exact).
  window_ = empty_window;
  window_.images = window_images;
  window_.nll_sum[rank] = window[0];
  window_.correct[rank] = window[1];
  comm_.allreduce_sum(window_.nll_sum.data(), window_.nll_sum.size());
  comm_.allreduce_sum(window_.correct.data(), window_.correct.size());
  Kokkos::fence();
  training_seconds_ = clock.seconds();
}

}  // namespace kbnn

#include "train/trainer.hpp"

#include "core/error.hpp"
#include "core/float_math.hpp"
#include "core/stop_signal.hpp"
#include "train/clip_gradient_norm.hpp"
#include "train/gaussian_nll.hpp"
#include "train/kl_divergence.hpp"
#include "train/kl_schedule.hpp"
#include "train/loss.hpp"
#include "train/lr_schedule.hpp"
#include "train/shuffle.hpp"
#include "train/step_dump.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <ostream>
#include <tuple>

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
  regression_ = train.data.target_dim() > 0;
  for (const double std : train.target_std) nll_offset_ += std::log(std);
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

// ---- the loop's pieces

// Scratch for one step's rows, allocated once per run().
struct Trainer::Buffers {
  View2<Real> x;              // (max_rows, features): the batch's pixels / 255
  View1<std::int32_t> y;      // (max_rows): its labels
  View2<Real> dlogits;        // (max_rows, classes): dL/dlogits
  View1<double> correct;      // (max_rows): the loss's per-row scratch
  View2<Real> targets;        // regression: (max_rows, T), the batch's targets
  View1<double> target_scale;  // regression: (T), each target's standard deviation (or 1)
};

// The sums since the last history row: this rank's until the row reduces them.
struct Trainer::Window {
  double sums[2] = {0, 0};    // NLL sum, correct count
  std::int64_t images = 0;    // examples, all ranks
  double start_seconds = 0;   // on run()'s clock
};

// Where step s of an epoch lies: positions [first, first + rows) of the epoch's order
// are its global batch; this rank computes rows [lo, hi) of it, which it reads from its
// own order from local_first on.
struct Trainer::Batch {
  std::int64_t first, rows, lo, hi, local_first;
};

// What a step leaves for the history row.
struct Trainer::Step {
  LossSums loss;              // this rank's
  std::int64_t rows = 0;      // the global batch
  double beta = 0, lr = 0;
  bool stop = false;          // some rank asked to stop
};

Trainer::Buffers Trainer::allocate_buffers() const {
  const int features = static_cast<int>(train_.data.shape.size());
  const int classes = static_cast<int>(model_.output_shape().size());
  const std::int64_t max_rows = max_rows_per_rank(config_.batch_size, batch_mode_, comm_.size());
  Buffers b;
  b.x = View2<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::x"),
                    max_rows, features);
  b.y = View1<std::int32_t>("kbnn::Trainer::y", max_rows);
  b.dlogits = View2<Real>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::dlogits"), max_rows,
      classes);
  b.correct = View1<double>("kbnn::Trainer::correct", max_rows);
  if (regression_) allocate_target_buffers(b, max_rows);
  return b;
}

// The batch's targets, and the deviations that return errors to the targets' units.
void Trainer::allocate_target_buffers(Buffers& b, std::int64_t max_rows) const {
  const int targets = train_.data.target_dim();
  b.targets = View2<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::targets"),
                          max_rows, targets);
  std::vector<double> scale(std::size_t(targets), 1.0);
  if (!train_.target_std.empty()) scale = train_.target_std;
  b.target_scale = View1<double>("kbnn::Trainer::target_scale", targets);
  Kokkos::deep_copy(b.target_scale,
                    Kokkos::View<const double*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                        scale.data(), scale.size()));
}

// This rank's NLL sum and correct count since the last row, as a checkpoint left them
// (each rank its own, on the same rank count; otherwise rank 0 takes the totals).
Trainer::Window Trainer::resumed_window(const TrainingWindow& resumed) const {
  Window w;
  const int rank = comm_.rank();
  if (resumed.nll_sum.size() == std::size_t(comm_.size())) {
    w.sums[0] = resumed.nll_sum[rank];
    w.sums[1] = resumed.correct[rank];
  } else if (rank == 0) {
    for (std::size_t r = 0; r < resumed.nll_sum.size(); ++r) {
      w.sums[0] += resumed.nll_sum[r];
      w.sums[1] += resumed.correct[r];
    }
  }
  w.images = resumed.images;
  return w;
}

Trainer::Batch Trainer::batch_of_step(std::int64_t s) const {
  Batch b;
  b.first = s * global_batch_;
  b.rows = std::min(global_batch_, train_.global_count - b.first);
  std::tie(b.lo, b.hi) = comm_.shard(b.rows);
  // With shuffle = local each rank takes the same share of every global batch.
  const auto share = comm_.shard(global_batch_);
  b.local_first = train_.local ? s * (share.second - share.first) : b.first + b.lo;
  return b;
}

// Forward, loss and backward on this rank's rows: ADDS their gradient (scaled by
// 1 / the global batch) into the zeroed gradient buffer. A loss that is not finite goes
// on to the allreduce, which tells every rank (sum_gradients).
LossSums Trainer::compute_gradients(const Buffers& buffers, const View1<std::int64_t>& order,
                                    const Batch& batch) {
  const std::int64_t rows = batch.hi - batch.lo;
  auto xb = as_matrix(buffers.x, rows, buffers.x.extent(1));
  auto yb = Kokkos::subview(buffers.y, Kokkos::make_pair(std::int64_t(0), rows));
  gather_batch<Real>(train_.data, order, batch.local_first, xb, yb);

  model_.parameters().zero_gradients();
  // Noise is keyed by the step and by the example's place in the GLOBAL batch.
  PassContext ctx;
  ctx.seed = config_.seed;
  ctx.pass = std::uint32_t(step_);
  ctx.first_example = batch.lo;
  ctx.sample = true;
  const auto logits = model_.forward(xb, ctx);
  const auto d = as_matrix(buffers.dlogits, rows, buffers.dlogits.extent(1));
  const Real grad_scale = Real(1.0 / double(batch.rows));
  LossSums sums;
  if (regression_) {
    const auto tb = as_matrix(buffers.targets, rows, buffers.targets.extent(1));
    gather_targets<Real>(train_.data, order, batch.local_first, tb);
    sums = gaussian_nll<Real>(logits, tb, buffers.target_scale, grad_scale, d, buffers.correct);
  } else {
    sums = softmax_cross_entropy<Real>(logits, yb, grad_scale, d, buffers.correct);
  }
  model_.backward(d);
  return sums;
}

// Sums the gradient over ranks in ONE allreduce. The stop request and a loss that is not
// finite ride in it, in the number after the gradients: a stop counts 1, a bad loss
// ranks + 1, so its sum tells every rank at this same step whether any rank asked to
// stop (sum > 0) or met a bad loss (sum > ranks), and all ranks act on it together.
Trainer::Votes Trainer::sum_gradients(bool loss_finite) {
  auto& store = model_.parameters();
  const double ranks = comm_.size();
  const double vote = (stop_requested && stop_requested() ? 1 : 0) + (loss_finite ? 0 : ranks + 1);
  Kokkos::deep_copy(store.control(), Real(vote));
  comm_.allreduce_sum(ExecSpace(), store.gradients_and_control());
  Real votes = 0;
  Kokkos::deep_copy(votes, store.control());
  return {votes > 0, votes > ranks};
}

// Every rank reaches this at the same step (the votes and the parameters are the same
// on all): the error is the same on every rank.
void Trainer::throw_divergence(const char* what, double local_nll, int epoch) const {
  double nll = local_nll;
  comm_.allreduce_sum(&nll, 1);
  throw DivergenceError(concat("training diverged at step ", step_ + 1, " (epoch ", epoch + 1,
                               "): ", what, " (NLL sum of the batch ", nll, ", KL ",
                               kl_divergence(model_.parameters(), prior_sigma_), ")"));
}

namespace {
// Whether every number of `values` is finite: one pass over the bits (an exponent of
// all ones is Inf or NaN).
bool all_finite(const View1<float>& values) {
  std::int64_t bad = 0;
  Kokkos::parallel_reduce(
      "kbnn::Trainer::count_non_finite", Range(0, values.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& n) {
        n += (math::bit_cast<std::uint32_t>(values(i)) & 0x7f800000u) == 0x7f800000u;
      },
      bad);
  return bad == 0;
}
}  // namespace

Trainer::Step Trainer::train_step(const Buffers& buffers, const View1<std::int64_t>& order,
                                  int epoch, std::int64_t s) {
  const Batch batch = batch_of_step(s);
  Step step;
  step.rows = batch.rows;
  step.loss = compute_gradients(buffers, order, batch);
  const Votes votes = sum_gradients(std::isfinite(step.loss.nll));
  if (votes.bad_loss) throw_divergence("the loss is not finite", step.loss.nll, epoch);
  step.stop = votes.stop;
  // beta at the start of this step (Liu et al. use t - 1): each cycle opens at 0.
  auto& store = model_.parameters();
  step.beta = kl_beta(config_, double(step_) / double(steps_per_epoch_), double(config_.epochs));
  add_kl_gradient(store, prior_sigma_, step.beta / double(train_.global_count));
  if (config_.clip_norm > 0) {
    const GradientClip clip = clip_gradient_norm(store.gradients(), config_.clip_norm);
    clipped_steps_ += clip.clipped;
    largest_gradient_norm_ = std::max(largest_gradient_norm_, clip.norm);
  }
  step.lr = learning_rate(config_, batch_mode_, comm_.size(), step_, steps_per_epoch_);
  const bool dump = step_dump != nullptr && step_dump->wants(step_);
  if (dump)
    step_dump->record_gradients(step_, order, batch.local_first, batch.rows, batch.lo, batch.hi,
                                step.loss.nll, step.beta);
  optimizer_->step(store.values(), store.gradients(), step.lr);
  // Parameters that are not finite would make this step's logged loss (through the KL)
  // and every later one NaN: stop here, not at the next step's NLL.
  if (!all_finite(store.values()))
    throw_divergence("the parameters are not finite after its update", step.loss.nll, epoch);
  if (dump) step_dump->record_parameters(step_);
  ++step_;
  return step;
}

// The window's sums, reduced over ranks, as the history row after `last`.
HistoryRow Trainer::history_row(const Step& last, const Window& window, double now) const {
  const std::int64_t n_train = train_.global_count;
  HistoryRow row;
  row.step = step_;
  row.epoch = double(step_) / double(steps_per_epoch_);
  row.kl = kl_divergence(model_.parameters(), prior_sigma_);
  row.beta = last.beta;
  row.lr = last.lr;
  row.nll = window.sums[0] / double(window.images);
  if (regression_) {
    // In the targets' units: the density of y is the standardized one over prod_t std_t.
    row.nll += nll_offset_;
    row.train_accuracy = std::numeric_limits<double>::quiet_NaN();
    row.train_rmse =
        std::sqrt(window.sums[1] / (double(window.images) * train_.data.target_dim()));
  } else {
    row.train_accuracy = window.sums[1] / double(window.images);
  }
  row.loss = row.nll + last.beta * row.kl / double(n_train);
  row.seconds = now;
  row.images_per_second = double(window.images) / (now - window.start_seconds);
  return row;
}

void Trainer::print_row(const HistoryRow& row, double eta_seconds) const {
  char line[256];
  const char* fit = regression_ ? "rmse %.4g" : "acc %.4f";
  const std::string format =
      std::string("step %6lld/%lld  epoch %6.2f  loss %.4f  nll %.4f  kl %.4g  beta %.3g  "
                  "lr %.3g  ") + fit + "  %7.0f " + train_.rate_unit + "  elapsed %s  ETA %s";
  std::snprintf(line, sizeof line, format.c_str(), static_cast<long long>(row.step),
                static_cast<long long>(total_steps_), row.epoch, row.loss, row.nll, row.kl,
                row.beta, row.lr, regression_ ? row.train_rmse : row.train_accuracy,
                row.images_per_second, format_duration(seconds_before + row.seconds).c_str(),
                format_duration(eta_seconds).c_str());
  log_ << line << std::endl;
}

// Reduces the window over ranks into a history row, prints it, hands it to on_log and
// opens the next window.
void Trainer::log_row(const Step& last, Window& window, const Kokkos::Timer& clock,
                      std::int64_t start_step) {
  comm_.allreduce_sum(window.sums, 2);
  Kokkos::fence();
  const double now = clock.seconds();
  const HistoryRow row = history_row(last, window, now);
  if (!std::isfinite(row.loss))  // the KL, at parameters that are finite
    throw DivergenceError(concat("training diverged at step ", step_, ": the loss is ",
                                 row.loss, " (NLL ", row.nll, ", KL ", row.kl, ")"));
  print_row(row, (total_steps_ - step_) * (now / double(step_ - start_step)));
  if (on_log) on_log(row);
  window = Window{};
  window.start_seconds = clock.seconds();
}

// Each rank's window sums, gathered (a sum of one value and zeros is exact), for a
// checkpoint of the state after run().
void Trainer::keep_window(const Window& window) {
  window_ = empty_window();
  window_.images = window.images;
  window_.nll_sum[comm_.rank()] = window.sums[0];
  window_.correct[comm_.rank()] = window.sums[1];
  comm_.allreduce_sum(window_.nll_sum.data(), window_.nll_sum.size());
  comm_.allreduce_sum(window_.correct.data(), window_.correct.size());
}

TrainingWindow Trainer::empty_window() const {
  return TrainingWindow{std::vector<double>(comm_.size(), 0.0),
                        std::vector<double>(comm_.size(), 0.0), 0};
}

// ---- the loop

void Trainer::run(std::int64_t start_step, const TrainingWindow& resumed) {
  const Buffers buffers = allocate_buffers();
  Window window = resumed_window(resumed);
  stopped_ = false;
  window_ = empty_window();  // at a logged step: what on_log's checkpoints record
  clipped_steps_ = 0;
  largest_gradient_norm_ = 0;
  Kokkos::Timer clock;
  step_ = start_step;
  const auto going_on = [this] { return step_ < total_steps_ && !stopped_ && !ended_early_; };
  for (int epoch = int(step_ / steps_per_epoch_); going_on(); ++epoch) {
    const auto order = epoch_order_view(epoch);
    for (std::int64_t s = step_ % steps_per_epoch_; s < steps_per_epoch_ && going_on(); ++s) {
      const Step step = train_step(buffers, order, epoch, s);
      window.sums[0] += step.loss.nll;
      window.sums[1] += step.loss.correct;
      window.images += step.rows;
      images_trained_ += step.rows;
      const bool last_of_epoch = s + 1 == steps_per_epoch_ || step_ == total_steps_;
      if (step_ % config_.log_every == 0 || last_of_epoch) log_row(step, window, clock, start_step);
      stopped_ = step.stop;
    }
  }
  keep_window(window);
  Kokkos::fence();
  training_seconds_ = clock.seconds();
  log_clipping(step_ - start_step);
}

// How often train.clip_norm acted: the one place a user sees whether the bound leaves
// most steps alone (docs/design.md, "Regression").
void Trainer::log_clipping(std::int64_t steps) const {
  if (config_.clip_norm <= 0) return;
  log_ << format("train.clip_norm = %g: %.0f of this run's %.0f steps clipped (largest "
                 "gradient norm %.4g)",
                 config_.clip_norm, double(clipped_steps_), double(steps), largest_gradient_norm_)
       << std::endl;
}

}  // namespace kbnn

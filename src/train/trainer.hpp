// The training loop (docs/design.md, "One training step"): every rank gathers
// its shard of the global batch, runs forward, softmax cross-entropy and backward;
// ONE allreduce sums the gradient; the KL gradient is added once, after it; one
// optimizer kernel updates the flat parameters at the step's learning rate
// (train/lr_schedule.hpp). Every log_every steps and at every epoch's end a history row
// is reduced over ranks, printed on rank 0 and handed to on_log (output, checkpoints,
// evaluations). A loss or parameters that are not finite stop training at the step
// they appear, with the same DivergenceError on every rank.
#pragma once

#include "core/format.hpp"
#include "core/run_config.hpp"
#include "data/device_dataset.hpp"
#include "model/sequential.hpp"
#include "parallel/communicator.hpp"
#include "train/history.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace kbnn {

class StepDump;

// The training examples this rank holds. With shuffle = global every rank holds all
// of them; with shuffle = local only its partition (global_count is the total).
struct TrainingData {
  DeviceDataset data;
  std::int64_t global_count = 0;
  bool local = false;
  // Regression with standardized targets: each target's standard deviation, by which
  // the logged NLL and RMSE return to the targets' units (empty: units unchanged).
  std::vector<double> target_std;
  // The progress line's rate: "img/s", or "ex/s" for other examples (data/example_noun).
  std::string rate_unit = "img/s";
};

class Trainer {
 public:
  // batch_mode decides what train.batch_size means; prior_sigma is the KL's prior.
  Trainer(const TrainConfig& config, BatchMode batch_mode, double prior_sigma,
          Sequential<Real>& model, const TrainingData& train, Communicator& comm,
          std::ostream& log);

  // Trains from `start_step` (0, or a checkpoint's step, with the checkpoint's window)
  // to the end of the last epoch (or max_steps), or until a stop is requested. Calls
  // on_log(row) after each history row, on every rank.
  void run(std::int64_t start_step = 0, const TrainingWindow& window = {});

  std::function<void(const HistoryRow&)> on_log;
  // Asked once per step on every rank (default: a SIGTERM or SIGUSR1 arrived). When it
  // is true on ANY rank, all ranks finish that step together and run() returns with
  // stopped() true: the request travels in the step's gradient allreduce.
  std::function<bool()> stop_requested;
  bool stopped() const { return stopped_; }
  // Ends training after the current step, on this rank (train.early_stop: every rank
  // decides alike from the same evaluation); before run(), at its start step.
  void end_early() { ended_early_ = true; }
  bool ended_early() const { return ended_early_; }
  // Seconds the job spent before run() (reading data, setting up): the progress
  // lines' elapsed time counts from the job's start.
  double seconds_before = 0;
  // Records the first steps when set (debug.dump_steps; train/step_dump.hpp).
  StepDump* step_dump = nullptr;
  // The sums since the last history row (a checkpoint between two rows keeps them).
  const TrainingWindow& window() const { return window_; }

  std::int64_t global_batch() const { return global_batch_; }
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  std::int64_t step() const { return step_; }
  // The step training ends at: the last epoch's end, or train.max_steps.
  std::int64_t total_steps() const { return total_steps_; }
  // train.lr, times the ranks in per_rank mode: the rate a schedule starts its decay
  // from (each step's rate: train/lr_schedule.hpp, logged in the history).
  double peak_learning_rate() const { return peak_lr_; }
  Optimizer<Real>& optimizer() { return *optimizer_; }
  const Optimizer<Real>& optimizer() const { return *optimizer_; }

  double training_seconds() const { return training_seconds_; }
  std::int64_t images_trained() const { return images_trained_; }  // global, this run

 private:
  struct Buffers;
  struct Window;
  struct Batch;
  struct Step;
  struct Votes {
    bool stop = false;      // some rank asked to stop
    bool bad_loss = false;  // some rank's loss was not finite
  };

  View1<std::int64_t> epoch_order_view(int epoch) const;
  Buffers allocate_buffers() const;
  void allocate_target_buffers(Buffers& b, std::int64_t max_rows) const;
  Window resumed_window(const TrainingWindow& resumed) const;
  TrainingWindow empty_window() const;
  Batch batch_of_step(std::int64_t s) const;
  Step train_step(const Buffers& buffers, const View1<std::int64_t>& order, int epoch,
                  std::int64_t s);
  LossSums compute_gradients(const Buffers& buffers, const View1<std::int64_t>& order,
                             const Batch& batch);
  Votes sum_gradients(bool loss_finite);
  [[noreturn]] void throw_divergence(const char* what, double local_nll, int epoch) const;
  HistoryRow history_row(const Step& last, const Window& window, double now) const;
  void print_row(const HistoryRow& row, double eta_seconds) const;
  void log_row(const Step& last, Window& window, const Kokkos::Timer& clock,
               std::int64_t start_step);
  void keep_window(const Window& window);
  void log_clipping(std::int64_t steps) const;

  TrainConfig config_;
  BatchMode batch_mode_;
  double prior_sigma_;
  Sequential<Real>& model_;
  const TrainingData& train_;
  Communicator& comm_;
  std::ostream& log_;
  std::unique_ptr<Optimizer<Real>> optimizer_;
  std::int64_t global_batch_, steps_per_epoch_, total_steps_;
  double peak_lr_;
  std::int64_t step_ = 0;
  bool stopped_ = false;
  bool ended_early_ = false;
  // Regression (the data has real targets): the Gaussian NLL instead of the softmax's,
  // and what returns the logged NLL to the targets' units: sum_t log std_t.
  bool regression_ = false;
  double nll_offset_ = 0;
  TrainingWindow window_;  // global sums since the last row (local ones until it)
  double training_seconds_ = 0;
  std::int64_t images_trained_ = 0;
  // train.clip_norm > 0: this run()'s steps whose gradient was scaled, and the largest
  // norm before clipping (the same on every rank: the gradient is the reduced one).
  std::int64_t clipped_steps_ = 0;
  double largest_gradient_norm_ = 0;
};

std::unique_ptr<Optimizer<Real>> make_optimizer(const TrainConfig& config, std::size_t size);

// The global batch: train.batch_size, times the ranks in Horovod's per_rank mode.
inline std::int64_t global_batch_size(std::int64_t batch_size, BatchMode mode, int ranks) {
  return batch_size * (mode == BatchMode::per_rank ? ranks : 1);
}
// The most training rows one rank computes at once: ceil(global batch / ranks).
inline std::int64_t max_rows_per_rank(std::int64_t batch_size, BatchMode mode, int ranks) {
  return (global_batch_size(batch_size, mode, ranks) + ranks - 1) / ranks;
}

}  // namespace kbnn

// The training state a checkpoint holds (train/checkpoint.hpp), taken from a Trainer
// and its model for a checkpoint, and given back to them when a run resumes
// (docs/design.md, "The restart contract").
#pragma once

#include "core/run_config.hpp"
#include "output/checkpoint_file.hpp"
#include "parallel/communicator.hpp"
#include "train/checkpoint.hpp"
#include "train/history.hpp"
#include "train/trainer.hpp"

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace kbnn {

// Where a run starts from (`kbnn train --restart FROM [--restart-force]`).
struct RestartOptions {
  // Empty: a fresh start. "auto": <output.dir>/<run name>.checkpoint.h5 if it exists,
  // else a fresh start (so resubmitting the same job script is always right).
  // Otherwise a checkpoint or run file.
  std::string from;
  // Continue even if the checkpoint's model, seed, batch or optimizer differ from the deck's.
  bool force = false;
};

// <output.dir>/<run name>.h5, .checkpoint.h5 and, with train.early_stop, .best.h5 (the
// best evaluation's state while training).
struct RunPaths {
  std::filesystem::path dir;
  std::string run, checkpoint, best;
};
RunPaths run_paths(const RunConfig& config);

// Where a run starts (RestartOptions, read against what lies in output.dir).
struct StartPoint {
  std::string from;        // the checkpoint or run file to resume from; "" = a fresh start
  // Its step, the training set's size it was trained on (0: not recorded) and
  // train.early_stop's marks; all 0 for a fresh start.
  CheckpointPlace place;
  bool finished = false;   // --restart auto on a run that has finished: nothing to do
};

// How far the deck trains: the total steps and the steps of an epoch (Trainer's), and
// the training set's size (examples, all ranks' together), in whose epochs they count.
struct StepSpan {
  std::int64_t total = 0, per_epoch = 1, examples = 0;
};

// Decides where the run starts, on rank 0, agreed and broadcast (collective):
//   - no restart: a fresh start, refused (InputError) where a finished or stopped run's
//     file would be overwritten, unless output.overwrite;
//   - --restart FILE: FILE's checkpoint, refused if it has reached span.total (nothing
//     left to train; the message names its step and epoch and train.epochs);
//   - --restart auto: the later of the run's checkpoint file and, when the run finished,
//     its run file; none: a fresh start, but refused where a stopped run's checkpoint is
//     missing. At span.total a finished run is left as it is (StartPoint::finished); an
//     unfinished one resumes to write its results. A finished run whose model is its best
//     evaluation's (train.early_stop) counts as at span.total where training reached it
//     or the early stop ended it.
// A restart from a checkpoint trained on another number of examples than span.examples
// is refused unless restart.force (checkpoints of older versions do not record it).
StartPoint choose_start(const RunConfig& config, const RestartOptions& restart,
                        const RunPaths& paths, StepSpan span, const Communicator& comm);

// Where training starts, and what the run has logged before it: nothing for a fresh
// run, the checkpoint's rows for a restart.
struct Progress {
  std::int64_t start_step = 0;
  TrainingWindow window;
  std::vector<HistoryRow> history;    // every row of this run, from its first step
  std::vector<EvalRow> eval_history;  // every evaluation of this run
  // What the run's data is standardized by (data.standardize): a restart's checkpoint's
  // until run_train has checked it against the data's; then the data's.
  Standardization standardization;
  // A restart's checkpoint's class names (those of the data it was trained on; empty
  // where that data named none): run_train holds the data's against them.
  std::vector<std::string> class_names;
  // A restart's checkpoint's training checksum (DataChecksum::packed; 0: not recorded),
  // which run_train holds the data's against.
  std::uint64_t train_checksum = 0;
  bool resumed = false;  // from a checkpoint
};

// Where training starts: the checkpoint start.from, checked against the deck (unless
// `force`) and restored into the trainer and the parameters; or else a fresh start, the
// random initialisation (or model.init_from's) of rank 0 on every rank. Collective; the
// errors are agreed. Call it before the run file is created, so that a run file can be
// its own restart point.
Progress resume_or_initialise(const RunConfig& config, const StartPoint& start, bool force,
                              Communicator& comm, Trainer& trainer, ParameterStore<Real>& store,
                              std::ostream& log);

// The model's parameters and optimizer state, with the rows logged so far, as a
// checkpoint (host copies).
Checkpoint make_checkpoint(const RunConfig& config, const Communicator& comm,
                           const Trainer& trainer, const ParameterStore<Real>& store,
                           const Progress& progress);

}  // namespace kbnn

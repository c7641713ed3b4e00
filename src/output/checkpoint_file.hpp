// Checkpoint files: the training state (train/checkpoint.hpp) in HDF5. Randomness is
// keyed by (seed, step), so parameters, optimizer moments, the step counters and the
// seed are all training needs; the window of sums since the last row keeps the next
// logged row exact, the history keeps a resumed run file whole, and a pruned model's
// keep mask stays pruned. The resolved deck rides along: a restart compares its model,
// seed, batch and optimizer with the new deck's (restart_mismatch, app/deck.cpp), then
// checks the parameter and buffer counts.
//
// Layout (the same in a checkpoint file and in a run file's /checkpoint group):
//   /checkpoint                 attributes step, seed, ranks, optimizer_steps,
//                               state_names (in order), deck, window_images,
//                               train_examples (the training set's size; newer files),
//                               train_checksum (its rows' CRC-32s, features in the high
//                               32 bits, labels or targets in the low; newer files),
//                               trained_to and ended_early (train.early_stop: the step
//                               training reached, and whether the early stop ended it,
//                               where this is the best evaluation's earlier state)
//                               class_names (where the training data names its classes)
//   /checkpoint/parameters      float32 (n): the flat parameter buffer
//   /checkpoint/state/<name>    float32 (n): one per optimizer buffer, e.g. adam_m
//   /checkpoint/history/<field> the run's history rows up to `step` (as /history, one
//                               chunk), so a resumed run file holds the whole history
//   /checkpoint/history/eval/<field>  its evaluation rows (as /history/eval)
//   /checkpoint/window_nll_sum, window_correct  float64 (ranks), and the attribute
//                               window_images: what the trainer had summed since the
//                               last row (TrainingWindow; zeros at a logged step)
//   /checkpoint/keep            uint8 (Gaussian weights), only in a pruned model: the
//                               pruning mask (1 kept, 0 removed; kbnn prune), which a
//                               run resumed from it keeps
//   /checkpoint/standardization/{feature,target}_{mean,std}  float64, only with
//                               data.standardize: what the model's inputs were shifted
//                               and scaled by (data/standardize.hpp)
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parallel/communicator.hpp"
#include "train/checkpoint.hpp"

namespace kbnn {

// Collective. Writes `path` atomically: into "<path>.tmp" first, then rank 0 renames
// it over `path`, so a kill never leaves a broken checkpoint (the previous one stays
// until the new one is complete). Every rank returns only after the rename. Data is
// written by rank 0 alone; all ranks pass the same Checkpoint.
void write_checkpoint(const std::string& path, const Communicator& comm, const Checkpoint& c);

// Collective: rank 0 reads /checkpoint from a checkpoint or a run file and broadcasts
// it, so every rank gets the same Checkpoint (and the same InputError on bad input).
// `group` names another group of the same layout (an ensemble member's
// members/<k>/checkpoint).
Checkpoint read_checkpoint(const std::string& path, const Communicator& comm,
                           const std::string& group = "checkpoint");

// Where the checkpoint in `path` (a checkpoint or run file) stands: its step, and the
// size of the training set its epochs count (0: not recorded, older versions). Read on
// this rank alone; InputError if there is none.
struct CheckpointPlace {
  std::int64_t step = 0, train_examples = 0;
  std::int64_t trained_to = 0;  // Checkpoint::trained_to and ended_early
  bool ended_early = false;
};
CheckpointPlace read_checkpoint_place(const std::string& path);
// The same from a /checkpoint group already open; `where` names it in messages.
CheckpointPlace read_checkpoint_place(hid_t checkpoint, const std::string& where);

namespace detail {
// Throws RuntimeError if the state buffers do not match the names and parameters.
void check_checkpoint(const Checkpoint& c, const std::string& path);
// Creates and fills /checkpoint in an open collective file (every rank calls it; rank
// `writer` == true writes the data). Shared by write_checkpoint and RunFile.
void write_checkpoint_group(hid_t file, bool writer, const Checkpoint& c,
                            const std::string& path);
// Collective: `write` makes the complete, closed file `tmp` = path + ".tmp", then rank 0
// renames it over `path` (atomic on POSIX file systems); every rank returns once it is in
// place. On an error `tmp` is removed and `path` is left as it was (the message says so
// unless the error was agreed).
void write_atomically(const std::string& path, const Communicator& comm,
                      const std::function<void(const std::string& tmp)>& write);
// <parent>/standardization: the numbers of `s` that it has (collective; `writer` writes),
// and read back (empty without the group). Shared by the checkpoint and the run file.
void write_standardization_group(hid_t parent, bool writer, const Standardization& s,
                                 const std::string& where);
Standardization read_standardization_group(hid_t parent, const std::string& where);
}  // namespace detail

}  // namespace kbnn

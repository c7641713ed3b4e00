// Checkpoints: the state that resumes training bit-for-bit. Randomness is keyed by
// (seed, step), so parameters, optimizer moments, the step counters and the seed are
// all it takes; the resolved deck rides along as a record of what was trained (a
// restart checks only that the model's parameter and buffer counts match).
//
// Layout (the same in a checkpoint file and in a run file's /checkpoint group):
//   /checkpoint                 attributes step, seed, ranks, optimizer_steps,
//                               state_names (in order), deck
//   /checkpoint/parameters      float32 (n): the flat parameter buffer
//   /checkpoint/state/<name>    float32 (n): one per optimizer buffer, e.g. adam_m
//   /checkpoint/history/<field> the run's history rows up to `step` (as /history), so a
//                               resumed run file holds the whole history
//   /checkpoint/history/eval/<field>  its evaluation rows (as /history/eval)
//   /checkpoint/window_nll_sum, window_correct  float64 (ranks), and the attribute
//                               window_images: what the trainer had summed since the
//                               last row (TrainingWindow; empty at a logged step)
//   /checkpoint/keep            uint8 (Gaussian weights), only in a pruned model: the
//                               pruning mask (1 kept, 0 removed; kbnn prune), which a
//                               run resumed from it keeps
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/parameter_store.hpp"
#include "io/history.hpp"
#include "parallel/communicator.hpp"

namespace kbnn {

struct Checkpoint {
  std::int64_t step = 0;             // optimizer steps completed
  std::uint64_t seed = 0;
  int ranks = 1;                     // rank count that wrote it
  std::int64_t optimizer_steps = 0;  // Adam's t
  std::vector<float> parameters;     // (n): the flat parameter buffer
  std::vector<std::string> state_names;     // e.g. {"adam_m", "adam_v"} or {"sgd_velocity"}
  std::vector<std::vector<float>> state;    // (names, n): one buffer per name
  std::string deck_text;             // the resolved deck it was trained with
  std::vector<HistoryRow> history;   // every logged row up to `step`
  std::vector<EvalRow> eval_history;  // every evaluation up to `step`
  TrainingWindow window;             // sums since the last logged row
  std::vector<std::uint8_t> keep;    // (Gaussian weights): the pruning mask; empty: none pruned
};

// Collective. Writes `path` atomically: into "<path>.tmp" first, then rank 0 renames
// it over `path`, so a kill never leaves a broken checkpoint (the previous one stays
// until the new one is complete). Every rank returns only after the rename. Data is
// written by rank 0 alone; all ranks pass the same Checkpoint.
void write_checkpoint(const std::string& path, const Communicator& comm, const Checkpoint& c);

// Collective: rank 0 reads /checkpoint from a checkpoint or a run file and broadcasts
// it, so every rank gets the same Checkpoint (and the same InputError on bad input).
Checkpoint read_checkpoint(const std::string& path, const Communicator& comm);

// Loads c's parameters and keep mask (all ones when c.keep is empty) into `store`;
// an InputError naming `path` if the sizes differ from the model's.
void load_parameters(const Checkpoint& c, const std::string& path, const ParameterStore<Real>& store);
// A host copy of the store's keep mask, or an empty vector when nothing is pruned.
std::vector<std::uint8_t> keep_mask_of(const ParameterStore<Real>& store);

namespace detail {
// Throws RuntimeError if the state buffers do not match the names and parameters.
void check_checkpoint(const Checkpoint& c, const std::string& path);
// Creates and fills /checkpoint in an open collective file (every rank calls it; rank
// `writer` == true writes the data). Shared by write_checkpoint and RunFile.
void write_checkpoint_group(hid_t file, bool writer, const Checkpoint& c,
                            const std::string& path);
// Writes field f of `rows` into rows [first, first + rows) of its 1-D dataset (int64 for
// step, float64 otherwise), collectively; the writer rank alone supplies the data.
// Shared by the checkpoint's history and RunFile's /history (and their eval rows).
void write_history_field(hid_t dataset, const HistoryField& f, const std::vector<HistoryRow>& rows,
                         hsize_t first, bool writer, const std::string& what);
void write_history_field(hid_t dataset, const EvalField& f, const std::vector<EvalRow>& rows,
                         hsize_t first, bool writer, const std::string& what);
}  // namespace detail

}  // namespace kbnn

// The training state that resumes a run bit for bit (docs/design.md, "The restart
// contract"): plain host data, which output/checkpoint_file.hpp writes and reads.
#pragma once

#include "core/parameter_store.hpp"
#include "data/standardize.hpp"
#include "train/history.hpp"

#include <cstdint>
#include <string>
#include <vector>

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
  // data.standardize: the training rows' means and deviations the model was trained on
  // (empty: none), which kbnn predict and prune apply to their data.
  Standardization standardization;
  Shape input{1, 1, 0};              // the images the model takes; 0 channels: not recorded
  // The training set's size, which an epoch's steps and shuffle depend on: a restart
  // must train on as many examples. 0: not recorded (checkpoints of older versions).
  std::int64_t train_examples = 0;
  // The training rows' checksum (data/data_checksum.hpp, DataChecksum::packed): a restart
  // must train on the same data. 0: not recorded (checkpoints of older versions).
  std::uint64_t train_checksum = 0;
  // train.early_stop: a run's final state is its best evaluation's (this step), while
  // training went on to trained_to, and ended_early says whether the early stop ended
  // it (else train.epochs did). 0 and false in every other checkpoint.
  std::int64_t trained_to = 0;
  bool ended_early = false;
  // The training set's class names, class k first (Dataset::class_names); empty: unnamed
  // (a regression, data without names, checkpoints of older versions).
  std::vector<std::string> class_names;
};

// Loads c's parameters and keep mask (all ones when c.keep is empty) into `store`;
// an InputError naming `path` if the sizes differ from the model's.
void load_parameters(const Checkpoint& c, const std::string& path, const ParameterStore<Real>& store);
// A host copy of the store's keep mask, or an empty vector when nothing is pruned.
std::vector<std::uint8_t> keep_mask_of(const ParameterStore<Real>& store);

}  // namespace kbnn

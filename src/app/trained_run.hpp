// A trained model file as `kbnn predict` and `kbnn prune` take it: a run file or
// checkpoint, which carries its resolved deck, its parameters and (pruned) its keep mask;
// or an ensemble's run file, whose members' checkpoints are /members/<k>/checkpoint
// (output/ensemble_file.hpp).
#pragma once

#include "app/deck.hpp"
#include "output/checkpoint_file.hpp"
#include "data/data_split.hpp"
#include "model/sequential.hpp"
#include "parallel/communicator.hpp"

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace kbnn {

// Where one checkpoint is: a file and the group in it.
struct CheckpointSource {
  std::string path;
  std::string group = "checkpoint";
};

struct TrainedRun {
  Checkpoint checkpoint;  // an ensemble's: member 0's
  // Its deck, with the command's overrides; an ensemble's is member 0's (whose seed is
  // the ensemble's train.seed) with parallel.ensemble = the members.
  RunConfig config;
  std::vector<CheckpointSource> members;  // an ensemble's members in order; empty: one model
  // Where eval.temperature's T comes from, for the log: "" (the deck's number), the
  // fitted T read from the file's /calibration, or why T = 1 stands in for a fit.
  std::string temperature_note;
};

// Collective: reads `path` and its deck with `overrides`. Only what is read and how it
// is evaluated may change (data.*, eval.*, ood.*): another option is an InputError
// naming `command`. Any ood.* option replaces the deck's whole [ood] section, since a
// new OOD set shares nothing with the one the model was trained with. With
// eval.temperature = fit, config.eval.temperature becomes the T the file holds in
// /calibration (or 1 where it holds none: a checkpoint).
TrainedRun read_trained_run(const std::string& path, const std::vector<std::string>& overrides,
                            const std::string& command, const Communicator& comm);

// The line "temperature: ..." saying which T the run's predictions use; nothing at T = 1
// from the deck.
void log_temperature(const TrainedRun& run, std::ostream& log);

// The run's model for examples like the set's, with the checkpoint's parameters and keep
// mask. The set's examples must have the shape the model was trained on (InputError naming
// both; call it before apply_standardization, whose own check names only the
// standardization's width). A classifier's set takes the model's classes
// (take_model_classes: InputError if a label does not fit them), and names them as the
// model does where both name them (check_class_names); a regression set's
// targets must be the model's (InputError), and a set without targets takes them
// (take_model_targets).
std::unique_ptr<Sequential<Real>> trained_model(const TrainedRun& run, const std::string& path,
                                                Split& set);

}  // namespace kbnn

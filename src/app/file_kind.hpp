// What kind of file kbnn wrote, told from what it holds (files of older versions
// included): the first line of `kbnn info`, and what `kbnn predict` and `kbnn prune` may
// write over (app/output_guard.hpp).
#pragma once

#include <hdf5.h>

#include <optional>
#include <string>

namespace kbnn {

enum class FileKind {
  finished_run,
  stopped_run,
  unfinished_run,
  predictions,
  pruning,
  checkpoint,
  pruned_checkpoint,
  finished_ensemble,
  unfinished_ensemble,
  ensemble_checkpoint,
  step_dump  // debug.dump_file (train/step_dump.hpp)
};

// "run file of a finished run", "prediction file (kbnn predict)", ...
const char* kind_text(FileKind k);

// Whether the open file has the layout of a step dump (/initial, /steps and the root
// attribute steps); dumps of an older kbnn have it without kbnn_version.
bool is_step_dump(hid_t file);

// The kind of the open kbnn file `file` (it has a kbnn_version attribute); InputError
// naming `path` for a kbnn file of no kind this version knows.
FileKind kind_of(hid_t file, const std::string& path);

// The kind of the file at `path`, read serially (call it on one rank); nothing when it
// is not a file kbnn wrote (not HDF5, unreadable, no kbnn_version attribute, or of no
// kind this version knows).
std::optional<FileKind> file_kind(const std::string& path);

}  // namespace kbnn

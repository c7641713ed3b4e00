#include "app/file_kind.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/file.hpp"
#include "h5/handle.hpp"

namespace kbnn {

const char* kind_text(FileKind k) {
  switch (k) {
    case FileKind::finished_run: return "run file of a finished run";
    case FileKind::stopped_run: return "run file of a run that a signal stopped";
    case FileKind::unfinished_run:
      return "run file of an unfinished run (still training, or it died before the end)";
    case FileKind::predictions: return "prediction file (kbnn predict)";
    case FileKind::pruning: return "pruning file (kbnn prune)";
    case FileKind::checkpoint: return "checkpoint";
    case FileKind::pruned_checkpoint: return "checkpoint of a pruned model (kbnn prune)";
    case FileKind::finished_ensemble: return "run file of a finished ensemble";
    case FileKind::unfinished_ensemble:
      return "run file of an unfinished ensemble (its members still being copied in, or it "
             "died before the end)";
    case FileKind::ensemble_checkpoint:
      return "checkpoint of an ensemble (kbnn prune: every member pruned)";
    case FileKind::step_dump:
      return "step dump (debug.dump_file: the first training steps, to replay elsewhere)";
  }
  return "";
}

bool is_step_dump(hid_t file) {
  return h5::exists(file, "initial") && h5::exists(file, "steps") &&
         h5::has_attribute(file, "steps");
}

// What kind of kbnn file it is, from what it holds (files of older versions included).
FileKind kind_of(hid_t file, const std::string& path) {
  if (is_step_dump(file)) return FileKind::step_dump;
  if (h5::exists(file, "pruning")) return FileKind::pruning;
  if (h5::has_attribute(file, "ensemble_groups")) {  // a trained ensemble's run file
    const bool finished =
        h5::has_attribute(file, "status") && h5::read_string_attribute(file, "status") == "finished";
    return finished ? FileKind::finished_ensemble : FileKind::unfinished_ensemble;
  }
  if (h5::exists(file, "members") && !h5::has_attribute(file, "deck"))
    return FileKind::ensemble_checkpoint;
  if (h5::exists(file, "history")) {
    const std::string status =
        h5::has_attribute(file, "status") ? h5::read_string_attribute(file, "status") : "";
    if (status == "finished") return FileKind::finished_run;
    if (status == "stopped") return FileKind::stopped_run;
    const bool whole = h5::exists(file, "checkpoint") && h5::exists(file, "metrics");
    return status.empty() && whole ? FileKind::finished_run : FileKind::unfinished_run;
  }
  if (h5::has_attribute(file, "deck") && h5::exists(file, "predictions"))
    return FileKind::predictions;
  if (h5::exists(file, "checkpoint"))
    return h5::exists(file, "checkpoint/keep") ? FileKind::pruned_checkpoint : FileKind::checkpoint;
  throw InputError(concat(path,
                          ": a kbnn file of no kind kbnn info knows (no /history, "
                          "/checkpoint, /pruning, /predictions or /steps)"));
}

std::optional<FileKind> file_kind(const std::string& path) {
  const h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) return std::nullopt;
  const h5::SerialFile file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (file < 0) return std::nullopt;
  if (!h5::has_attribute(file, "kbnn_version"))  // an older kbnn's step dump had none
    return is_step_dump(file) ? std::optional(FileKind::step_dump) : std::nullopt;
  try {
    return kind_of(file, path);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

}  // namespace kbnn

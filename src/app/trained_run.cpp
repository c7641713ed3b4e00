#include "app/trained_run.hpp"

#include "app/eval_sets.hpp"
#include "app/file_kind.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "model/build_model.hpp"
#include "output/ensemble_file.hpp"
#include "output/run_file.hpp"
#include "parallel/agree.hpp"

#include <ostream>

namespace kbnn {

namespace {

void check_overrides(const std::vector<std::string>& overrides, const std::string& command) {
  for (const std::string& o : overrides) {
    const bool allowed = o.rfind("--data.", 0) == 0 || o.rfind("--eval.", 0) == 0 ||
                         o.rfind("--ood.", 0) == 0 || o.rfind("--", 0) != 0;
    if (!allowed)
      throw InputError(concat(command, ": ", o.substr(0, o.find('=')),
                              ": only data.*, eval.* and ood.* options apply to a trained "
                              "model"));
  }
}

// A file kbnn wrote that holds no model (a prediction or pruning file, a step dump) is
// named for what it is, rather than for the /checkpoint group it lacks.
void refuse_modelless_kinds(const std::string& path, const std::string& command,
                            const Communicator& comm) {
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    const std::optional<FileKind> kind = file_kind(path);
    if (kind == FileKind::predictions || kind == FileKind::pruning || kind == FileKind::step_dump)
      throw InputError(concat(path, " is a ", kind_text(*kind), ", not a model (kbnn info ", path,
                              "): ", command, " reads a run file or a checkpoint"));
  });
}

// The ood.* options not given go back to their defaults when any is given.
std::vector<std::string> with_ood_reset(std::vector<std::string> overrides) {
  const char* keys[] = {"format", "dir", "file", "limit", "shift", "name"};
  const char* defaults[] = {"", "", "", "0", "none", ""};
  bool any = false, given[6] = {};
  for (const std::string& o : overrides)
    for (int k = 0; k < 6; ++k) {
      const std::string option = concat("--ood.", keys[k]);
      if (o == option || o.rfind(option + "=", 0) == 0) any = given[k] = true;
    }
  if (!any) return overrides;
  for (int k = 0; k < 6; ++k)
    if (!given[k]) {  // "--k v": Boost takes no empty value after '='
      overrides.push_back(concat("--ood.", keys[k]));
      overrides.push_back(defaults[k]);
    }
  return overrides;
}

// eval.temperature = fit: the T fitted when the run (or ensemble) finished training.
void resolve_temperature(const std::string& path, const Communicator& comm, TrainedRun& run) {
  Temperature& t = run.config.eval.temperature;
  if (!t.fit) return;
  const std::optional<double> fitted = stored_temperature(path, comm);
  t = Temperature{false, fitted.value_or(1.0)};
  run.temperature_note =
      fitted ? concat(format("T = %.4f", *fitted), ", fitted to the validation examples (", path,
                      ": /calibration)")
             : concat("T = 1: eval.temperature = fit, but ", path, " holds no fitted "
                      "temperature (/calibration: a checkpoint has none; the finished run's "
                      "file has it, and --eval.temperature=<T> sets one)");
}

}  // namespace

TrainedRun read_trained_run(const std::string& path, const std::vector<std::string>& overrides,
                            const std::string& command, const Communicator& comm) {
  check_overrides(overrides, command);
  refuse_modelless_kinds(path, command, comm);
  TrainedRun run;
  const int members = stored_ensemble_members(path, comm);
  for (int k = 0; members > 1 && k < members; ++k)
    run.members.push_back({path, member_checkpoint_group(k)});
  run.checkpoint = run.members.empty() ? read_checkpoint(path, comm)
                                       : read_checkpoint(path, comm, run.members[0].group);
  run.config = parse_deck_text(run.checkpoint.deck_text, path + ": deck", with_ood_reset(overrides));
  run.config.deck_path = path;
  run.config.parallel.ensemble = members;
  resolve_temperature(path, comm, run);
  return run;
}

void log_temperature(const TrainedRun& run, std::ostream& log) {
  const double t = run.config.eval.temperature.value;
  if (!run.temperature_note.empty())
    log << "temperature: " << run.temperature_note << std::endl;
  else if (t != 1)
    log << format("temperature: T = %.4f (eval.temperature)", t) << std::endl;
}

std::unique_ptr<Sequential<Real>> trained_model(const TrainedRun& run, const std::string& path,
                                                Split& set) {
  const RunConfig& config = run.config;
  const Dataset& data = set.rows;
  // Data of another shape would fail later as a layer that does not fit, or as
  // parameters that do not match the checkpoint's: name the shapes instead.
  const Shape trained = run.checkpoint.input;
  if (trained.channels > 0 && (trained.height != data.height || trained.width != data.width ||
                               trained.channels != data.channels))
    throw InputError(concat(data.source, ": examples of ", shape_text(data), ", but the model ",
                            path, " was trained on examples of ",
                            shape_text(trained.height, trained.width, trained.channels)));
  auto model = build_model<Real>(config.model, Shape{data.height, data.width, data.channels});
  const auto outputs = model->output_shape().size();
  if (!config.model.regression()) {
    take_model_classes(set, int(outputs));
    check_class_names(data, run.checkpoint.class_names, concat("the model ", path));
  } else {
    take_model_targets(set, int(outputs / 2));  // a mean and a variance per target
    const std::string mismatch = output_mismatch(config.model, outputs, data);
    if (!mismatch.empty())
      throw InputError(concat(data.source, ": the model ", path, ": ", mismatch));
  }
  model->finalize(config.train.seed, int(config.eval.batch_size));
  load_parameters(run.checkpoint, path, model->parameters());
  return model;
}

}  // namespace kbnn

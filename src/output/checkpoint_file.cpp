// Checkpoints: written collectively into a temporary file and renamed into place;
// read by rank 0 and broadcast, so a thousand ranks do not each open the file and
// every rank sees the same data and the same error.
#include "output/checkpoint_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "core/path_note.hpp"
#include "h5/attribute.hpp"
#include "h5/file.hpp"
#include "h5/rows.hpp"
#include "output/row_table.hpp"
#include "parallel/agree.hpp"

namespace kbnn {
namespace detail {

void check_checkpoint(const Checkpoint& c, const std::string& path) {
  // The same Checkpoint arrives on every rank, so these checks fail on all or none.
  const std::string where = path + ": /checkpoint";
  if (c.state_names.size() != c.state.size())
    throw RuntimeError(concat(where, ": ", c.state_names.size(), " state names but ",
                              c.state.size(), " state buffers"));
  std::set<std::string> seen;
  for (std::size_t i = 0; i < c.state.size(); ++i) {
    const std::string& name = c.state_names[i];
    if (name.empty() || name.find('/') != std::string::npos || !seen.insert(name).second)
      throw RuntimeError(concat(where, ": state name '", name,
                                "' must be non-empty, unique and contain no '/'"));
    if (c.state[i].size() != c.parameters.size())
      throw RuntimeError(concat(where, ": state ", name, " has ", c.state[i].size(),
                                " values, parameters ", c.parameters.size()));
  }
  // mu and rho of each Gaussian weight come first in the parameters.
  if (2 * c.keep.size() > c.parameters.size())
    throw RuntimeError(concat(where, ": a keep mask of ", c.keep.size(), " weights but only ",
                              c.parameters.size(), " parameters"));
}

namespace {

// What `h5dump -A` shows for /checkpoint: every attribute and member.
constexpr const char* kGroupDescription =
    "training state to resume bit-for-bit: step (optimizer steps completed), seed (Philox "
    "key; noise is keyed by seed and step), ranks (rank count that wrote it), "
    "optimizer_steps (Adam's t), state_names (optimizer buffers in state/, in order), deck "
    "(the resolved input deck), input_shape (height, width, channels of the images the "
    "model takes), train_examples (the training set's size, which an epoch's steps "
    "depend on), train_checksum (CRC-32 of the training rows' features in the high 32 "
    "bits, of their labels or targets in the low 32, as read from disk), window_images "
    "(examples trained on since the last history row, whose per-rank sums are "
    "window_nll_sum and window_correct); parameters; keep (the pruning mask, only in a "
    "pruned model); history/ (the rows logged up to step)";

// Named only where present, so a run without standardization or class names describes
// its checkpoint as before.
constexpr const char* kStandardizationDescription =
    "; standardization/ (data.standardize: the training rows' feature_mean, feature_std "
    "and, for real targets, target_mean, target_std, which prediction applies)";
constexpr const char* kEarlyStopDescription =
    "; trained_to, ended_early (train.early_stop: this is the best evaluation's state, "
    "training went on to step trained_to, and ended_early = 1 where the early stop ended "
    "it)";
constexpr const char* kClassNamesDescription =
    "; class_names (the classes' names, class 0 first, as the training data names them)";

std::vector<std::int64_t> input_shape_of(const Shape& s) {
  return {s.height, s.width, s.channels};
}

void write_attributes(hid_t g, const Checkpoint& c) {
  h5::describe(g, "", std::string(kGroupDescription) +
                          (c.standardization.empty() ? "" : kStandardizationDescription) +
                          (c.class_names.empty() ? "" : kClassNamesDescription) +
                          (c.trained_to > 0 ? kEarlyStopDescription : ""));
  h5::write_attribute(g, "step", c.step);
  h5::write_attribute(g, "seed", c.seed);
  h5::write_attribute(g, "ranks", std::int32_t(c.ranks));
  h5::write_attribute(g, "optimizer_steps", c.optimizer_steps);
  h5::write_attribute(g, "state_names", c.state_names);
  h5::write_attribute(g, "deck", c.deck_text);
  h5::write_attribute(g, "window_images", c.window.images);
  if (c.input.channels > 0) h5::write_attribute(g, "input_shape", input_shape_of(c.input));
  if (c.train_examples > 0) h5::write_attribute(g, "train_examples", c.train_examples);
  if (c.train_checksum != 0) h5::write_attribute(g, "train_checksum", c.train_checksum);
  if (c.trained_to > 0) {
    h5::write_attribute(g, "trained_to", c.trained_to);
    h5::write_attribute(g, "ended_early", std::int32_t(c.ended_early));
  }
  if (!c.class_names.empty()) h5::write_attribute(g, "class_names", c.class_names);
}

// parameters and state/<name>: float32, all as long as the parameters.
void write_buffers(hid_t g, bool writer, const Checkpoint& c, const std::string& where) {
  h5::write_column(g, "parameters", c.parameters, writer, "",
                   "the flat parameter buffer: every layer's mu and rho (and biases), float32",
                   where + "/parameters");
  const h5::Group state = h5::create_group(g, "state");
  h5::describe(state, "", "optimizer buffers, one per state_names entry, each as long as "
                          "parameters");
  for (std::size_t i = 0; i < c.state.size(); ++i)
    h5::write_column(state, c.state_names[i], c.state[i], writer, "",
                     concat("optimizer buffer ", c.state_names[i],
                            ", element i belongs to parameter i"),
                     concat(where, "/state/", c.state_names[i]));
}

// The trainer's sums since the last history row (TrainingWindow), and the pruning mask.
void write_window_and_keep(hid_t g, bool writer, const Checkpoint& c, const std::string& where) {
  const char* sums = "each rank's sum since the last history row (zeros at a logged step)";
  h5::write_column(g, "window_nll_sum", c.window.nll_sum, writer, "", sums,
                   where + "/window_nll_sum");
  h5::write_column(g, "window_correct", c.window.correct, writer, "", sums,
                   where + "/window_correct");
  if (c.keep.empty()) return;
  h5::write_column(g, "keep", c.keep, writer, "",
                   "the pruning mask of the Gaussian weights, in the order of their mu in "
                   "parameters: 1 kept, 0 removed (mu = 0, never drawn, not in the KL)",
                   where + "/keep");
}

// history/ and history/eval/: the rows up to step, as /history of a run file.
void write_history(hid_t g, bool writer, const Checkpoint& c, const std::string& where) {
  const h5::Group history = h5::create_group(g, "history");
  h5::describe(history, "", "the run's history rows up to step, as /history of a run file");
  write_row_table(history, history_fields, c.history, writer, where + "/history");
  const h5::Group eval = h5::create_group(history, "eval");
  h5::describe(eval, "", "the run's evaluation rows up to step, as /history/eval of a run file");
  write_row_table(eval, eval_fields, c.eval_history, writer, where + "/history/eval");
}

}  // namespace

void write_standardization_group(hid_t parent, bool writer, const Standardization& s,
                                 const std::string& where) {
  const h5::Group g = h5::create_group(parent, "standardization");
  h5::describe(g, "", "data.standardize: every feature (and real target) was shifted by "
                      "the training rows' mean and divided by their standard deviation "
                      "(population) before the network saw it");
  const auto column = [&](const char* name, const std::vector<double>& values, const char* what) {
    if (!values.empty())
      h5::write_column(g, name, values, writer, "", what, concat(where, "/standardization/", name));
  };
  column("feature_mean", s.feature_mean, "mean of each feature over the training rows (HWC order)");
  column("feature_std", s.feature_std, "standard deviation of each feature (1 where constant)");
  column("target_mean", s.target_mean, "mean of each target over the training rows");
  column("target_std", s.target_std, "standard deviation of each target (1 where constant)");
}

Standardization read_standardization_group(hid_t parent, const std::string& where) {
  Standardization s;
  if (!h5::exists(parent, "standardization")) return s;
  const h5::Group g = h5::open_group(parent, "standardization");
  const auto column = [&](const char* name, std::vector<double>& values) {
    if (h5::exists(g, name))
      values = h5::read_column<double>(g, name, concat(where, "/standardization/", name));
  };
  column("feature_mean", s.feature_mean);
  column("feature_std", s.feature_std);
  column("target_mean", s.target_mean);
  column("target_std", s.target_std);
  if (s.feature_mean.size() != s.feature_std.size() || s.target_mean.size() != s.target_std.size())
    throw InputError(concat(where, "/standardization: means and deviations of different lengths"));
  return s;
}

void write_checkpoint_group(hid_t file, bool writer, const Checkpoint& c,
                            const std::string& path) {
  check_checkpoint(c, path);
  const std::string where = path + ": /checkpoint";
  const h5::Group g = h5::create_group(file, "checkpoint");
  write_attributes(g, c);
  write_buffers(g, writer, c, where);
  write_window_and_keep(g, writer, c, where);
  write_history(g, writer, c, where);
  if (!c.standardization.empty()) write_standardization_group(g, writer, c.standardization, where);
}

void write_atomically(const std::string& path, const Communicator& comm,
                      const std::function<void(const std::string& tmp)>& write) {
  const int rank = comm.rank();
  const std::string tmp = path + ".tmp";
  // On failure nothing is renamed: the previous file stays as it was. The half-written
  // one goes (emptied first: HDF5 holds it open until the job ends, and its last flush
  // then needs room on a disk that may be full).
  const auto discard = [&] {
    if (rank != 0) return;
    (void)::truncate(tmp.c_str(), 0);
    std::remove(tmp.c_str());
  };
  try {
    write(tmp);
  } catch (const RuntimeError& e) {
    discard();
    if (dynamic_cast<const AgreedRuntimeError*>(&e) != nullptr) throw;
    throw RuntimeError(concat(e.what(), "; ", path, " is as it was before"));
  } catch (...) {
    discard();
    throw;
  }

  // rename() replaces `path` atomically on POSIX file systems. The agreement after it
  // is also the barrier: no rank returns before the file is in place.
  agree_or_throw(comm.get(), [&] {
    if (rank == 0 && std::rename(tmp.c_str(), path.c_str()) != 0)
      throw RuntimeError(concat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  });
}

}  // namespace detail

namespace {

// ---- reading (rank 0) -----------------------------------------------------------

std::vector<float> read_floats(hid_t parent, const std::string& name, const std::string& where) {
  const std::string what = concat(where, "/", name);
  if (!h5::exists(parent, name)) throw InputError(concat(what, ": dataset missing"));
  const h5::DataSet d = h5::open_dataset(parent, name, what);
  const h5::Type type(KBNN_H5_CHECK_AT(H5Dget_type(d), what));
  // Bit-exact resume: refuse anything HDF5 would have to convert.
  if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != sizeof(float))
    throw InputError(concat(what, ": expected float32 values"));
  const h5::Space space(KBNN_H5_CHECK_AT(H5Dget_space(d), what));
  if (KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(space), what) != 1)
    throw InputError(concat(what, ": expected a 1-D dataset"));
  hsize_t n = 0;
  KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(space, &n, nullptr), what);
  std::vector<float> values(n);
  if (n > 0)
    KBNN_H5_CHECK_AT(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                     what);
  return values;
}

template <class T>
T required_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (!h5::has_attribute(object, name))
    throw InputError(concat(where, ": attribute '", name, "' missing"));
  return h5::read_attribute<T>(object, name);
}

// The history rows of /checkpoint/history and its eval rows (none in checkpoints of
// older versions).
void read_history(hid_t checkpoint, const std::string& where, Checkpoint& c) {
  if (!h5::exists(checkpoint, "history")) return;
  const h5::Group g = h5::open_group(checkpoint, "history");
  c.history = read_row_table(g, history_fields, where + "/history");
  if (!h5::exists(g, "eval")) return;
  c.eval_history = read_row_table(h5::open_group(g, "eval"), eval_fields, where + "/history/eval");
}

// train.early_stop's marks, where a run's final state is its best evaluation's.
void read_early_stop(hid_t g, std::int64_t& trained_to, bool& ended_early) {
  if (!h5::has_attribute(g, "trained_to")) return;
  trained_to = h5::read_attribute<std::int64_t>(g, "trained_to");
  ended_early = h5::has_attribute(g, "ended_early") &&
                h5::read_attribute<std::int32_t>(g, "ended_early") != 0;
}

void read_attributes(hid_t g, const std::string& where, Checkpoint& c) {
  c.step = required_attribute<std::int64_t>(g, "step", where);
  c.seed = required_attribute<std::uint64_t>(g, "seed", where);
  c.ranks = required_attribute<std::int32_t>(g, "ranks", where);
  c.optimizer_steps = required_attribute<std::int64_t>(g, "optimizer_steps", where);
  if (!h5::has_attribute(g, "state_names"))
    throw InputError(concat(where, ": attribute 'state_names' missing"));
  c.state_names = h5::read_string_attribute_array(g, "state_names");
  if (!h5::has_attribute(g, "deck")) throw InputError(concat(where, ": attribute 'deck' missing"));
  c.deck_text = h5::read_string_attribute(g, "deck");
  if (h5::has_attribute(g, "input_shape")) {  // not in checkpoints of older versions
    const auto shape = h5::read_attribute_array<std::int64_t>(g, "input_shape");
    if (shape.size() != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1)
      throw InputError(concat(where, ": attribute input_shape: expected height, width, channels"));
    c.input = Shape{int(shape[0]), int(shape[1]), int(shape[2])};
  }
  if (h5::has_attribute(g, "train_examples"))  // nor this
    c.train_examples = h5::read_attribute<std::int64_t>(g, "train_examples");
  if (h5::has_attribute(g, "train_checksum"))  // nor this
    c.train_checksum = h5::read_attribute<std::uint64_t>(g, "train_checksum");
  read_early_stop(g, c.trained_to, c.ended_early);
  if (h5::has_attribute(g, "class_names"))  // only where the training data named them
    c.class_names = h5::read_string_attribute_array(g, "class_names");
}

// The window of sums since the last row (older checkpoints: an empty window).
void read_window(hid_t g, const std::string& where, Checkpoint& c) {
  if (!h5::has_attribute(g, "window_images")) return;
  c.window.images = h5::read_attribute<std::int64_t>(g, "window_images");
  c.window.nll_sum = h5::read_column<double>(g, "window_nll_sum", where + "/window_nll_sum");
  c.window.correct = h5::read_column<double>(g, "window_correct", where + "/window_correct");
}

// parameters, the keep mask of a pruned model, and the optimizer buffers.
void read_buffers(hid_t g, const std::string& where, Checkpoint& c) {
  c.parameters = read_floats(g, "parameters", where);
  if (h5::exists(g, "keep")) {
    c.keep = h5::read_column<std::uint8_t>(g, "keep", where + "/keep");
    if (2 * c.keep.size() > c.parameters.size())
      throw InputError(concat(where, "/keep: ", c.keep.size(), " weights, but parameters has ",
                              c.parameters.size(), " values"));
  }
  if (c.state_names.empty()) return;
  if (!h5::exists(g, "state"))
    throw InputError(concat(where, "/state: group missing (state_names lists ",
                            c.state_names.size(), " buffers)"));
  const h5::Group state = h5::open_group(g, "state");
  for (const std::string& name : c.state_names) {
    c.state.push_back(read_floats(state, name, where + "/state"));
    if (c.state.back().size() != c.parameters.size())
      throw InputError(concat(where, "/state/", name, ": ", c.state.back().size(),
                              " values, but parameters has ", c.parameters.size()));
  }
}

// The checkpoint or run file's `group` (/checkpoint, or an ensemble member's
// members/<k>/checkpoint), open for reading on this rank.
struct OpenCheckpoint {
  h5::SerialFile file;
  h5::Group group;
};

OpenCheckpoint open_checkpoint(const std::string& path, const std::string& group) {
  require_regular_file(path, "a kbnn checkpoint or run file",
                       "no such file (expected a kbnn checkpoint or run file)");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(concat(path, ": not an HDF5 file (expected a kbnn checkpoint or run file)"));
  h5::SerialFile file(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  if (!h5::exists(file, group))
    throw InputError(concat(path, ": no /", group, " group (not a kbnn checkpoint, or a run "
                                  "file of a run that ended before writing one)"));
  h5::Group g = h5::open_group(file, group);
  return {std::move(file), std::move(g)};
}

Checkpoint read_on_this_rank(const std::string& path, const std::string& group) {
  const OpenCheckpoint open = open_checkpoint(path, group);
  const hid_t g = open.group;
  const std::string where = concat(path, ": /", group);
  Checkpoint c;
  read_attributes(g, where, c);
  read_window(g, where, c);
  read_history(g, where, c);
  read_buffers(g, where, c);
  c.standardization = detail::read_standardization_group(g, where);
  return c;
}

// Every rank gets rank 0's checkpoint, bit for bit (floats travel as they are).
void broadcast(Checkpoint& c, const Communicator& comm) {
  const auto broadcast_vector = [&](auto& v) {  // floats and doubles travel bit for bit
    std::uint64_t size = v.size();
    comm.broadcast(&size, 1);
    v.resize(size);
    comm.broadcast(v.data(), size);
  };
  comm.broadcast(&c.step, 1);
  comm.broadcast(&c.seed, 1);
  comm.broadcast(&c.ranks, 1);
  comm.broadcast(&c.optimizer_steps, 1);
  comm.broadcast(&c.input.height, 1);
  comm.broadcast(&c.input.width, 1);
  comm.broadcast(&c.input.channels, 1);
  comm.broadcast(&c.train_examples, 1);
  comm.broadcast(&c.train_checksum, 1);
  comm.broadcast(&c.trained_to, 1);
  int ended_early = c.ended_early;
  comm.broadcast(&ended_early, 1);
  c.ended_early = ended_early != 0;
  broadcast_vector(c.parameters);
  broadcast_vector(c.keep);
  std::uint64_t buffers = c.state.size();
  comm.broadcast(&buffers, 1);
  c.state.resize(buffers);
  c.state_names.resize(buffers);
  for (std::size_t i = 0; i < buffers; ++i) {
    comm.broadcast(c.state_names[i]);
    broadcast_vector(c.state[i]);
  }
  comm.broadcast(c.deck_text);
  std::uint64_t names = c.class_names.size();
  comm.broadcast(&names, 1);
  c.class_names.resize(names);
  for (std::string& name : c.class_names) comm.broadcast(name);
  broadcast_vector(c.window.nll_sum);
  broadcast_vector(c.window.correct);
  comm.broadcast(&c.window.images, 1);
  // The rows are plain data (an int64 and doubles): they travel as bytes.
  const auto broadcast_rows = [&](auto& rows) {
    std::uint64_t count = rows.size();
    comm.broadcast(&count, 1);
    rows.resize(count);
    comm.broadcast(reinterpret_cast<char*>(rows.data()), count * sizeof(rows[0]));
  };
  broadcast_rows(c.history);
  broadcast_rows(c.eval_history);
  broadcast_vector(c.standardization.feature_mean);
  broadcast_vector(c.standardization.feature_std);
  broadcast_vector(c.standardization.target_mean);
  broadcast_vector(c.standardization.target_std);
}

}  // namespace

namespace {

// The checkpoint file at `tmp`, complete on disk (closed) when this returns.
void write_temporary(const std::string& tmp, int rank, const Communicator& comm,
                     const Checkpoint& c) {
  h5::CollectiveFile file = h5::create_collective_file(tmp, comm, "checkpoint file");
  h5::write_attribute(file, "description",
                      "kbnn checkpoint: the training state in /checkpoint (parameters, "
                      "optimizer buffers, the sums since the last history row, a pruned "
                      "model's keep mask) and the history up to its step, written "
                      "atomically (a .tmp file renamed into place)");
#ifdef KBNN_VERSION
  h5::write_attribute(file, "kbnn_version", KBNN_VERSION);
#endif
  detail::write_checkpoint_group(file, rank == 0, c, tmp);
  file.close();  // complete on disk before it takes the real name
}

}  // namespace

void write_checkpoint(const std::string& path, const Communicator& comm, const Checkpoint& c) {
  const h5::QuietErrors quiet;
  detail::check_checkpoint(c, path);  // before the file exists: nothing to clean up
  detail::write_atomically(path, comm, [&](const std::string& tmp) {
    write_temporary(tmp, comm.rank(), comm, c);
  });
}

CheckpointPlace read_checkpoint_place(hid_t checkpoint, const std::string& where) {
  CheckpointPlace place;
  place.step = required_attribute<std::int64_t>(checkpoint, "step", where);
  if (h5::has_attribute(checkpoint, "train_examples"))
    place.train_examples = h5::read_attribute<std::int64_t>(checkpoint, "train_examples");
  read_early_stop(checkpoint, place.trained_to, place.ended_early);
  return place;
}

CheckpointPlace read_checkpoint_place(const std::string& path) {
  const h5::QuietErrors quiet;
  return read_checkpoint_place(open_checkpoint(path, "checkpoint").group, path + ": /checkpoint");
}

Checkpoint read_checkpoint(const std::string& path, const Communicator& comm,
                           const std::string& group) {
  const h5::QuietErrors quiet;
  Checkpoint c;
  agree_or_throw(comm.get(), [&] {
    if (comm.is_root()) c = read_on_this_rank(path, group);
  });
  broadcast(c, comm);
  return c;
}

}  // namespace kbnn

// Checkpoints: written collectively into a temporary file and renamed into place;
// read by rank 0 and broadcast, so a thousand ranks do not each open the file and
// every rank sees the same data and the same error.
#include "io/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "io/hdf5_check.hpp"
#include "parallel/mpi_check.hpp"

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
}

void write_checkpoint_group(hid_t file, bool writer, const Checkpoint& c,
                            const std::string& path) {
  check_checkpoint(c, path);
  const std::string where = path + ": /checkpoint";
  const h5::Group g = h5::create_group(file, "checkpoint");
  h5::describe(g, "",
               "training state to resume bit-for-bit: step (optimizer steps completed), "
               "seed (Philox key; noise is keyed by seed and step), ranks (rank count "
               "that wrote it), optimizer_steps (Adam's t), state_names (optimizer "
               "buffers in state/, in order), deck (the resolved input deck)");
  h5::write_attribute(g, "step", c.step);
  h5::write_attribute(g, "seed", c.seed);
  h5::write_attribute(g, "ranks", std::int32_t(c.ranks));
  h5::write_attribute(g, "optimizer_steps", c.optimizer_steps);
  h5::write_attribute(g, "state_names", c.state_names);
  h5::write_attribute(g, "deck", c.deck_text);

  const hsize_t n = c.parameters.size();
  const hsize_t mine = writer ? n : 0;  // the same data everywhere: rank 0 writes it
  const h5::Space space(KBNN_H5_CHECK_AT(H5Screate_simple(1, &n, nullptr), where));
  auto write = [&](hid_t parent, const std::string& name, const std::vector<float>& values,
                   const std::string& description) {
    const std::string what = concat(where, "/", name);
    const h5::DataSet d(KBNN_H5_CHECK_AT(H5Dcreate2(parent, name.c_str(), H5T_IEEE_F32LE,
                                                    space, H5P_DEFAULT, H5P_DEFAULT,
                                                    H5P_DEFAULT),
                                         what));
    h5::describe(d, "", description);
    h5::write_rows(d, values.data(), 0, mine, what);
  };
  write(g, "parameters", c.parameters,
        "the flat parameter buffer: every layer's mu and rho (and biases), float32");
  const h5::Group state = h5::create_group(g, "state");
  h5::describe(state, "", "optimizer buffers, one per state_names entry, each as long as "
                          "parameters");
  for (std::size_t i = 0; i < c.state.size(); ++i)
    write(state, c.state_names[i], c.state[i],
          concat("optimizer buffer ", c.state_names[i], ", element i belongs to parameter i"));
}

}  // namespace detail

namespace {

// ---- reading (rank 0) -----------------------------------------------------------

std::vector<float> read_floats(hid_t parent, const std::string& name, const std::string& where) {
  const std::string what = concat(where, "/", name);
  if (!h5::exists(parent, name)) throw InputError(concat(what, ": dataset missing"));
  const h5::DataSet d(KBNN_H5_CHECK_AT(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), what));
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

Checkpoint read_on_this_rank(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(concat(path, ": no such checkpoint file"));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(concat(path, ": not an HDF5 file (expected a kbnn checkpoint or run file)"));
  const h5::SerialFile file(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                                             path));
  if (!h5::exists(file, "checkpoint"))
    throw InputError(concat(path, ": no /checkpoint group (not a kbnn checkpoint, or a run "
                                  "file of a run that ended before writing one)"));
  const std::string where = path + ": /checkpoint";
  const h5::Group g = h5::open_group(file, "checkpoint");

  Checkpoint c;
  c.step = required_attribute<std::int64_t>(g, "step", where);
  c.seed = required_attribute<std::uint64_t>(g, "seed", where);
  c.ranks = required_attribute<std::int32_t>(g, "ranks", where);
  c.optimizer_steps = required_attribute<std::int64_t>(g, "optimizer_steps", where);
  if (!h5::has_attribute(g, "state_names"))
    throw InputError(concat(where, ": attribute 'state_names' missing"));
  c.state_names = h5::read_string_attribute_array(g, "state_names");
  if (!h5::has_attribute(g, "deck")) throw InputError(concat(where, ": attribute 'deck' missing"));
  c.deck_text = h5::read_string_attribute(g, "deck");

  c.parameters = read_floats(g, "parameters", where);
  if (!c.state_names.empty() && !h5::exists(g, "state"))
    throw InputError(concat(where, "/state: group missing (state_names lists ",
                            c.state_names.size(), " buffers)"));
  if (c.state_names.empty()) return c;
  const h5::Group state = h5::open_group(g, "state");
  for (const std::string& name : c.state_names) {
    c.state.push_back(read_floats(state, name, where + "/state"));
    if (c.state.back().size() != c.parameters.size())
      throw InputError(concat(where, "/state/", name, ": ", c.state.back().size(),
                              " values, but parameters has ", c.parameters.size()));
  }
  return c;
}

// ---- broadcasting (from rank 0) ------------------------------------------------

template <class T>
void broadcast_value(T& value, MPI_Comm comm) {
  KBNN_MPI_CHECK(MPI_Bcast(&value, int(sizeof(T)), MPI_BYTE, 0, comm));
}

// MPI counts are int: big buffers go in pieces of at most 1 GiB.
void broadcast_bytes(void* data, std::size_t bytes, MPI_Comm comm) {
  constexpr std::size_t kPiece = std::size_t(1) << 30;
  char* p = static_cast<char*>(data);
  for (std::size_t done = 0; done < bytes; done += kPiece)
    KBNN_MPI_CHECK(MPI_Bcast(p + done, int(std::min(kPiece, bytes - done)), MPI_BYTE, 0, comm));
}

void broadcast_string(std::string& s, MPI_Comm comm) {
  std::uint64_t size = s.size();
  broadcast_value(size, comm);
  s.resize(size);
  broadcast_bytes(s.data(), size, comm);
}

void broadcast_floats(std::vector<float>& v, MPI_Comm comm) {
  std::uint64_t size = v.size();
  broadcast_value(size, comm);
  v.resize(size);
  broadcast_bytes(v.data(), size * sizeof(float), comm);  // bytes: bit-exact everywhere
}

void broadcast(Checkpoint& c, MPI_Comm comm) {
  broadcast_value(c.step, comm);
  broadcast_value(c.seed, comm);
  broadcast_value(c.ranks, comm);
  broadcast_value(c.optimizer_steps, comm);
  broadcast_floats(c.parameters, comm);
  std::uint64_t buffers = c.state.size();
  broadcast_value(buffers, comm);
  c.state.resize(buffers);
  c.state_names.resize(buffers);
  for (std::size_t i = 0; i < buffers; ++i) {
    broadcast_string(c.state_names[i], comm);
    broadcast_floats(c.state[i], comm);
  }
  broadcast_string(c.deck_text, comm);
}

}  // namespace

void write_checkpoint(const std::string& path, MPI_Comm comm, const Checkpoint& c) {
  const h5::QuietErrors quiet;
  int rank = 0;
  KBNN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  const std::string tmp = path + ".tmp";
  detail::check_checkpoint(c, path);  // before the file exists: nothing to clean up

  hid_t id = -1;
  h5::agree_or_throw(comm, [&] {
    const h5::PropList fapl = h5::mpi_file_access(comm, tmp);
    id = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (id < 0)
      throw InputError(concat(tmp, ": cannot create the checkpoint file (",
                              h5::error_stack_reason(), ")"));
  });
  h5::CollectiveFile file(id, tmp);
  h5::write_attribute(file, "description",
                      "kbnn checkpoint: the training state in /checkpoint, written "
                      "atomically (a .tmp file renamed into place)");
#ifdef KBNN_VERSION
  h5::write_attribute(file, "kbnn_version", KBNN_VERSION);
#endif
  detail::write_checkpoint_group(file, rank == 0, c, tmp);
  file.close();  // complete on disk before it takes the real name

  // rename() replaces `path` atomically on POSIX file systems. The agreement after it
  // is also the barrier: no rank returns before the checkpoint is in place.
  h5::agree_or_throw(comm, [&] {
    if (rank == 0 && std::rename(tmp.c_str(), path.c_str()) != 0)
      throw RuntimeError(concat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  });
}

Checkpoint read_checkpoint(const std::string& path, MPI_Comm comm) {
  const h5::QuietErrors quiet;
  int rank = 0;
  KBNN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  Checkpoint c;
  h5::agree_or_throw(comm, [&] {
    if (rank == 0) c = read_on_this_rank(path);
  });
  broadcast(c, comm);
  return c;
}

}  // namespace kbnn

// Tests for the HDF5 files (output/run_file, output/checkpoint_file, data/hdf5_dataset).
// Every rank of MPI_COMM_WORLD writes; rank 0 then reads the result back with the plain serial
// HDF5 API and checks it against values computed here, independently of the writer.
// They hold for any rank count (ctest runs them on 1, 2 and 3).
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "mpi_files.hpp"
#include "core/error.hpp"
#include "output/checkpoint_file.hpp"
#include "output/history_fields.hpp"
#include "output/prediction_shares.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"
#include "h5/error.hpp"
#include "data/hdf5_dataset.hpp"
#include "output/run_file.hpp"
#include "app/file_kind.hpp"

namespace fs = std::filesystem;
using kbnn::test::contains;

namespace {

// A Communicator over MPI_COMM_WORLD, made once (its destructor runs after MPI_Finalize
// and then leaves the duplicate to MPI).
const kbnn::Communicator& world() {
  static const kbnn::Communicator comm(MPI_COMM_WORLD);
  return comm;
}

using kbnn::test::SharedTempDir;
using kbnn::test::world_rank;
using kbnn::test::world_size;

// ---- serial readers: plain HDF5 calls, independent of the writer's helpers --------

template <class T>
struct Array {
  std::vector<hsize_t> dims;
  std::vector<T> values;
};

template <class T>
Array<T> read_array(hid_t file, const std::string& name, hid_t memory_type) {
  Array<T> a;
  const hid_t d = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  REQUIRE(d >= 0);
  const hid_t space = H5Dget_space(d);
  a.dims.resize(std::size_t(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, a.dims.data(), nullptr);
  a.values.resize(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (!a.values.empty())
    REQUIRE(H5Dread(d, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()) >= 0);
  H5Sclose(space);
  H5Dclose(d);
  return a;
}

std::string string_attribute(hid_t file, const std::string& object, const std::string& name) {
  const hid_t a = H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(a >= 0);
  const hid_t type = H5Aget_type(a);
  REQUIRE(H5Tis_variable_str(type) > 0);
  char* text = nullptr;
  REQUIRE(H5Aread(a, type, &text) >= 0);
  std::string out = text ? text : "";
  H5free_memory(text);
  H5Tclose(type);
  H5Aclose(a);
  return out;
}

template <class T>
T number_attribute(hid_t file, const std::string& object, const std::string& name,
                   hid_t memory_type) {
  const hid_t a = H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(a >= 0);
  T value{};
  REQUIRE(H5Aread(a, memory_type, &value) >= 0);
  H5Aclose(a);
  return value;
}

bool has_attribute(hid_t file, const std::string& object, const std::string& name) {
  return H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

// Files, groups, datasets... still open in this process: the RAII handles must leave none.
ssize_t open_hdf5_objects() { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

// ---- test data -----------------------------------------------------------------

kbnn::HistoryRow history_row(int i) {
  kbnn::HistoryRow r;
  r.step = 100 * (i + 1);
  r.epoch = 0.5 * (i + 1);
  r.loss = 2.0 - 0.25 * i;
  r.nll = 1.5 - 0.25 * i;
  r.kl = 1000.0 + i;
  r.beta = 0.1 * i;
  r.lr = 1e-3;
  r.train_accuracy = 0.5 + 0.125 * i;
  r.seconds = 10.0 * (i + 1);
  r.images_per_second = 3000.0 + i;
  return r;
}

kbnn::EvalRow eval_row(int i) {
  return kbnn::EvalRow{600 * (i + 1), double(i + 1), 0.5 + 0.125 * i, 1.25 - 0.25 * i,
                       0.0625 * (i + 1), 2.0 - 0.5 * i};
}

constexpr int kClasses = 3;

// Global row i of a prediction set, in closed form, so any rank can build any row.
float prob(std::int64_t i, int k) { return float(i) + 0.125f * float(k); }

kbnn::Predictions prediction_rows(std::int64_t first, std::int64_t count) {
  kbnn::Predictions p;
  p.count = count;
  p.classes = kClasses;
  p.samples = 20;
  for (std::int64_t i = first; i < first + count; ++i) {
    for (int k = 0; k < kClasses; ++k) p.probs_mean.push_back(prob(i, k));
    p.predicted.push_back(std::int32_t(i % kClasses));
    p.label.push_back(std::int32_t(i % 10));
    p.predictive_entropy.push_back(0.5f * float(i));
    p.aleatoric.push_back(0.25f * float(i));
    p.epistemic.push_back(0.25f * float(i));
  }
  return p;
}

// Uneven contiguous shares: 10 rows over 3 ranks are 3/3/4.
std::pair<std::int64_t, std::int64_t> share(std::int64_t total) {
  const std::int64_t r = world_rank(), n = world_size();
  const std::int64_t begin = total * r / n, end = total * (r + 1) / n;
  return {begin, end - begin};
}

// Bit patterns a float round trip must keep: signed zero, denormal, inf, a NaN payload.
std::vector<float> awkward_floats(std::size_t n, std::uint32_t salt) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(float(i) + float(salt)) * 1e-3f;
  const std::uint32_t bits[] = {0x80000000u, 0x00000001u, 0x7f800000u, 0x7fc01234u + salt};
  for (std::size_t i = 0; i < 4 && i < n; ++i) std::memcpy(&v[i], &bits[i], 4);
  return v;
}

kbnn::Checkpoint sample_checkpoint(std::size_t n, std::int64_t step) {
  kbnn::Checkpoint c;
  c.step = step;
  c.seed = 0xfedcba9876543210ull;  // needs all 64 bits
  c.ranks = world_size();
  c.optimizer_steps = step + 1;
  c.parameters = awkward_floats(n, 0);
  c.state_names = {"adam_m", "adam_v"};
  c.state = {awkward_floats(n, 1), awkward_floats(n, 2)};
  c.deck_text = "[train]\nepochs = 3\nlr = 1e-3\n# ünïcode survives\n";
  return c;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A training set file in the layout read_hdf5_dataset reads (data/hdf5_dataset.hpp),
// written with plain HDF5 calls: /images uint8 (N, H, W), or (N, H, W, C) with more
// than one channel; /labels int32 (N); the attribute num_classes when it is > 0.
void write_dataset_file(const std::string& path, const kbnn::Dataset& d) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const auto write = [&](const char* name, const std::vector<hsize_t>& dims, hid_t file_type,
                         hid_t memory_type, const void* data) {
    const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
    const hid_t set = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
    REQUIRE(set >= 0);
    REQUIRE(H5Dwrite(set, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(set);
    H5Sclose(space);
  };
  const hsize_t n = hsize_t(d.count);
  std::vector<hsize_t> image_dims = {n, hsize_t(d.height), hsize_t(d.width)};
  if (d.channels > 1) image_dims.push_back(hsize_t(d.channels));
  write("images", image_dims, H5T_STD_U8LE, H5T_NATIVE_UINT8, d.pixels.data());
  write("labels", {n}, H5T_STD_I32LE, H5T_NATIVE_INT32, d.labels.data());
  if (d.num_classes > 0) {
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(file, "num_classes", H5T_STD_I32LE, scalar, H5P_DEFAULT,
                               H5P_DEFAULT);
    const std::int32_t classes = d.num_classes;
    REQUIRE(H5Awrite(a, H5T_NATIVE_INT32, &classes) >= 0);
    H5Aclose(a);
    H5Sclose(scalar);
  }
  H5Fclose(file);
}

// The root attribute class_names of `path`: variable-length strings, as h5py writes a list.
void write_class_names(const std::string& path, const std::vector<const char*>& names) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  const hsize_t n = names.size();
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t a = H5Acreate2(file, "class_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Awrite(a, type, names.data()) >= 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(file);
}

}  // namespace

TEST_CASE("KBNN_H5_CHECK names the call, the place and the object", "[hdf5]") {
  const kbnn::h5::QuietErrors quiet;
  REQUIRE_THROWS_AS(KBNN_H5_CHECK(H5Fopen("/nonexistent/kbnn.h5", H5F_ACC_RDONLY, H5P_DEFAULT)),
                    kbnn::RuntimeError);
  REQUIRE_THROWS_WITH(
      KBNN_H5_CHECK_AT(H5Fopen("/nonexistent/kbnn.h5", H5F_ACC_RDONLY, H5P_DEFAULT), "the file"),
      contains("the file: H5Fopen(\"/nonexistent/kbnn.h5\"") && contains("test_hdf5.cpp:") &&
          contains("unable to open file"));
  REQUIRE(KBNN_H5_CHECK(H5Tget_size(H5T_NATIVE_FLOAT) > 0 ? 0 : -1) == 0);
}

// kbnn info asks of files of every kind whether "metrics/test" or
// "members/0/checkpoint" is there; H5Lexists alone fails where "metrics" is missing.
TEST_CASE("h5::exists: a path is false where any part is missing", "[hdf5]") {
  const kbnn::h5::QuietErrors quiet;
  const std::string path = (fs::temp_directory_path() /
                            ("kbnn_exists_" + std::to_string(getpid()) + ".h5")).string();
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  {
    const kbnn::h5::Group a = kbnn::h5::create_group(file, "a");
    const kbnn::h5::Group b = kbnn::h5::create_group(a, "b");
  }
  CHECK(kbnn::h5::exists(file, "a"));
  CHECK(kbnn::h5::exists(file, "a/b"));
  CHECK_FALSE(kbnn::h5::exists(file, "a/c"));
  CHECK_FALSE(kbnn::h5::exists(file, "x/b"));
  CHECK_FALSE(kbnn::h5::exists(file, "a/c/d"));
  CHECK(kbnn::h5::exists(file, "/a/b"));
  CHECK_FALSE(kbnn::h5::exists(file, "/x/b"));
  H5Fclose(file);
  fs::remove(path);
}

TEST_CASE("RunFile: all ranks write their shares, the file reads back complete", "[hdf5][mpi]") {
  const int rank = world_rank(), ranks = world_size();
  const SharedTempDir dir;
  const std::string path = dir.file("run.h5");

  kbnn::RunInfo info;
  info.version = "0.1.0-test";
  info.git_revision = "abc1234";
  info.kokkos_backend = "Serial";
  info.deck_path = "input/test.cfg";
  info.deck_text = "[data]\nformat = idx\n[train]\nepochs = 2\n" + std::string(70000, '#');
  const std::int64_t total = 10;
  const auto [first, count] = share(total);
  kbnn::Metrics metrics;
  metrics.accuracy = 0.875;
  metrics.nll = 0.3;
  metrics.brier = 0.2;
  metrics.ece = 0.05;
  metrics.mean_entropy = 0.4;
  metrics.mean_aleatoric = 0.3;
  metrics.mean_epistemic = 0.1;
  const kbnn::Checkpoint checkpoint = sample_checkpoint(37, 1200);
  std::vector<float> kernel(12);
  for (std::size_t i = 0; i < kernel.size(); ++i) kernel[i] = 0.25f * float(i);

  {
    kbnn::RunFile file(path, world(), info);
    file.append_history({history_row(0), history_row(1)});
    file.append_history({history_row(2)});
    file.start_eval_history("validation", 4, 150);
    file.append_eval({eval_row(0)});
    file.append_eval({eval_row(1)});
    file.write_weights("dense_1", "kernel_mu", kernel, {3, 4});
    file.write_weights("dense_1", "bias", {1.f, 2.f, 3.f}, {3});
    file.write_predictions("test", prediction_rows(first, count), first, total);
    // One row in all: every rank but rank 0 takes part with an empty selection.
    file.write_predictions("one", prediction_rows(0, rank == 0 ? 1 : 0), 0, 1);
    file.write_metrics("test", metrics, 20);
    file.write_checkpoint(checkpoint);

    // Misuse is reported on every rank alike and leaves the file usable.
    REQUIRE_THROWS_WITH(file.write_predictions("bad", prediction_rows(first + 1, count),
                                               first + 1, total),
                        contains("/predictions/bad: the ranks' rows do not tile [0, 10)"));
    REQUIRE_THROWS_WITH(file.write_weights("dense_1", "kernel_rho", kernel, {5, 4}),
                        contains("/weights/dense_1/kernel_rho: shape holds 20 values, the buffer 12"));
    REQUIRE_THROWS_WITH(file.write_metrics("test", metrics), contains("already written"));
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // The checkpoint group of a run file reads back like a checkpoint file (collective).
  const kbnn::Checkpoint back = kbnn::read_checkpoint(path, world());
  CHECK(back.step == 1200);
  CHECK(same_bits(back.parameters, checkpoint.parameters));

  CHECK(open_hdf5_objects() == 0);

  if (rank != 0) return;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);

  // Root attributes.
  CHECK(string_attribute(file, "/", "kbnn_version") == "0.1.0-test");
  CHECK(string_attribute(file, "/", "git_revision") == "abc1234");
  CHECK(string_attribute(file, "/", "kokkos_backend") == "Serial");
  CHECK(string_attribute(file, "/", "deck_path") == "input/test.cfg");
  CHECK(string_attribute(file, "/", "deck") == info.deck_text);  // > 64 KiB fits
  CHECK(number_attribute<int>(file, "/", "ranks", H5T_NATIVE_INT) == ranks);
  const std::string created = string_attribute(file, "/", "created");
  CHECK(created.size() == 20);
  CHECK(created.back() == 'Z');

  // History: three rows in append order, every field.
  const auto step = read_array<std::int64_t>(file, "/history/step", H5T_NATIVE_INT64);
  REQUIRE(step.dims == std::vector<hsize_t>{3});
  CHECK(step.values == std::vector<std::int64_t>{100, 200, 300});
  const std::vector<std::pair<const char*, double kbnn::HistoryRow::*>> fields = {
      {"epoch", &kbnn::HistoryRow::epoch}, {"loss", &kbnn::HistoryRow::loss},
      {"nll", &kbnn::HistoryRow::nll}, {"kl", &kbnn::HistoryRow::kl},
      {"beta", &kbnn::HistoryRow::beta}, {"lr", &kbnn::HistoryRow::lr},
      {"train_accuracy", &kbnn::HistoryRow::train_accuracy},
      {"seconds", &kbnn::HistoryRow::seconds},
      {"images_per_second", &kbnn::HistoryRow::images_per_second}};
  for (const auto& [name, member] : fields) {
    const std::string at = std::string("/history/") + name;
    const auto column = read_array<double>(file, at, H5T_NATIVE_DOUBLE);
    REQUIRE(column.dims == std::vector<hsize_t>{3});
    for (int i = 0; i < 3; ++i) CHECK(column.values[std::size_t(i)] == history_row(i).*member);
    CHECK(has_attribute(file, at, "units"));
    CHECK(has_attribute(file, at, "description"));
  }

  // Evaluations: two rows in append order, every field, and what was evaluated.
  const auto eval_step = read_array<std::int64_t>(file, "/history/eval/step", H5T_NATIVE_INT64);
  CHECK(eval_step.values == std::vector<std::int64_t>{600, 1200});
  for (const kbnn::EvalField& f : kbnn::eval_fields) {
    if (!f.member) continue;
    const std::string at = std::string("/history/eval/") + f.name;
    const auto column = read_array<double>(file, at, H5T_NATIVE_DOUBLE);
    REQUIRE(column.dims == std::vector<hsize_t>{2});
    for (int i = 0; i < 2; ++i) CHECK(column.values[std::size_t(i)] == eval_row(i).*f.member);
  }
  CHECK(string_attribute(file, "/history/eval", "set") == "validation");
  CHECK(number_attribute<int>(file, "/history/eval", "samples", H5T_NATIVE_INT) == 4);
  CHECK(number_attribute<std::int64_t>(file, "/history/eval", "examples", H5T_NATIVE_INT64) ==
        150);

  // Weights.
  const auto mu = read_array<float>(file, "/weights/dense_1/kernel_mu", H5T_NATIVE_FLOAT);
  CHECK(mu.dims == std::vector<hsize_t>{3, 4});
  CHECK(mu.values == kernel);
  CHECK(string_attribute(file, "/weights/dense_1/kernel_mu", "description").find("posterior mean") !=
        std::string::npos);
  const auto bias = read_array<float>(file, "/weights/dense_1/bias", H5T_NATIVE_FLOAT);
  CHECK(bias.dims == std::vector<hsize_t>{3});
  CHECK(bias.values == std::vector<float>{1.f, 2.f, 3.f});

  // Predictions: all rows, in global order, whoever wrote them.
  const auto probs = read_array<float>(file, "/predictions/test/probs_mean", H5T_NATIVE_FLOAT);
  REQUIRE(probs.dims == std::vector<hsize_t>{10, kClasses});
  for (std::int64_t i = 0; i < total; ++i)
    for (int k = 0; k < kClasses; ++k) CHECK(probs.values[std::size_t(i * kClasses + k)] == prob(i, k));
  const auto label = read_array<std::int32_t>(file, "/predictions/test/label", H5T_NATIVE_INT32);
  const auto predicted =
      read_array<std::int32_t>(file, "/predictions/test/predicted", H5T_NATIVE_INT32);
  REQUIRE(label.dims == std::vector<hsize_t>{10});
  REQUIRE(predicted.dims == std::vector<hsize_t>{10});
  for (std::int64_t i = 0; i < total; ++i) {
    CHECK(label.values[std::size_t(i)] == i % 10);
    CHECK(predicted.values[std::size_t(i)] == i % kClasses);
  }
  const std::vector<std::pair<const char*, float>> per_row = {
      {"predictive_entropy", 0.5f}, {"aleatoric", 0.25f}, {"epistemic", 0.25f}};
  for (const auto& [name, scale] : per_row) {
    const std::string at = std::string("/predictions/test/") + name;
    const auto column = read_array<float>(file, at, H5T_NATIVE_FLOAT);
    REQUIRE(column.dims == std::vector<hsize_t>{10});
    for (std::int64_t i = 0; i < total; ++i) CHECK(column.values[std::size_t(i)] == scale * float(i));
    CHECK(string_attribute(file, at, "units") == "nats");
  }
  CHECK(number_attribute<int>(file, "/predictions/test", "samples", H5T_NATIVE_INT) == 20);
  const auto one = read_array<float>(file, "/predictions/one/probs_mean", H5T_NATIVE_FLOAT);
  CHECK(one.dims == std::vector<hsize_t>{1, kClasses});
  CHECK(one.values == std::vector<float>{prob(0, 0), prob(0, 1), prob(0, 2)});
  CHECK(H5Lexists(file, "/predictions/bad", H5P_DEFAULT) == 0);

  // Metrics.
  CHECK(number_attribute<double>(file, "/metrics/test", "accuracy", H5T_NATIVE_DOUBLE) == 0.875);
  CHECK(number_attribute<double>(file, "/metrics/test", "nll", H5T_NATIVE_DOUBLE) == 0.3);
  CHECK(number_attribute<double>(file, "/metrics/test", "brier", H5T_NATIVE_DOUBLE) == 0.2);
  CHECK(number_attribute<double>(file, "/metrics/test", "ece", H5T_NATIVE_DOUBLE) == 0.05);
  CHECK(number_attribute<double>(file, "/metrics/test", "mean_epistemic", H5T_NATIVE_DOUBLE) == 0.1);
  CHECK(number_attribute<int>(file, "/metrics/test", "samples", H5T_NATIVE_INT) == 20);

  // Checkpoint group, read raw.
  const auto parameters = read_array<float>(file, "/checkpoint/parameters", H5T_NATIVE_FLOAT);
  CHECK(same_bits(parameters.values, checkpoint.parameters));
  const auto adam_v = read_array<float>(file, "/checkpoint/state/adam_v", H5T_NATIVE_FLOAT);
  CHECK(same_bits(adam_v.values, checkpoint.state[1]));
  CHECK(number_attribute<std::uint64_t>(file, "/checkpoint", "seed", H5T_NATIVE_UINT64) ==
        checkpoint.seed);

  // Every group and dataset explains itself.
  for (const char* object : {"/", "/history", "/weights", "/weights/dense_1", "/predictions",
                             "/predictions/test", "/predictions/test/probs_mean", "/metrics",
                             "/metrics/test", "/checkpoint", "/checkpoint/parameters",
                             "/checkpoint/state"})
    CHECK(has_attribute(file, object, "description"));
  H5Fclose(file);
  CHECK(open_hdf5_objects() == 0);
}

TEST_CASE("RunFile: a run is 'running' until it says how it ended", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const kbnn::Checkpoint checkpoint = sample_checkpoint(8, 40);
  // What a run that fails in its final evaluation leaves: its state and some metrics
  // written, no word on how it ended. In files of older versions (no status) these two
  // groups meant finished; now the status says otherwise, and --restart auto and kbnn
  // info must not take it for a finished run.
  const auto write_run = [&](const std::string& path, const std::string& status) {
    kbnn::RunFile file(path, world(), kbnn::RunInfo{});
    file.append_history({history_row(0)});
    file.write_checkpoint(checkpoint);
    file.write_metrics("test", kbnn::Metrics{}, 2);
    if (!status.empty()) file.write_status(status);
  };
  write_run(dir.file("died.h5"), "");
  write_run(dir.file("finished.h5"), "finished");
  write_run(dir.file("stopped.h5"), "stopped");
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(open_hdf5_objects() == 0);
  if (world_rank() != 0) return;
  CHECK(kbnn::run_file_state(dir.file("died.h5")) == kbnn::RunFileState::unfinished);
  CHECK(kbnn::run_file_state(dir.file("finished.h5")) == kbnn::RunFileState::finished);
  CHECK(kbnn::run_file_state(dir.file("stopped.h5")) == kbnn::RunFileState::stopped);
  CHECK(kbnn::file_kind(dir.file("died.h5")) == kbnn::FileKind::unfinished_run);
  CHECK(kbnn::file_kind(dir.file("finished.h5")) == kbnn::FileKind::finished_run);
  {
    const hid_t file = H5Fopen(dir.file("died.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    CHECK(string_attribute(file, "/", "status") == "running");
    H5Fclose(file);
  }
  // A file of an older version: no status at all, /checkpoint and /metrics: finished.
  const hid_t file = H5Fopen(dir.file("finished.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  REQUIRE(H5Adelete(file, "status") >= 0);
  H5Fclose(file);
  CHECK(kbnn::run_file_state(dir.file("finished.h5")) == kbnn::RunFileState::finished);
  CHECK(kbnn::file_kind(dir.file("finished.h5")) == kbnn::FileKind::finished_run);
}

TEST_CASE("Reliability bins: hand-computed case, reduced over ranks, written to /metrics",
          "[hdf5][mpi]") {
  // Six examples, three classes; confidence = the largest probability. By hand, with
  // bin b = (b/15, (b+1)/15]:
  //   row  probs              label  confidence  right  bin
  //   0    .90 .05 .05        0      .90         yes    13  (.8667, .9333]
  //   1    .04 .92 .04        0      .92         no     13
  //   2    .50 .30 .20        0      .50         yes     7  (.4667, .5333]
  //   3    .20 .45 .35        2      .45         no      6  (.4000, .4667]
  //   4    .10 .12 .78        2      .78         yes    11  (.7333, .8000]
  //   5    .34 .33 .33        1      .34         no      5  (.3333, .4000]
  const std::vector<std::vector<float>> probs = {{.90f, .05f, .05f}, {.04f, .92f, .04f},
                                                 {.50f, .30f, .20f}, {.20f, .45f, .35f},
                                                 {.10f, .12f, .78f}, {.34f, .33f, .33f}};
  const std::vector<std::int32_t> labels = {0, 0, 0, 2, 2, 1};
  const std::int64_t total = 6;
  const auto [first, count] = share(total);  // each rank sums only its rows
  kbnn::Predictions local;
  local.count = count;
  local.classes = 3;
  for (std::int64_t i = first; i < first + count; ++i) {
    const auto& p = probs[std::size_t(i)];
    local.probs_mean.insert(local.probs_mean.end(), p.begin(), p.end());
    local.predicted.push_back(std::int32_t(std::max_element(p.begin(), p.end()) - p.begin()));
    local.label.push_back(labels[std::size_t(i)]);
    local.label_nll.push_back(-std::log(double(p[std::size_t(labels[std::size_t(i)])])));
    local.predictive_entropy.push_back(0.f);
    local.aleatoric.push_back(0.f);
    local.epistemic.push_back(0.f);
  }
  std::vector<double> sums = kbnn::metric_sums(local);
  world().allreduce_sum(sums.data(), sums.size());
  const kbnn::Metrics m = kbnn::metrics_from_sums(sums);

  std::vector<double> count_hand(kbnn::calibration_bins, 0.0);
  std::vector<double> confidence_hand(kbnn::calibration_bins, std::nan(""));
  std::vector<double> accuracy_hand(kbnn::calibration_bins, std::nan(""));
  count_hand[13] = 2, confidence_hand[13] = (0.90 + 0.92) / 2, accuracy_hand[13] = 0.5;
  count_hand[7] = 1, confidence_hand[7] = 0.50, accuracy_hand[7] = 1;
  count_hand[6] = 1, confidence_hand[6] = 0.45, accuracy_hand[6] = 0;
  count_hand[11] = 1, confidence_hand[11] = 0.78, accuracy_hand[11] = 1;
  count_hand[5] = 1, confidence_hand[5] = 0.34, accuracy_hand[5] = 0;
  auto same = [](double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) < 1e-6;
  };
  for (int b = 0; b < kbnn::calibration_bins; ++b) {
    INFO("bin " << b);
    CHECK(m.bin_count[b] == count_hand[b]);
    CHECK(same(m.bin_confidence[b], confidence_hand[b]));
    CHECK(same(m.bin_accuracy[b], accuracy_hand[b]));
  }
  // ECE = sum_b |hits_b - confidence sum_b| / n.
  CHECK(m.ece == Approx((0.82 + 0.50 + 0.45 + 0.22 + 0.34) / 6).margin(1e-6));
  CHECK(m.accuracy == Approx(0.5));
  // NLL = -mean log p(label): the labels' probabilities are .90 .04 .50 .35 .78 .33.
  CHECK(m.nll == Approx(-(std::log(.90) + std::log(.04) + std::log(.50) + std::log(.35) +
                          std::log(.78) + std::log(.33)) / 6)
                     .epsilon(1e-6));
  // Brier = mean sum_k (p_k - onehot_k)^2, row by row:
  //   .01+.0025+.0025  .9216+.8464+.0016  .25+.09+.04  .04+.2025+.4225  .01+.0144+.0484
  //   .1156+.4489+.1089
  CHECK(m.brier == Approx((0.015 + 1.7696 + 0.38 + 0.665 + 0.0728 + 0.6734) / 6).epsilon(1e-6));

  const SharedTempDir dir;
  const std::string path = dir.file("bins.h5");
  {
    kbnn::RunFile file(path, world(), kbnn::RunInfo{});
    file.write_metrics("test", m, 4);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const auto edges = read_array<double>(file, "/metrics/test/bin_edges", H5T_NATIVE_DOUBLE);
  REQUIRE(edges.dims == std::vector<hsize_t>{16});
  for (int b = 0; b <= 15; ++b) CHECK(edges.values[std::size_t(b)] == Approx(b / 15.0));
  CHECK(edges.values.front() == 0.0);
  CHECK(edges.values.back() == 1.0);
  const auto counts = read_array<std::int64_t>(file, "/metrics/test/bin_count", H5T_NATIVE_INT64);
  const auto confidence =
      read_array<double>(file, "/metrics/test/bin_confidence", H5T_NATIVE_DOUBLE);
  const auto accuracy = read_array<double>(file, "/metrics/test/bin_accuracy", H5T_NATIVE_DOUBLE);
  REQUIRE(counts.dims == std::vector<hsize_t>{15});
  REQUIRE(confidence.dims == std::vector<hsize_t>{15});
  REQUIRE(accuracy.dims == std::vector<hsize_t>{15});
  for (int b = 0; b < kbnn::calibration_bins; ++b) {
    INFO("bin " << b);
    CHECK(double(counts.values[std::size_t(b)]) == count_hand[b]);
    CHECK(same(confidence.values[std::size_t(b)], confidence_hand[b]));
    CHECK(same(accuracy.values[std::size_t(b)], accuracy_hand[b]));
  }
  for (const char* name : {"bin_edges", "bin_count", "bin_confidence", "bin_accuracy"}) {
    const std::string at = std::string("/metrics/test/") + name;
    CHECK(has_attribute(file, at, "description"));
    CHECK(has_attribute(file, at, "units"));
  }
  H5Fclose(file);
}

TEST_CASE("Checkpoint: atomic write, bit-exact read on every rank", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const std::string path = dir.file("ckpt.h5");

  kbnn::Checkpoint first = sample_checkpoint(1001, 500);
  first.history = {history_row(0), history_row(1)};
  first.eval_history = {eval_row(0)};
  first.train_examples = 3000;
  first.class_names = {"setosa", "versicolor", "virginica"};
  kbnn::write_checkpoint(path, world(), first);
  CHECK(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp"));

  kbnn::Checkpoint c = kbnn::read_checkpoint(path, world());
  CHECK(c.step == 500);
  CHECK(c.seed == first.seed);
  CHECK(c.ranks == world_size());
  CHECK(c.optimizer_steps == 501);
  CHECK(same_bits(c.parameters, first.parameters));
  CHECK(c.state_names == first.state_names);
  REQUIRE(c.state.size() == 2);
  CHECK(same_bits(c.state[0], first.state[0]));
  CHECK(same_bits(c.state[1], first.state[1]));
  CHECK(c.deck_text == first.deck_text);
  CHECK(c.train_examples == 3000);
  CHECK(c.class_names == first.class_names);
  if (world_rank() == 0) {  // what a restart reads before it decides where to start
    const kbnn::CheckpointPlace place = kbnn::read_checkpoint_place(path);
    CHECK(place.step == 500);
    CHECK(place.train_examples == 3000);
  }
  // The rows travel too, so a resumed run file holds the whole history.
  REQUIRE(c.history.size() == 2);
  CHECK(c.history[1].kl == history_row(1).kl);
  CHECK(c.history[1].step == history_row(1).step);
  REQUIRE(c.eval_history.size() == 1);
  CHECK(c.eval_history[0].step == 600);
  CHECK(c.eval_history[0].mean_entropy == eval_row(0).mean_entropy);

  // A newer checkpoint replaces the old one under the same name; SGD has one buffer.
  kbnn::Checkpoint second = sample_checkpoint(5, 900);
  second.state_names = {"sgd_velocity"};
  second.state = {awkward_floats(5, 7)};
  kbnn::write_checkpoint(path, world(), second);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  c = kbnn::read_checkpoint(path, world());
  CHECK(c.step == 900);
  CHECK(c.train_examples == 0);  // not recorded, as in checkpoints of older versions
  CHECK(c.class_names.empty());   // nor names: data that names no classes
  if (world_rank() == 0) CHECK(kbnn::read_checkpoint_place(path).train_examples == 0);
  CHECK(c.state_names == std::vector<std::string>{"sgd_velocity"});
  REQUIRE(c.state.size() == 1);
  CHECK(same_bits(c.state[0], second.state[0]));

  // Inconsistent state is refused before any file is touched.
  kbnn::Checkpoint broken = sample_checkpoint(5, 1);
  broken.state[1].pop_back();
  REQUIRE_THROWS_WITH(kbnn::write_checkpoint(dir.file("broken.h5"), world(), broken),
                      contains("state adam_v has 4 values, parameters 5"));
  CHECK_FALSE(fs::exists(dir.file("broken.h5.tmp")));
  CHECK(open_hdf5_objects() == 0);
}

TEST_CASE("read_checkpoint: errors name the file and what is wrong", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const std::string text = dir.file("notes.txt"), plain = dir.file("plain.h5"),
                    no_params = dir.file("no_params.h5"), short_state = dir.file("short.h5");
  kbnn::write_checkpoint(no_params, world(), sample_checkpoint(8, 3));
  kbnn::write_checkpoint(short_state, world(), sample_checkpoint(8, 3));
  if (world_rank() == 0) {
    write_text(text, "this is not HDF5\n");
    const hid_t f = H5Fcreate(plain.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    // Break the two checkpoints: drop a dataset, shorten a state buffer.
    hid_t g = H5Fopen(no_params.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(H5Ldelete(g, "/checkpoint/parameters", H5P_DEFAULT) >= 0);
    H5Fclose(g);
    g = H5Fopen(short_state.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(H5Ldelete(g, "/checkpoint/state/adam_v", H5P_DEFAULT) >= 0);
    const hsize_t n = 7;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t d = H5Dcreate2(g, "/checkpoint/state/adam_v", H5T_IEEE_F32LE, space,
                               H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const std::vector<float> zeros(n, 0.f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(g);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // Rank 0 reads; every rank gets the same InputError.
  REQUIRE_THROWS_AS(kbnn::read_checkpoint(text, world()), kbnn::InputError);
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(text, world()),
                      contains(text + ": not an HDF5 file"));
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(dir.file("missing.h5"), world()),
                      contains("missing.h5: no such file (expected a kbnn checkpoint or run file)"));
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(plain, world()),
                      contains(plain + ": no /checkpoint group"));
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(no_params, world()),
                      contains(no_params + ": /checkpoint/parameters: dataset missing"));
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(short_state, world()),
                      contains("/checkpoint/state/adam_v: 7 values, but parameters has 8"));
  CHECK(open_hdf5_objects() == 0);
}

TEST_CASE("read_hdf5_dataset: each rank reads its slice", "[hdf5][mpi]") {
  const int rank = world_rank(), ranks = world_size();
  const SharedTempDir dir;
  const std::string gray = dir.file("gray.h5"), color = dir.file("color.h5"),
                    no_labels = dir.file("no_labels.h5"), negative = dir.file("negative.h5"),
                    named = dir.file("named.h5"), few_names = dir.file("few_names.h5"),
                    not_ten = dir.file("not_ten.h5");

  // 7 examples; pixel (n, y, x, c) = 50 n + 10 y + 3 x + c, label (3 n) % 5: the
  // largest label, 4, is at row 3, so a slice's maximum is not the set's.
  auto make = [](int channels, int num_classes) {
    kbnn::Dataset d;
    d.source = "synthetic";
    d.count = 7;
    d.height = 2;
    d.width = 3;
    d.channels = channels;
    d.num_classes = num_classes;
    for (int n = 0; n < 7; ++n) {
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
          for (int c = 0; c < channels; ++c)
            d.pixels.push_back(std::uint8_t(50 * n + 10 * y + 3 * x + c));
      d.labels.push_back((3 * n) % 5);
    }
    return d;
  };
  const kbnn::Dataset gray_set = make(1, 0), color_set = make(3, 10);
  if (rank == 0) {
    write_dataset_file(gray, gray_set);
    write_dataset_file(color, color_set);
    write_dataset_file(no_labels, gray_set);
    const hid_t f = H5Fopen(no_labels.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(H5Ldelete(f, "labels", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    kbnn::Dataset bad = gray_set;
    bad.labels[5] = -2;
    write_dataset_file(negative, bad);
    // class_names: six for labels up to 4 (they count the classes), four (too few for
    // label 4), three beside num_classes = 10.
    write_dataset_file(named, gray_set);
    write_class_names(named, {"a", "b", "c", "d", "e", "f"});
    write_dataset_file(few_names, gray_set);
    write_class_names(few_names, {"a", "b", "c", "d"});
    write_dataset_file(not_ten, color_set);
    write_class_names(not_ten, {"a", "b", "c"});
  }
  MPI_Barrier(MPI_COMM_WORLD);

  auto check_slice = [](const kbnn::Dataset& got, const kbnn::Dataset& all, std::int64_t first,
                        std::int64_t count) {
    REQUIRE(got.count == count);
    CHECK(got.height == 2);
    CHECK(got.width == 3);
    CHECK(got.channels == all.channels);
    const std::int64_t f = all.features();
    CHECK(got.pixels == std::vector<std::uint8_t>(all.pixels.begin() + first * f,
                                                  all.pixels.begin() + (first + count) * f));
    CHECK(got.labels == std::vector<std::int32_t>(all.labels.begin() + first,
                                                  all.labels.begin() + first + count));
  };

  // Rank r reads rows [r, r + 2) (wrapping the start into range), then the rest from r.
  const std::int64_t first = rank % 6;
  kbnn::Dataset d = kbnn::read_hdf5_dataset(gray, world(), first, 2);
  check_slice(d, gray_set, first, 2);
  CHECK(d.num_classes == 5);  // no attribute: max label of the whole set + 1
  CHECK(d.source == gray);
  d = kbnn::read_hdf5_dataset(color, world(), first, -1);
  check_slice(d, color_set, first, 7 - first);
  CHECK(d.num_classes == 10);  // from the attribute
  CHECK(d.class_names.empty());
  d = kbnn::read_hdf5_dataset(color, world(), 7, 0);
  CHECK(d.count == 0);
  d = kbnn::read_hdf5_dataset(named, world(), first, 2);
  check_slice(d, gray_set, first, 2);
  CHECK(d.num_classes == 6);  // the names' count, not max label + 1
  CHECK(d.class_names == std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(few_names, world()),
                      contains("/labels: label 4 at row 3 outside [0, 4) (the classes "
                               "class_names names)"));
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(not_ten, world(), 0, 1),
                      contains(not_ten + ": attribute class_names holds 3 names, but "
                               "num_classes is 10: one name per class"));

  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(no_labels, world()),
                      contains(no_labels + ": dataset /labels missing"));
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(gray, world(), 5, 5),
                      contains(gray + ": rows [5, 10) out of range: the file holds 7 examples"));
  // No num_classes: the rule, not a range made of the file's own labels ([0, 5)).
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(negative, world(), 0, 1),
                      contains("/labels: label -2 at row 5 is negative: labels number the "
                               "classes 0, 1, 2, ...") &&
                          !contains("outside"));
  // Only the last rank asks for too much; every rank must hear of it and throw.
  REQUIRE_THROWS_WITH(
      kbnn::read_hdf5_dataset(gray, world(), rank == ranks - 1 ? 6 : 0, 3),
      contains("rows [6, 9) out of range"));
  CHECK(open_hdf5_objects() == 0);
}

TEST_CASE("Communicator::allgather: every rank's struct, in rank order", "[hdf5][mpi]") {
  struct Held {
    std::int64_t rank;
    double square;
    bool odd;
  };
  const int rank = world_rank();
  const auto all = world().allgather(Held{rank, double(rank) * rank, rank % 2 == 1});
  REQUIRE(int(all.size()) == world_size());
  for (int r = 0; r < world_size(); ++r) {
    CHECK(all[std::size_t(r)].rank == r);
    CHECK(all[std::size_t(r)].square == double(r) * r);
    CHECK(all[std::size_t(r)].odd == (r % 2 == 1));
  }
}

TEST_CASE("check_prediction_shares: the ranks' rows must tile the set", "[hdf5]") {
  // Three ranks' shares of 10 rows with 3 classes, as share_of reports them.
  const auto share = [](std::int64_t first, std::int64_t count) {
    kbnn::PredictionShare s;
    s.first = first;
    s.count = count;
    s.classes = 3;
    s.total = 10;
    s.samples = 20;
    s.sizes_ok = true;
    return s;
  };
  const std::string where = "run.h5: /predictions/test";
  // Any order, empty shares (whose classes do not count) allowed.
  auto empty = share(0, 0);
  empty.classes = 0;
  CHECK(kbnn::check_prediction_shares({share(4, 6), empty, share(0, 4)}, where) == 3);
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), share(5, 5)}, where),
                      contains(where + ": the ranks' rows do not tile [0, 10): expected a "
                                       "range starting at 4, got [5, 10)"));
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), share(3, 7)}, where),
                      contains("expected a range starting at 4, got [3, 10)"));
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), share(4, 5)}, where),
                      contains("the ranks hold 9 rows, total is 10"));
  auto other_total = share(4, 6);
  other_total.total = 11;
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), other_total}, where),
                      contains("ranks disagree on total rows (11 vs 10)"));
  auto other_classes = share(4, 6);
  other_classes.classes = 4;
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), other_classes}, where),
                      contains("ranks disagree on classes: 3 and 4 (rank 1)"));
  auto bad_sizes = share(4, 6);
  bad_sizes.sizes_ok = false;
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({share(0, 4), bad_sizes}, where),
                      contains("rank 1's Predictions hold arrays whose sizes disagree with "
                               "count = 6 and classes = 3"));
  auto no_classes = share(0, 10);
  no_classes.classes = 0;
  REQUIRE_THROWS_WITH(kbnn::check_prediction_shares({no_classes}, where),
                      contains("classes must be > 0, got 0"));

  // share_of checks every array against count and classes.
  kbnn::Predictions p = prediction_rows(2, 3);
  CHECK(kbnn::share_of(p, 2, 10).sizes_ok);
  p.aleatoric.pop_back();
  CHECK_FALSE(kbnn::share_of(p, 2, 10).sizes_ok);
}

TEST_CASE("h5::write_slab: each rank writes its columns of a 2-D dataset", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const std::string path = dir.file("slab.h5");
  const std::int64_t rows = 3, total = 7;  // value (i, j) = 100 i + j
  const auto [first, count] = share(total);
  std::vector<std::int32_t> mine;  // (rows, count): this rank's columns
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = first; j < first + count; ++j) mine.push_back(std::int32_t(100 * i + j));
  {
    kbnn::h5::QuietErrors quiet;
    kbnn::h5::CollectiveFile file = kbnn::h5::create_collective_file(path, world(), "test file");
    {
      const kbnn::h5::DataSet d = kbnn::h5::create_dataset<std::int32_t>(
          file, "table", {hsize_t(rows), hsize_t(total)}, "table");
      kbnn::h5::write_slab(d, mine.data(), 1, hsize_t(first), hsize_t(count), "table");
      REQUIRE_THROWS_WITH(kbnn::h5::write_slab(d, mine.data(), 2, 0, 0, "table"),
                          contains("table: no dimension 2 in a 2-dimensional dataset"));
    }
    file.close();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() != 0) return;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const auto table = read_array<std::int32_t>(file, "/table", H5T_NATIVE_INT32);
  REQUIRE(table.dims == std::vector<hsize_t>{hsize_t(rows), hsize_t(total)});
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < total; ++j)
      CHECK(table.values[std::size_t(i * total + j)] == 100 * i + j);
  H5Fclose(file);
}

TEST_CASE("Checkpoint: the group's description names everything written", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const std::string path = dir.file("described.h5");
  kbnn::Checkpoint c = sample_checkpoint(8, 40);
  c.keep = {1, 0, 1, 1};  // a pruned model: /checkpoint/keep is written
  c.window = {std::vector<double>(std::size_t(world_size()), 0.5),
              std::vector<double>(std::size_t(world_size()), 2.0), 12};
  c.history = {history_row(0)};
  c.train_examples = 100;
  c.class_names = {"cat", "dog"};
  kbnn::write_checkpoint(path, world(), c);
  CHECK(kbnn::read_checkpoint(path, world()).keep == c.keep);
  if (world_rank() != 0) return;

  // What h5dump -A shows: every attribute and member of /checkpoint is explained.
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t group = H5Gopen2(file, "/checkpoint", H5P_DEFAULT);
  std::vector<std::string> names;
  const auto add_attribute = [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->push_back(name);
    return 0;
  };
  REQUIRE(H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, add_attribute, &names) >= 0);
  H5G_info_t info;
  REQUIRE(H5Gget_info(group, &info) >= 0);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[64] = {};
    REQUIRE(H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) > 0);
    names.push_back(name);
  }
  H5Gclose(group);
  CHECK(names.size() == 16);  // 10 attributes (description too), 6 members
  const std::string description = string_attribute(file, "/checkpoint", "description");
  for (const std::string& name : names) {
    INFO(name);
    if (name != "description") CHECK(description.find(name) != std::string::npos);
  }
  const std::string file_description = string_attribute(file, "/", "description");
  for (const char* part : {"sums since the last history row", "keep mask", "history"})
    CHECK(file_description.find(part) != std::string::npos);
  H5Fclose(file);
}

TEST_CASE("read_checkpoint: history fields of different lengths are refused", "[hdf5][mpi]") {
  const SharedTempDir dir;
  const std::string path = dir.file("uneven.h5");
  kbnn::Checkpoint c = sample_checkpoint(8, 40);
  c.history = {history_row(0), history_row(1)};
  kbnn::write_checkpoint(path, world(), c);
  if (world_rank() == 0) {
    // The last field grows by a row (its dataset is extendible, as the run file's).
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t d = H5Dopen2(file, "/checkpoint/history/images_per_second", H5P_DEFAULT);
    const hsize_t three = 3;
    REQUIRE(H5Dset_extent(d, &three) >= 0);
    H5Dclose(d);
    H5Fclose(file);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE_THROWS_WITH(kbnn::read_checkpoint(path, world()),
                      contains(path + ": /checkpoint/history/images_per_second: 3 rows, other "
                                      "fields 2"));
}

#include "train/step_dump.hpp"

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/handle.hpp"
#include "h5/rows.hpp"
#include "h5/types.hpp"
#include "layers/bayesian_affine.hpp"
#include "layers/max_pool.hpp"
#include "parallel/agree.hpp"
#include "train/kl_divergence.hpp"

#include <deque>
#include <vector>

namespace kbnn {

struct StepDump::File {
  std::string path;
  h5::SerialFile id;
};

namespace {

template <class View>
auto to_host(const View& v) {
  return Kokkos::create_mirror_view_and_copy(HostSpace(), v);
}

// The group at `path` ("/steps/3/layers"), created with any missing on the way.
h5::Group group_at(hid_t file, const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1))
    if (!h5::exists(file, path.substr(0, slash))) h5::create_group(file, path.substr(0, slash));
  if (!h5::exists(file, path)) return h5::create_group(file, path);
  return h5::open_group(file, path);
}

// Writes `data` as the dataset at `path` (groups on the way are created).
template <class T>
void write_array(hid_t file, const std::string& path, const std::vector<hsize_t>& dims,
                 const T* data, const std::string& what) {
  const std::string where = what + ": " + path;
  const std::size_t slash = path.rfind('/');
  const h5::Group parent = group_at(file, path.substr(0, slash));
  const h5::DataSet set = h5::create_dataset<T>(parent, path.substr(slash + 1), dims, where);
  KBNN_H5_CHECK_AT(H5Dwrite(set, h5::TypeOf<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                   where);
}

// Every block of the store under `group`: <block>/mu and <block>/rho, or <block>/value.
void write_blocks(hid_t file, const std::string& group, const ParameterStore<Real>& store,
                  const View1<Real>& flat, const std::string& what) {
  const auto host = to_host(flat);
  for (const auto& b : store.blocks()) {
    const std::vector<hsize_t> dims(b.shape.begin(), b.shape.end());
    const std::string path = group + "/" + b.name;
    if (b.kind == ParameterStore<Real>::Kind::gaussian) {
      write_array(file, path + "/mu", dims, &host(b.offset), what);
      write_array(file, path + "/rho", dims, &host(store.gaussian_count() + b.offset), what);
    } else {
      write_array(file, path + "/value", dims, &host(b.offset), what);
    }
  }
}

// A (rows, columns) table of the step's global batch, or with columns = 0 a (rows)
// vector: each rank computed rows [lo, hi).
template <class T>
struct BatchTable {
  std::string path;  // under /steps/<k>/
  bool vector;
  std::int64_t width;
  std::vector<T> values;

  BatchTable(std::string where, std::int64_t rows, std::int64_t columns)
      : path(std::move(where)), vector(columns == 0), width(vector ? 1 : columns),
        values(std::size_t(rows * width), T(0)) {}
  T& at(std::int64_t row, std::int64_t column) { return values[std::size_t(row * width + column)]; }
  // This rank's rows [lo, hi) from `local` (rows 0.. of a (examples, >= width) view).
  template <class View>
  void fill(const View& local, std::int64_t lo, std::int64_t hi) {
    const auto host = to_host(local);
    for (std::int64_t e = lo; e < hi; ++e)
      for (std::int64_t j = 0; j < width; ++j) at(e, j) = host(e - lo, j);
  }
  // The others' rows, by a sum over ranks (one nonzero term per entry: exact).
  void gather(const Communicator& comm) { comm.allreduce_sum(values.data(), values.size()); }
  void write(hid_t file, const std::string& group, const std::string& what) const {
    const auto rows = hsize_t(std::int64_t(values.size()) / width);
    std::vector<hsize_t> dims{rows, hsize_t(width)};
    if (vector) dims.pop_back();
    write_array(file, group + "/" + path, dims, values.data(), what);
  }
};

// The step's per-example tables, gathered on every rank: the batch's global indices
// and ranks, each Flipout layer's signs and each pooling layer's argmax. Deques: a
// table stays where emplace_back put it while the next one is added (sign_in is read
// after sign_out; a vector's growth left it dangling, which an OpenMP build's allocator
// turned into a crash).
struct StepTables {
  std::deque<BatchTable<std::int64_t>> indices;
  std::deque<BatchTable<std::int32_t>> integers;
  std::deque<BatchTable<Real>> signs;

  void write(hid_t file, const std::string& group, const std::string& what) const {
    for (const auto& t : indices) t.write(file, group, what);
    for (const auto& t : integers) t.write(file, group, what);
    for (const auto& t : signs) t.write(file, group, what);
  }
};

// This rank's rows of the global batch are its training rows first_row + order(p) for
// p in [position, position + hi - lo).
StepTables gather_tables(const Sequential<Real>& model, const View1<std::int64_t>& order,
                         std::int64_t position, std::int64_t first_row, std::int64_t rows,
                         std::int64_t lo, std::int64_t hi, const Communicator& comm) {
  StepTables t;
  t.indices.emplace_back("batch", rows, 0);
  t.integers.emplace_back("batch_rank", rows, 0);
  const auto mine = to_host(Kokkos::subview(order, Kokkos::make_pair(position, position + hi - lo)));
  for (std::int64_t e = lo; e < hi; ++e) {
    t.indices[0].at(e, 0) = first_row + mine(e - lo);
    t.integers[0].at(e, 0) = comm.rank();
  }
  for (const auto& layer : model.layers()) {
    if (const auto* pool = dynamic_cast<const MaxPool<Real>*>(layer.get())) {
      auto& argmax = t.integers.emplace_back(concat("layers/", pool->name(), "/argmax"), rows,
                                             std::int64_t(pool->output_shape().size()));
      argmax.fill(pool->argmax(), lo, hi);
    }
    const BayesianAffine<Real>* affine = layer->bayesian_affine();
    if (affine == nullptr || !affine->drew_signs()) continue;
    const std::string path = concat("layers/", affine->name());
    auto& in = t.signs.emplace_back(path + "/sign_in", rows,
                                    std::int64_t(affine->input_signs().extent(1)));
    in.fill(affine->input_signs(), lo, hi);
    auto& out = t.signs.emplace_back(path + "/sign_out", rows,
                                     std::int64_t(affine->output_signs().extent(1)));
    out.fill(affine->output_signs(), lo, hi);
    if (affine->output_signs_folded())  // R was stored as S R (one input channel): undo it
      for (std::int64_t e = lo; e < hi; ++e)
        for (std::int64_t o = 0; o < out.width; ++o) out.at(e, o) *= in.at(e, 0);
  }
  for (auto& table : t.indices) table.gather(comm);
  for (auto& table : t.integers) table.gather(comm);
  for (auto& table : t.signs) table.gather(comm);
  return t;
}

}  // namespace

StepDump::StepDump(const std::string& path, std::int64_t steps, const StepDumpRun& run,
                   Sequential<Real>& model, Communicator& comm)
    : steps_(steps), prior_sigma_(run.prior_sigma), n_train_(run.n_train),
      first_row_(run.first_row), model_(model), comm_(comm) {
  const h5::QuietErrors quiet;
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id < 0) throw InputError(concat("debug.dump_file: cannot create ", path));
    file_ = std::make_unique<File>(File{path, h5::SerialFile(id)});
  });
  if (!file_) return;
  const hid_t f = file_->id;
  h5::describe(f, "", "kbnn step dump: the first training steps, to replay them elsewhere "
                      "(src/train/step_dump.hpp)");
#ifdef KBNN_VERSION
  h5::write_attribute(f, "kbnn_version", KBNN_VERSION);  // kbnn info tells it by its layout
#endif
  h5::write_attribute(f, "seed", run.seed);
  h5::write_attribute(f, "n_train", run.n_train);
  h5::write_attribute(f, "global_batch", run.global_batch);
  h5::write_attribute(f, "lr", run.lr);
  h5::write_attribute(f, "prior_sigma", run.prior_sigma);
  h5::write_attribute(f, "adam_beta1", run.adam_beta1);
  h5::write_attribute(f, "adam_beta2", run.adam_beta2);
  h5::write_attribute(f, "adam_epsilon", run.adam_epsilon);
  h5::write_attribute(f, "ranks", std::int32_t(comm.size()));
  h5::write_attribute(f, "steps", steps);
  h5::write_attribute(f, "deck", run.deck);
  auto& store = model.parameters();
  write_blocks(f, "/initial", store, store.values(), path);
}

StepDump::~StepDump() = default;

void StepDump::record_gradients(std::int64_t step, const View1<std::int64_t>& order,
                                std::int64_t position, std::int64_t rows, std::int64_t lo,
                                std::int64_t hi, double nll_sum, double beta) {
  // Collective parts first, on every rank: the NLL and the per-example tables.
  const double nll = comm_.allreduce_sum(nll_sum) / double(rows);
  const StepTables tables =
      gather_tables(model_, order, position, first_row_, rows, lo, hi, comm_);
  const auto& store = model_.parameters();
  const double kl = kl_divergence(store, prior_sigma_);
  if (!file_) return;

  const hid_t f = file_->id;
  const std::string& what = file_->path;
  const std::string group = concat("/steps/", step);
  tables.write(f, group, what);
  for (const auto& layer : model_.layers()) {
    const BayesianAffine<Real>* affine = layer->bayesian_affine();
    if (affine == nullptr) continue;
    const auto& g = affine->geometry();
    const std::string path = group + "/layers/" + affine->name();
    const auto eps = to_host(affine->weight_noise());
    if (eps.extent(0) > 0)
      write_array(f, path + "/eps", {g.kernel_shape.begin(), g.kernel_shape.end()}, eps.data(),
                  what);
    const auto bias_eps = to_host(affine->bias_noise());
    if (bias_eps.extent(0) > 0)
      write_array(f, path + "/bias_eps", {hsize_t(g.out_features)}, bias_eps.data(), what);
  }
  write_blocks(f, group + "/gradients", store, store.gradients(), what);
  const h5::Group step_group = h5::open_group(f, group);
  h5::write_attribute(step_group, "nll", nll);
  h5::write_attribute(step_group, "kl", kl);
  h5::write_attribute(step_group, "beta", beta);
  h5::write_attribute(step_group, "loss", nll + beta * kl / double(n_train_));
}

void StepDump::record_parameters(std::int64_t step) {
  if (!file_) return;
  auto& store = model_.parameters();
  write_blocks(file_->id, concat("/steps/", step, "/parameters"), store, store.values(),
               file_->path);
  KBNN_H5_CHECK_AT(H5Fflush(file_->id, H5F_SCOPE_LOCAL), file_->path);
}

}  // namespace kbnn

#include "train/step_dump.hpp"

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/handle.hpp"
#include "h5/types.hpp"
#include "layers/bayesian_affine.hpp"
#include "parallel/agree.hpp"
#include "train/kl_divergence.hpp"

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

// Writes `data` as the dataset at `path` (groups on the way are created).
template <class T>
void write_array(hid_t file, const std::string& path, std::vector<hsize_t> dims, const T* data,
                 const std::string& what) {
  const std::string where = what + ": " + path;
  const h5::PropList links(KBNN_H5_CHECK_AT(H5Pcreate(H5P_LINK_CREATE), where));
  KBNN_H5_CHECK_AT(H5Pset_create_intermediate_group(links, 1), where);
  const h5::Space space(
      KBNN_H5_CHECK_AT(H5Screate_simple(int(dims.size()), dims.data(), nullptr), where));
  const h5::DataSet set(KBNN_H5_CHECK_AT(H5Dcreate2(file, path.c_str(), h5::TypeOf<T>::file(),
                                                    space, links, H5P_DEFAULT, H5P_DEFAULT),
                                         where));
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

// The global batch's rows of a sign matrix: this rank's rows [lo, hi) from `local`,
// the others' by a sum over ranks (one nonzero term per entry: exact).
std::vector<Real> gather_rows(const View2<Real>& local, std::int64_t rows, std::int64_t lo,
                              std::int64_t hi, const Communicator& comm) {
  const auto host = to_host(local);
  const std::int64_t width = std::int64_t(local.extent(1));
  std::vector<Real> all(std::size_t(rows * width), Real(0));
  for (std::int64_t e = lo; e < hi; ++e)
    for (std::int64_t j = 0; j < width; ++j) all[std::size_t(e * width + j)] = host(e - lo, j);
  comm.allreduce_sum(all.data(), all.size());
  return all;
}

}  // namespace

StepDump::StepDump(const std::string& path, std::int64_t steps, const StepDumpRun& run,
                   Sequential<Real>& model, Communicator& comm)
    : steps_(steps), prior_sigma_(run.prior_sigma), n_train_(run.n_train), model_(model),
      comm_(comm) {
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
                                std::int64_t first, std::int64_t rows, std::int64_t lo,
                                std::int64_t hi, double nll_sum, double beta) {
  // Collective parts first, on every rank: the NLL and the signs.
  const double nll = comm_.allreduce_sum(nll_sum) / double(rows);
  struct Signs {
    std::string layer;
    std::vector<Real> in, out;
    std::int64_t in_width, out_width;
  };
  std::vector<Signs> signs;
  for (const auto& layer : model_.layers()) {
    const BayesianAffine<Real>* affine = layer->bayesian_affine();
    if (affine == nullptr || !affine->drew_signs()) continue;
    Signs s{affine->name(), gather_rows(affine->input_signs(), rows, lo, hi, comm_),
            gather_rows(affine->output_signs(), rows, lo, hi, comm_),
            std::int64_t(affine->input_signs().extent(1)),
            std::int64_t(affine->output_signs().extent(1))};
    if (affine->output_signs_folded())  // R was stored as S R (one input channel): undo it
      for (std::int64_t e = 0; e < rows; ++e)
        for (std::int64_t o = 0; o < s.out_width; ++o) s.out[e * s.out_width + o] *= s.in[e];
    signs.push_back(std::move(s));
  }
  const auto& store = model_.parameters();
  const double kl = kl_divergence(store, prior_sigma_);
  if (!file_) return;

  const hid_t f = file_->id;
  const std::string& what = file_->path;
  const std::string group = concat("/steps/", step);
  const auto batch = to_host(Kokkos::subview(order, Kokkos::make_pair(first, first + rows)));
  write_array(f, group + "/batch", {hsize_t(rows)}, batch.data(), what);
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
  for (const auto& s : signs) {
    const std::string path = group + "/layers/" + s.layer;
    write_array(f, path + "/sign_in", {hsize_t(rows), hsize_t(s.in_width)}, s.in.data(), what);
    write_array(f, path + "/sign_out", {hsize_t(rows), hsize_t(s.out_width)}, s.out.data(), what);
  }
  write_blocks(f, group + "/gradients", store, store.gradients(), what);
  const h5::Group step_group(KBNN_H5_CHECK_AT(H5Gopen2(f, group.c_str(), H5P_DEFAULT), what));
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

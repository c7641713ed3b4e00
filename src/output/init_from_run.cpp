#include "output/init_from_run.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "core/path_note.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/rows.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace kbnn {

double moped_rho(double w, double delta) {
  const double sigma = std::max(delta * std::abs(w), moped_sigma_floor);
  // log(exp(s) - 1) = s + log(1 - exp(-s)): exact for small s, no overflow for large.
  return sigma + std::log(-std::expm1(-sigma));
}

template <class Scalar>
void initialize_from_run(ParameterStore<Scalar>& store, const std::string& path,
                         double moped_delta) {
  const std::string where = concat(path, ": model.init_from");
  if (!std::filesystem::exists(path)) throw InputError(concat(where, ": no such file", relative_path_note(path)));
  const h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(concat(where, ": not an HDF5 file"));
  const h5::SerialFile file(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  if (!h5::exists(file, "weights"))
    throw InputError(concat(where, ": no /weights group (a kbnn run file has it once training "
                                   "has finished)"));
  const h5::Group weights = h5::open_group(file, "weights");

  using Block = typename ParameterStore<Scalar>::Block;
  auto values = Kokkos::create_mirror_view_and_copy(HostSpace(), store.values());
  std::set<std::string> model_layers;
  for (const Block& b : store.blocks()) {
    const std::string layer = b.layer(), tensor = b.tensor();
    model_layers.insert(layer);
    if (!h5::exists(weights, layer))
      throw InputError(concat(where, ": layer ", layer, " (", tensor, " ", shape_text(b.shape),
                              ") is not in the run file"));
    const h5::Group group = h5::open_group(weights, layer);
    // A deterministic run stores the tensor itself, a Bayesian one its mean.
    const std::string name = h5::exists(group, tensor) ? tensor : tensor + "_mu";
    if (!h5::exists(group, name))
      throw InputError(concat(where, ": layer ", layer, " has no ", tensor, " or ", tensor,
                              "_mu in the run file"));
    const std::string what = concat(path, ": /weights/", layer, "/", name);
    const auto dims = h5::dataset_shape(group, name, what);
    if (!std::equal(dims.begin(), dims.end(), b.shape.begin(), b.shape.end()))
      throw InputError(concat(where, ": layer ", layer, ": ", tensor, " has shape ",
                              shape_text(dims), " in the run file but ", shape_text(b.shape),
                              " in the deck's model"));
    const auto w = h5::read_column<double>(group, name, what);
    const bool gaussian = b.kind == ParameterStore<Scalar>::Kind::gaussian;
    for (std::size_t i = 0; i < b.count; ++i) {
      values(b.offset + i) = Scalar(w[i]);
      if (gaussian && moped_delta > 0)
        values(b.offset + store.gaussian_count() + i) = Scalar(moped_rho(w[i], moped_delta));
    }
  }
  for (const std::string& layer : h5::member_names(weights, path + ": /weights"))
    if (!model_layers.count(layer))
      throw InputError(concat(where, ": the run file has layer ", layer,
                              ", which the deck's model does not"));
  Kokkos::deep_copy(store.values(), values);
}

template void initialize_from_run(ParameterStore<float>&, const std::string&, double);
template void initialize_from_run(ParameterStore<double>&, const std::string&, double);

}  // namespace kbnn

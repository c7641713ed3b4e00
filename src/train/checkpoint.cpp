#include "train/checkpoint.hpp"

#include "core/error.hpp"

namespace kbnn {

void load_parameters(const Checkpoint& c, const std::string& path, const ParameterStore<Real>& store) {
  if (c.parameters.size() != store.size())
    throw InputError(concat(path, ": the checkpoint holds ", c.parameters.size(),
                            " parameters, but this deck's model has ", store.size()));
  if (!c.keep.empty() && c.keep.size() != store.gaussian_count())
    throw InputError(concat(path, ": the keep mask covers ", c.keep.size(),
                            " weights, but this deck's model has ", store.gaussian_count(),
                            " Gaussian weights"));
  using HostFloats = Kokkos::View<const float*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Kokkos::deep_copy(store.values(), HostFloats(c.parameters.data(), c.parameters.size()));
  const std::vector<float> keep(c.keep.begin(), c.keep.end());
  if (keep.empty())
    Kokkos::deep_copy(store.keep(), Real(1));
  else
    Kokkos::deep_copy(store.keep(), HostFloats(keep.data(), keep.size()));
}

std::vector<std::uint8_t> keep_mask_of(const ParameterStore<Real>& store) {
  const auto keep = Kokkos::create_mirror_view_and_copy(HostSpace(), store.keep());
  std::vector<std::uint8_t> mask(keep.size());
  bool pruned = false;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    mask[i] = keep(i) != 0;
    pruned = pruned || !mask[i];
  }
  return pruned ? mask : std::vector<std::uint8_t>{};
}

}  // namespace kbnn

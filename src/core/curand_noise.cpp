#include "core/curand_noise.hpp"

#include "core/curand_philox.hpp"

#include <type_traits>

namespace kbnn {

namespace {
// SplitMix64 finaliser: unrelated generator seeds for neighbouring (layer, stream).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

CurandPosition curand_position(const NoiseKey& key, Stream stream, std::size_t count) {
  const std::uint64_t tag = (std::uint64_t(key.layer) << 8) | std::uint64_t(stream);
  return {mix(key.seed ^ mix(tag)), std::uint64_t(key.step) * ((count + 1) & ~std::size_t(1))};
}

CurandNormals::CurandNormals() = default;
CurandNormals::CurandNormals(CurandNormals&&) noexcept = default;
CurandNormals& CurandNormals::operator=(CurandNormals&&) noexcept = default;

CurandNormals::~CurandNormals() = default;

bool CurandNormals::uses_curand() {
#ifdef KBNN_HAVE_CURAND
  return CurandPhilox::default_target == CurandPhilox::Target::device;
#else
  return false;
#endif
}

template <class Scalar>
void CurandNormals::fill(const NoiseKey& key, Stream stream, const View1<Scalar>& out) {
  const std::size_t n = out.extent(0);
  const CurandPosition at = curand_position(key, stream, n);
#ifdef KBNN_HAVE_CURAND
  // cuRAND's device generator fills GPU buffers in bulk. On CPUs its host generator is
  // much slower than the kernel below (measured: 3.6x slower training with it), and
  // gives the same numbers, so CPU builds use the kernel.
  if constexpr (std::is_same<Scalar, float>::value &&
                CurandPhilox::default_target == CurandPhilox::Target::device) {
    if (!generator_) generator_ = std::make_unique<CurandPhilox>(at.seed);
    generator_->set_seed(at.seed);
    generator_->set_offset(at.offset);
    generator_->fill_normal(out.data(), n, 0.0f, 1.0f);
    return;
  }
#endif
  Kokkos::parallel_for(
      "kbnn::CurandNormals::fill", Range(0, n), KOKKOS_LAMBDA(const std::int64_t i) {
        out(i) = Scalar(curand_philox_normal(at.seed, at.offset + std::uint64_t(i)));
      });
}

template void CurandNormals::fill(const NoiseKey&, Stream, const View1<float>&);
template void CurandNormals::fill(const NoiseKey&, Stream, const View1<double>&);

}  // namespace kbnn

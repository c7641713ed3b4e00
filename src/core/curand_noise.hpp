// Weight noise from cuRAND's Philox4_32_10 normal stream (model.noise = curand).
//
// The stream of (seed, step, layer, stream) is cuRAND's stream for the generator
// seed mix(seed, layer, stream), from position step * (count rounded up to even), so
// every rank, and a restarted run, draws the same numbers. When Kokkos runs on CUDA,
// cuRAND's device generator fills the buffer in bulk; elsewhere a Kokkos kernel
// computes the same numbers with curand_philox_normal (curand_philox.hpp, tested
// against cuRAND's host generator), so results do not depend on where it ran.
#pragma once

#include "core/choices.hpp"
#include "core/philox.hpp"
#include "core/types.hpp"

#include <cstdint>
#include <memory>

namespace kbnn {

class CurandPhilox;

// Generator seed and first position of a (key, stream) draw of `count` normals.
struct CurandPosition {
  std::uint64_t seed;
  std::uint64_t offset;
};
CurandPosition curand_position(const NoiseKey& key, Stream stream, std::size_t count);

class CurandNormals {
 public:
  CurandNormals();
  ~CurandNormals();
  CurandNormals(CurandNormals&&) noexcept;
  CurandNormals& operator=(CurandNormals&&) noexcept;

  // out(i) = normal i of the (key, stream) draw, i < out.extent(0).
  template <class Scalar>
  void fill(const NoiseKey& key, Stream stream, const View1<Scalar>& out);

  // Whether fill<float> goes through cuRAND itself (CUDA builds).
  static bool uses_curand();

 private:
#ifdef KBNN_HAVE_CURAND
  std::unique_ptr<CurandPhilox> generator_;  // created on first use
#endif
};

}  // namespace kbnn

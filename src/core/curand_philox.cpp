// CurandPhilox: the cuRAND calls behind the bulk noise path. Built only when the CUDA
// toolkit is found (KBNN_HAVE_CURAND). See curand_philox.hpp for the stream mapping.
#include "core/curand_philox.hpp"

#include "core/error.hpp"

#include <curand.h>

#include <utility>

namespace kbnn {
namespace {

const char* curand_status_name(curandStatus_t status) {
  switch (status) {
    case CURAND_STATUS_SUCCESS: return "CURAND_STATUS_SUCCESS";
    case CURAND_STATUS_VERSION_MISMATCH: return "CURAND_STATUS_VERSION_MISMATCH";
    case CURAND_STATUS_NOT_INITIALIZED: return "CURAND_STATUS_NOT_INITIALIZED";
    case CURAND_STATUS_ALLOCATION_FAILED: return "CURAND_STATUS_ALLOCATION_FAILED";
    case CURAND_STATUS_TYPE_ERROR: return "CURAND_STATUS_TYPE_ERROR";
    case CURAND_STATUS_OUT_OF_RANGE: return "CURAND_STATUS_OUT_OF_RANGE";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE: return "CURAND_STATUS_LENGTH_NOT_MULTIPLE";
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED: return "CURAND_STATUS_DOUBLE_PRECISION_REQUIRED";
    case CURAND_STATUS_LAUNCH_FAILURE: return "CURAND_STATUS_LAUNCH_FAILURE";
    case CURAND_STATUS_PREEXISTING_FAILURE: return "CURAND_STATUS_PREEXISTING_FAILURE";
    case CURAND_STATUS_INITIALIZATION_FAILED: return "CURAND_STATUS_INITIALIZATION_FAILED";
    case CURAND_STATUS_ARCH_MISMATCH: return "CURAND_STATUS_ARCH_MISMATCH";
    case CURAND_STATUS_INTERNAL_ERROR: return "CURAND_STATUS_INTERNAL_ERROR";
  }
  return "unknown cuRAND status";
}

void curand_check(curandStatus_t status, const char* call, const char* file, int line) {
  if (status != CURAND_STATUS_SUCCESS) {
    throw RuntimeError(concat("cuRAND: ", call, " failed with ", curand_status_name(status),
                              " (", static_cast<int>(status), ") at ", file, ":", line));
  }
}

}  // namespace
}  // namespace kbnn

// Every cuRAND call goes through this macro so that a failure names the call, the
// status, and where it happened.
#define KBNN_CURAND_CHECK(call) ::kbnn::curand_check((call), #call, __FILE__, __LINE__)

namespace kbnn {

CurandPhilox::CurandPhilox(std::uint64_t seed, Target target) : target_(target), seed_(seed) {
  if (target == Target::device) {
#ifdef KOKKOS_ENABLE_CUDA
    KBNN_CURAND_CHECK(curandCreateGenerator(&gen_, CURAND_RNG_PSEUDO_PHILOX4_32_10));
#else
    throw RuntimeError(
        "cuRAND: a device generator needs a Kokkos build with CUDA; use Target::host");
#endif
  } else {
    KBNN_CURAND_CHECK(curandCreateGeneratorHost(&gen_, CURAND_RNG_PSEUDO_PHILOX4_32_10));
  }
  // From here on the destructor would not run if a call threw, so release by hand.
  try {
    // LEGACY is the ordering that NVIDIA promises to keep fixed across releases, and
    // the mapping in the header depends on it.
    KBNN_CURAND_CHECK(curandSetGeneratorOrdering(gen_, CURAND_ORDERING_PSEUDO_LEGACY));
    KBNN_CURAND_CHECK(curandSetPseudoRandomGeneratorSeed(gen_, seed_));
    KBNN_CURAND_CHECK(curandSetGeneratorOffset(gen_, offset_));
#ifdef KOKKOS_ENABLE_CUDA
    // Put generation on Kokkos' stream so that it runs in order with our kernels.
    if (target == Target::device) {
      KBNN_CURAND_CHECK(curandSetStream(gen_, Kokkos::Cuda().cuda_stream()));
    }
#endif
  } catch (...) {
    curandDestroyGenerator(gen_);
    throw;
  }
}

CurandPhilox::~CurandPhilox() {
  // A destructor must not throw, and a failure to release leaves nothing to recover.
  if (gen_ != nullptr) curandDestroyGenerator(gen_);
}

CurandPhilox::CurandPhilox(CurandPhilox&& other) noexcept
    : gen_(std::exchange(other.gen_, nullptr)),
      target_(other.target_),
      seed_(other.seed_),
      offset_(other.offset_) {}

CurandPhilox& CurandPhilox::operator=(CurandPhilox&& other) noexcept {
  if (this != &other) {
    if (gen_ != nullptr) curandDestroyGenerator(gen_);
    gen_ = std::exchange(other.gen_, nullptr);
    target_ = other.target_;
    seed_ = other.seed_;
    offset_ = other.offset_;
  }
  return *this;
}

void CurandPhilox::set_seed(std::uint64_t seed) {
  KBNN_CURAND_CHECK(curandSetPseudoRandomGeneratorSeed(gen_, seed));
  seed_ = seed;
  // Reseeding in the middle of a stream leaves cuRAND at the wrong position. The host
  // generator was seen at the set offset plus about a quarter of the words generated
  // since then (offset 10, then 5000 words, then a new seed: next word 1260, not
  // 5010). Setting the offset again puts it where offset_ says.
  KBNN_CURAND_CHECK(curandSetGeneratorOffset(gen_, offset_));
}

void CurandPhilox::set_offset(std::uint64_t offset) {
  KBNN_CURAND_CHECK(curandSetGeneratorOffset(gen_, offset));
  offset_ = offset;
}

void CurandPhilox::generate_uint32(std::uint32_t* out, std::size_t n) {
  if (n == 0) return;
  if (out == nullptr) throw RuntimeError("cuRAND: generate_uint32 given a null buffer");
  static_assert(sizeof(unsigned int) == sizeof(std::uint32_t), "cuRAND writes unsigned int");
  KBNN_CURAND_CHECK(curandGenerate(gen_, reinterpret_cast<unsigned int*>(out), n));
  offset_ += n;
}

void CurandPhilox::fill_normal(float* out, std::size_t n, float mean, float stddev) {
  if (n == 0) return;
  if (out == nullptr) throw RuntimeError("cuRAND: fill_normal given a null buffer");
  const std::size_t even = n - n % 2;
  if (even > 0) KBNN_CURAND_CHECK(curandGenerateNormal(gen_, out, even, mean, stddev));
  if (even < n) {
    // The pair (offset_ + even, offset_ + even + 1) goes to scratch. Only its first
    // element is kept, and the second is consumed so that the position stays even.
    if (target_ == Target::host) {
      float tail[2];
      KBNN_CURAND_CHECK(curandGenerateNormal(gen_, tail, 2, mean, stddev));
      out[even] = tail[0];
    } else {
#ifdef KOKKOS_ENABLE_CUDA
      Kokkos::View<float*, Kokkos::CudaSpace> tail(
          Kokkos::view_alloc("kbnn::CurandPhilox::tail", Kokkos::WithoutInitializing), 2);
      KBNN_CURAND_CHECK(curandGenerateNormal(gen_, tail.data(), 2, mean, stddev));
      Kokkos::View<float*, Kokkos::CudaSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> last(
          out + even, 1);
      // deep_copy fences first, so the generation on Kokkos' stream has finished.
      Kokkos::deep_copy(last, Kokkos::subview(tail, std::make_pair(0, 1)));
#endif
    }
  }
  offset_ += even + 2 * (n % 2);
}

}  // namespace kbnn

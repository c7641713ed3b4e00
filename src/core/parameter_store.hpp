// The flat parameter store: every trainable number of the model in ONE View, with a
// gradient View of the same length (llm.c's params_memory). Layers declare blocks,
// the store lays them out, and layers keep subviews. One buffer means one allreduce,
// one optimizer kernel, one KL kernel and one checkpoint dataset.
//
// Layout: [ mu of all Gaussian blocks | rho of all Gaussian blocks | point estimates ].
// Putting all mu first and all rho second makes KL(q||p) a single kernel over
// [0, gaussian_count()) that reads mu at i and rho at i + gaussian_count().
//
// SNR pruning (kbnn prune) removes Gaussian weights with a keep mask over [0,
// gaussian_count()): 1 keeps weight i, 0 removes it. A removed weight has mu = 0, its
// draws are multiplied by 0 (GaussianWeights::sample), and it leaves the KL term and
// its gradient (train/kl_divergence.hpp), so it stays exactly zero while training goes on.
#pragma once

#include "core/error.hpp"
#include "core/types.hpp"

#include <string>
#include <vector>

namespace kbnn {

template <class Scalar>
class ParameterStore {
 public:
  enum class Kind { gaussian, point };

  struct Block {
    std::string name;                // "conv2d_0/kernel"
    Kind kind;
    std::vector<std::size_t> shape;  // row-major, e.g. (out, kh, kw, in) for a conv kernel
    std::size_t count;               // number of weights (a Gaussian block stores 2 * count)
    std::size_t offset = 0;          // of mu (Gaussian) or of the values (point)

    // The two parts of the name "<layer>/<tensor>", as the run file's
    // /weights/<layer>/<tensor> stores the block.
    std::string layer() const { return name.substr(0, name.find('/')); }
    std::string tensor() const {
      const auto slash = name.find('/');
      return slash == std::string::npos ? name : name.substr(slash + 1);
    }
  };

  // Reserves a block of the given shape; returns its id. Only before allocate().
  int declare(const std::string& name, const std::vector<std::size_t>& shape, Kind kind) {
    if (allocated()) throw RuntimeError("ParameterStore::declare after allocate: " + name);
    std::size_t count = 1;
    for (auto extent : shape) count *= extent;
    blocks_.push_back(Block{name, kind, shape, count});
    return static_cast<int>(blocks_.size()) - 1;
  }

  // Lays the blocks out and allocates values and gradients (zeroed).
  void allocate() {
    gaussian_count_ = 0;
    for (auto& b : blocks_)
      if (b.kind == Kind::gaussian) {
        b.offset = gaussian_count_;
        gaussian_count_ += b.count;
      }
    std::size_t next = 2 * gaussian_count_;
    for (auto& b : blocks_)
      if (b.kind == Kind::point) {
        b.offset = next;
        next += b.count;
      }
    values_ = View1<Scalar>("kbnn::parameters", next);
    keep_ = View1<Scalar>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::keep"),
                          gaussian_count_);
    Kokkos::deep_copy(keep_, Scalar(1));
    reduced_ = View1<Scalar>("kbnn::gradients", next + 1);
    gradients_ = Kokkos::subview(reduced_, Kokkos::make_pair(std::size_t(0), next));
  }

  bool allocated() const { return values_.is_allocated(); }
  std::size_t size() const { return values_.extent(0); }
  std::size_t gaussian_count() const { return gaussian_count_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  const Block& block(int id) const { return blocks_.at(id); }

  View1<Scalar> values() const { return values_; }        // (size)
  View1<Scalar> gradients() const { return gradients_; }  // (size)
  // The gradients and, after them, one control number (the trainer's stop request):
  // what the step's one allreduce sums, so that every rank sees the control's sum at
  // the same step. control() is that last element.
  View1<Scalar> gradients_and_control() const { return reduced_; }  // (size + 1)
  auto control() const { return Kokkos::subview(reduced_, size()); }

  // Subviews of one block: mu / rho of a Gaussian block, the values of a point block.
  View1<Scalar> mu(int id) const { return slice(values_, id, 0); }
  View1<Scalar> rho(int id) const { return slice(values_, id, gaussian_count_); }
  View1<Scalar> point(int id) const { return slice(values_, id, 0); }
  View1<Scalar> grad_mu(int id) const { return slice(gradients_, id, 0); }
  View1<Scalar> grad_rho(int id) const { return slice(gradients_, id, gaussian_count_); }
  View1<Scalar> grad_point(int id) const { return slice(gradients_, id, 0); }
  // The keep mask (1 = kept, 0 = pruned) of all Gaussian weights, and of one block.
  View1<Scalar> keep() const { return keep_; }  // (gaussian_count)
  View1<Scalar> keep(int id) const { return slice(keep_, id, 0); }

  void zero_gradients() const { Kokkos::deep_copy(reduced_, Scalar(0)); }

 private:
  View1<Scalar> slice(const View1<Scalar>& v, int id, std::size_t shift) const {
    const Block& b = blocks_.at(id);
    const std::size_t begin = b.offset + shift;
    return Kokkos::subview(v, Kokkos::make_pair(begin, begin + b.count));
  }

  std::vector<Block> blocks_;
  std::size_t gaussian_count_ = 0;
  View1<Scalar> values_;
  View1<Scalar> reduced_;    // (size + 1): gradients, then the control number
  View1<Scalar> gradients_;  // (size): the gradient part of reduced_
  View1<Scalar> keep_;       // (gaussian_count): the pruning mask, all ones unless pruned
};

}  // namespace kbnn

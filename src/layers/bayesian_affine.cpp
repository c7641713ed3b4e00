#include "layers/bayesian_affine.hpp"

#include "core/noise.hpp"
#include "layers/affine_bias_kernels.hpp"
#include "layers/affine_deterministic.hpp"
#include "layers/affine_flipout.hpp"
#include "layers/affine_local_reparam.hpp"
#include "layers/affine_narrow_kernel.hpp"
#include "layers/affine_reparam.hpp"

#include <stdexcept>
#include <utility>

namespace kbnn {

namespace {
// Bayesian biases draw from their own key so they never share numbers with the kernel.
constexpr std::uint32_t bias_key_offset = 1u << 23;

template <class Scalar>
std::unique_ptr<AffineEstimator<Scalar>> make_estimator(Estimator estimator,
                                                        const AffinePlan& plan) {
  switch (estimator) {
    case Estimator::flipout: return std::make_unique<FlipoutAffine<Scalar>>(plan);
    case Estimator::reparam: return std::make_unique<ReparamAffine<Scalar>>(plan);
    case Estimator::local_reparam: return std::make_unique<LocalReparamAffine<Scalar>>(plan);
    case Estimator::deterministic: return std::make_unique<DeterministicAffine<Scalar>>(plan);
  }
  throw std::logic_error("BayesianAffine: unknown estimator");
}
}  // namespace

template <class Scalar>
BayesianAffine<Scalar>::BayesianAffine(std::string name, std::uint32_t layer_index,
                                       Geometry geometry, BayesOptions options)
    : name_(std::move(name)), layer_index_(layer_index), geometry_(std::move(geometry)),
      path_(choose_path(geometry_, options)),
      narrow_forward_(path_ == AffinePath::narrow ||
                      (path_ == AffinePath::per_example && fits_narrow(geometry_))),
      estimator_(make_estimator<Scalar>(
          options.estimator, AffinePlan{geometry_.in_features, geometry_.out_features,
                                        geometry_.in_channels, geometry_.positions, path_,
                                        narrow_forward_, host_paths(options)})),
      options_(options) {
  // A layer with point weights is deterministic throughout: its bias is a point too.
  if (estimator_->point_weights()) options_.bayesian_bias = false;
}

template <class Scalar>
bool BayesianAffine<Scalar>::fits_narrow(const Geometry& g) {
  return g.out_features <= affine::narrow_max_outputs<Scalar>();
}

template <class Scalar>
AffinePath BayesianAffine<Scalar>::choose_path(const Geometry& g, const BayesOptions& options) {
  if (!options.fused_kernels) return AffinePath::gemm;
  // Local reparameterization's fused forward squares cols on the fly (its second product
  // is cols^2 sigma^2), so it saves a pass over cols and the whole batch's im2col at any K.
  if (options.estimator == Estimator::local_reparam)
    return fits_narrow(g) ? AffinePath::narrow : AffinePath::gemm;
  // Per-example weights pay when S varies along a row (more than one input channel;
  // with one, S folds into R) and each example has enough rows to fill a gemm.
  if (host_paths(options) && options.estimator == Estimator::flipout && g.in_channels > 1 &&
      g.positions >= 16)
    return AffinePath::per_example;
  // The fused kernel wins over gemm for few outputs and short rows (LeNet's conv1:
  // K = 25, O = 6, measured with KBNN_PROFILE_LAYERS); longer rows go to gemm, whose
  // backward pass is the same anyway.
  if (fits_narrow(g) && g.in_features <= 64) return AffinePath::narrow;
  return AffinePath::gemm;
}

template <class Scalar>
void BayesianAffine<Scalar>::declare(ParameterStore<Scalar>& store) {
  if (estimator_->point_weights())
    kernel_.declare_point(store, name_ + "/kernel", geometry_.kernel_shape);
  else
    kernel_.declare(store, name_ + "/kernel", geometry_.kernel_shape);
  const std::vector<std::size_t> bias_shape{std::size_t(geometry_.out_features)};
  if (options_.bayesian_bias)
    bias_gauss_.declare(store, name_ + "/bias", bias_shape);
  else
    bias_id_ = store.declare(name_ + "/bias", bias_shape, ParameterStore<Scalar>::Kind::point);
}

template <class Scalar>
void BayesianAffine<Scalar>::bind(const ParameterStore<Scalar>& store) {
  kernel_.bind(store);
  if (options_.bayesian_bias) {
    bias_gauss_.bind(store);
  } else {
    bias_point_ = store.point(bias_id_);
    grad_bias_point_ = store.grad_point(bias_id_);
  }
}

template <class Scalar>
void BayesianAffine<Scalar>::initialize(std::uint64_t seed) {
  const NoiseKey key{seed, 0, layer_index_};
  kernel_.initialize(key, options_.init_mu_stddev, options_.init_rho_mean,
                     options_.init_rho_stddev);
  const NoiseKey bias_key{seed, 0, layer_index_ + bias_key_offset};
  if (options_.bayesian_bias) {
    bias_gauss_.initialize(bias_key, options_.init_bias_stddev, options_.init_rho_mean,
                           options_.init_rho_stddev);
  } else {
    auto bias = bias_point_;
    const Scalar stddev = Scalar(options_.init_bias_stddev);
    Kokkos::parallel_for(
        "kbnn::BayesianAffine::initialize_bias", Range(0, bias.extent(0)),
        KOKKOS_LAMBDA(const int o) { bias(o) = stddev * bias_key.normal<Scalar>(Stream::init_bias, o); });
  }
}

template <class Scalar>
void BayesianAffine<Scalar>::reserve(int max_examples) {
  estimator_->reserve(max_examples);
  const std::size_t max_rows = std::size_t(max_examples) * geometry_.positions;
  d_bias_ = View1<Scalar>("kbnn::BayesianAffine::d_bias", geometry_.out_features);
  column_partial_ = View2<Scalar>(affine::workspace("column_partial"),
                                  (max_rows + affine::column_block - 1) / affine::column_block,
                                  geometry_.out_features);
}

template <class Scalar>
View1<Scalar> BayesianAffine<Scalar>::begin_forward(int examples, const PassContext& ctx) {
  using Draw = typename GaussianWeights<Scalar>::Draw;
  const NoiseKey key = ctx.key(layer_index_);
  kernel_.sample(key, Stream::weight_noise, estimator_->kernel_draw(ctx.sample), options_.noise);
  View1<Scalar> bias = bias_point_;
  if (options_.bayesian_bias) {
    bias_gauss_.sample(NoiseKey{ctx.seed, ctx.pass, layer_index_ + bias_key_offset},
                       Stream::bias_noise, ctx.sample ? Draw::full : Draw::mean, options_.noise);
    bias = bias_gauss_.used();
  }
  estimator_->begin_pass(examples, ctx, key);
  return bias;
}

template <class Scalar>
void BayesianAffine<Scalar>::forward(const PatchRows<Scalar>& patches, int rows,
                                     const Matrix<Scalar>& out, const PassContext& ctx) {
  if (!narrow_forward_)
    throw std::logic_error(name_ + ": implicit cols need the narrow forward kernel");
  const View1<Scalar> bias = begin_forward(rows / geometry_.positions, ctx);
  estimator_->forward_patches(kernel_, patches, rows, out, bias);
}

template <class Scalar>
void BayesianAffine<Scalar>::forward(const Matrix<const Scalar>& cols, const Matrix<Scalar>& out,
                                     const PassContext& ctx) {
  const int rows = static_cast<int>(cols.extent(0));
  const View1<Scalar> bias = begin_forward(rows / geometry_.positions, ctx);
  estimator_->forward(kernel_, cols, out, bias);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward(const Matrix<const Scalar>& cols,
                                      const Matrix<const Scalar>& dout,
                                      const Matrix<Scalar>& dcols) {
  estimator_->backward(kernel_, cols, dout, dcols);
  add_bias_gradient(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_begin(int examples, bool want_dcols) {
  if (!estimator_->pass_in_blocks())
    throw std::logic_error(name_ + ": this pass has no block-wise backward");
  estimator_->backward_begin(kernel_, examples, want_dcols);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_block(const Matrix<const Scalar>& cols,
                                            const Matrix<const Scalar>& dout,
                                            const Matrix<Scalar>& dcols, int first_example) {
  estimator_->backward_block(kernel_, cols, dout, dcols, first_example);
}

template <class Scalar>
void BayesianAffine<Scalar>::backward_end(const Matrix<const Scalar>& dout) {
  estimator_->backward_end(kernel_);
  add_bias_gradient(dout);
}

template <class Scalar>
void BayesianAffine<Scalar>::add_bias_gradient(const Matrix<const Scalar>& dout) {
  affine::column_sums(dout, column_partial_, d_bias_);
  if (options_.bayesian_bias)
    bias_gauss_.backprop(d_bias_);
  else
    affine::add_to(d_bias_, grad_bias_point_);
}

template <class Scalar>
View2<Scalar> BayesianAffine<Scalar>::input_signs() const {
  const FlipoutSigns<Scalar>* signs = estimator_->drawn_signs();
  return signs ? signs->in : View2<Scalar>();
}

template <class Scalar>
View2<Scalar> BayesianAffine<Scalar>::output_signs() const {
  const FlipoutSigns<Scalar>* signs = estimator_->drawn_signs();
  return signs ? signs->out : View2<Scalar>();
}

template class BayesianAffine<float>;
template class BayesianAffine<double>;

}  // namespace kbnn

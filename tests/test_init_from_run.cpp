// model.init_from / model.moped_delta (output/init_from_run.hpp): the MOPED rho formula
// against its definition, a run file's weights landing in the right places of a
// Bayesian and a deterministic model's store, the mismatch messages, and the run
// file's /weights as RunFile::write_weights writes them from a store.
#include "catch.hpp"

#include "core/error.hpp"
#include "core/math.hpp"
#include "output/run_file.hpp"
#include "output/init_from_run.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

using kbnn::test::contains;

namespace {

using Store = kbnn::ParameterStore<double>;

// A dense layer's blocks as Dense declares them: kernel (out, in), bias (out).
Store dense_store(int out, int in, Store::Kind kernel_kind, const std::string& layer = "dense_1") {
  Store store;
  store.declare(layer + "/kernel", {std::size_t(out), std::size_t(in)}, kernel_kind);
  store.declare(layer + "/bias", {std::size_t(out)}, Store::Kind::point);
  store.allocate();
  Kokkos::deep_copy(store.values(), -7.0);  // what the random initialisation left
  return store;
}

std::vector<double> host(const kbnn::View1<double>& v) {
  const auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(m.data(), m.data() + m.size());
}

// A run file with /weights/dense_1 as a run of the given kind writes it (2 x 3 kernel).
struct RunFileFixture {
  std::string path;
  std::vector<float> kernel{0.5f, -0.25f, 0.0f, 2.0f, -1.0f, 0.125f}, bias{0.1f, -0.2f};

  // extra_layer: the run also has dense_5, which the stores here never declare.
  explicit RunFileFixture(bool bayesian, bool extra_layer = false) {
    static int serial = 0;
    path = (std::filesystem::temp_directory_path() /
            kbnn::concat("kbnn_init_from_", ::getpid(), "_", serial++, ".h5"))
               .string();
    const kbnn::Communicator self(MPI_COMM_SELF);
    kbnn::RunFile file(path, self, kbnn::RunInfo{});
    if (bayesian) {
      file.write_weights("dense_1", "kernel_mu", kernel, {2, 3});
      file.write_weights("dense_1", "kernel_rho", std::vector<float>(6, -3.0f), {2, 3});
    } else {
      file.write_weights("dense_1", "kernel", kernel, {2, 3});
    }
    file.write_weights("dense_1", "bias", bias, {2});
    if (extra_layer) file.write_weights("dense_5", "kernel", kernel, {3, 2});
    file.close();
  }
  ~RunFileFixture() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("MOPED: softplus(rho) = max(delta |w|, floor)", "[moped]") {
  // The definition: rho = log(exp(sigma) - 1).
  CHECK(kbnn::moped_rho(0.1, 0.1) == Approx(std::log(std::exp(0.01) - 1)).epsilon(1e-12));
  CHECK(kbnn::moped_rho(-0.1, 0.1) == kbnn::moped_rho(0.1, 0.1));
  for (double w : {0.3, -2.0, 1e-3, 40.0, 1e4}) {
    INFO("w = " << w);
    CHECK(kbnn::math::softplus(kbnn::moped_rho(w, 0.1)) == Approx(0.1 * std::abs(w)).epsilon(1e-12));
  }
  // The floor: a zero (or tiny) weight gets sigma = 1e-5, rho finite.
  for (double w : {0.0, 1e-9}) {
    CHECK(std::isfinite(kbnn::moped_rho(w, 0.1)));
    CHECK(kbnn::math::softplus(kbnn::moped_rho(w, 0.1)) == Approx(kbnn::moped_sigma_floor).epsilon(1e-9));
  }
  CHECK(kbnn::moped_rho(0.0, 0.1) == Approx(std::log(std::expm1(1e-5))).epsilon(1e-12));
}

TEST_CASE("init_from puts a run's weights into mu, point values and MOPED's rho", "[moped]") {
  for (bool bayesian_run : {false, true}) {
    DYNAMIC_SECTION((bayesian_run ? "Bayesian" : "deterministic") << " run file") {
      const RunFileFixture run(bayesian_run);
      SECTION("into a Bayesian layer, with moped_delta") {
        Store store = dense_store(2, 3, Store::Kind::gaussian);
        kbnn::initialize_from_run(store, run.path, 0.1);
        const auto mu = host(store.mu(0)), rho = host(store.rho(0)), bias = host(store.point(1));
        for (std::size_t i = 0; i < 6; ++i) {
          CHECK(mu[i] == Approx(run.kernel[i]));
          CHECK(rho[i] == Approx(kbnn::moped_rho(run.kernel[i], 0.1)).epsilon(1e-6));
        }
        for (std::size_t i = 0; i < 2; ++i) CHECK(bias[i] == Approx(run.bias[i]));
      }
      SECTION("into a Bayesian layer, without moped_delta: rho stays") {
        Store store = dense_store(2, 3, Store::Kind::gaussian);
        kbnn::initialize_from_run(store, run.path, 0);
        for (double rho : host(store.rho(0))) CHECK(rho == -7.0);
        CHECK(host(store.mu(0))[3] == Approx(2.0));
      }
      SECTION("into a deterministic layer") {
        Store store = dense_store(2, 3, Store::Kind::point);
        kbnn::initialize_from_run(store, run.path, 0.1);
        const auto kernel = host(store.point(0));
        for (std::size_t i = 0; i < 6; ++i) CHECK(kernel[i] == Approx(run.kernel[i]));
        CHECK(host(store.point(1))[1] == Approx(-0.2));
      }
    }
  }
}

TEST_CASE("init_from rejects a run whose layers differ from the deck's", "[moped]") {
  const RunFileFixture run(false);
  SECTION("another shape names the layer and both shapes") {
    Store store = dense_store(4, 3, Store::Kind::gaussian);
    REQUIRE_THROWS_WITH(kbnn::initialize_from_run(store, run.path, 0.1),
                        contains(run.path + ": model.init_from: layer dense_1: kernel has shape "
                                            "2x3 in the run file but 4x3 in the deck's model"));
  }
  SECTION("a layer the run does not have") {
    Store store = dense_store(2, 3, Store::Kind::gaussian, "dense_2");
    REQUIRE_THROWS_WITH(kbnn::initialize_from_run(store, run.path, 0.1),
                        contains("model.init_from: layer dense_2 (kernel 2x3) is not in the run file"));
  }
  SECTION("a layer the deck does not have") {
    const RunFileFixture longer(false, true);
    Store store = dense_store(2, 3, Store::Kind::gaussian);
    REQUIRE_THROWS_WITH(kbnn::initialize_from_run(store, longer.path, 0.1),
                        contains("model.init_from: the run file has layer dense_5, which the "
                                 "deck's model does not"));
  }
  SECTION("not a run file") {
    Store store = dense_store(2, 3, Store::Kind::gaussian);
    REQUIRE_THROWS_WITH(kbnn::initialize_from_run(store, "/nonexistent/run.h5", 0.1),
                        contains("/nonexistent/run.h5: model.init_from: no such file"));
  }
}

TEST_CASE("RunFile::write_weights(store): every block under /weights/<layer>/<tensor>",
          "[moped]") {
  // A Bayesian dense_1 (2 x 3 kernel, mu then rho) with a point bias, and a
  // deterministic dense_4: each value its own, so a block read from the wrong place shows.
  kbnn::ParameterStore<kbnn::Real> store;
  store.declare("dense_1/kernel", {2, 3}, kbnn::ParameterStore<kbnn::Real>::Kind::gaussian);
  store.declare("dense_1/bias", {2}, kbnn::ParameterStore<kbnn::Real>::Kind::point);
  store.declare("dense_4/kernel", {1, 2}, kbnn::ParameterStore<kbnn::Real>::Kind::point);
  store.allocate();
  auto values = Kokkos::create_mirror_view(store.values());
  for (std::size_t i = 0; i < values.size(); ++i) values(i) = 0.5f * float(i);
  Kokkos::deep_copy(store.values(), values);
  // Layout: mu (6) | rho (6) | dense_1 bias (2) | dense_4 kernel (2).
  const std::string path = (std::filesystem::temp_directory_path() /
                            kbnn::concat("kbnn_store_weights_", ::getpid(), ".h5"))
                               .string();
  {
    const kbnn::Communicator self(MPI_COMM_SELF);
    kbnn::RunFile file(path, self, kbnn::RunInfo{});
    file.write_weights(store);
    file.close();
  }
  const auto read = [&](const char* name, std::vector<hsize_t> shape) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    REQUIRE(d >= 0);
    const hid_t space = H5Dget_space(d);
    std::vector<hsize_t> dims(std::size_t(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    CHECK(dims == shape);
    std::vector<float> v(std::size_t(H5Sget_simple_extent_npoints(space)));
    REQUIRE(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    return v;
  };
  const auto from = [](int first, int count) {
    std::vector<float> v;
    for (int i = first; i < first + count; ++i) v.push_back(0.5f * float(i));
    return v;
  };
  CHECK(read("/weights/dense_1/kernel_mu", {2, 3}) == from(0, 6));
  CHECK(read("/weights/dense_1/kernel_rho", {2, 3}) == from(6, 6));
  CHECK(read("/weights/dense_1/bias", {2}) == from(12, 2));
  CHECK(read("/weights/dense_4/kernel", {1, 2}) == from(14, 2));
  std::filesystem::remove(path);
}

// The HDF5 plumbing that io/ shares: a check macro that turns a failed call into a
// kbnn::RuntimeError (call, file:line, the object, HDF5's own reason), RAII handles
// so that nothing leaks when one is thrown, typed attribute helpers, the collective
// row writer, and agree_or_throw, which makes an error on one rank an error on all.
//
// HDF5's automatic error-stack printing is switched off while our calls run (see
// QuietErrors): the stack would print from every rank, interleaved, before our
// exception; instead check() folds the innermost (most specific) entry of the stack
// into the exception's message, so it is printed once, by main, with our context.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "parallel/mpi_check.hpp"

// Wraps an HDF5 call that returns herr_t, htri_t or hid_t; throws RuntimeError if it
// is negative and otherwise yields its value: `h5::Group g(KBNN_H5_CHECK(H5Gopen2(...)))`.
#define KBNN_H5_CHECK(call) ::kbnn::h5::check((call), #call, __FILE__, __LINE__, std::string())
// The same, naming the file and object the call was about ("run.h5: /history/loss").
#define KBNN_H5_CHECK_AT(call, what) ::kbnn::h5::check((call), #call, __FILE__, __LINE__, (what))

namespace kbnn::h5 {

// ---------------------------------------------------------------------------------
// Errors

// Saves HDF5's error-printing callback, turns printing off, restores it on scope exit.
// Every public io/ entry point that calls HDF5 holds one.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The deepest entry of the current error stack ("unable to open file: name = 'x',
// errno = 2, ..."): the one that says why. Clears the stack.
inline std::string error_stack_reason() {
  std::string reason;
  auto keep_last = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
    if (e->desc) *static_cast<std::string*>(out) = concat(e->func_name, "(): ", e->desc);
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

template <class T>
T check(T result, const char* call, const char* file, int line, const std::string& what) {
  // herr_t, htri_t, hid_t, and enums such as H5T_class_t (whose error value is -1).
  static_assert(std::is_signed_v<T> || std::is_enum_v<T>,
                "HDF5 calls report failure with a negative value");
  if (static_cast<long long>(result) >= 0) return result;
  // Paths from the build are absolute; from src/ on is enough to find the line.
  const char* src = std::strstr(file, "/src/");
  const std::string reason = error_stack_reason();
  throw RuntimeError(concat("HDF5: ", what.empty() ? "" : what + ": ", call, " failed at ",
                            src ? src + 1 : file, ":", line,
                            reason.empty() ? "" : " (" + reason + ")"));
}

// ---------------------------------------------------------------------------------
// Handles

// Owns one hid_t and closes it with Close. Converts to hid_t so it can be passed
// straight to H5 calls. Closing an object (not a file) is a local operation, so it is
// safe while an exception unwinds on one rank only.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, -1);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  operator hid_t() const { return id_; }
  void reset() {
    if (id_ >= 0) Close(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
};

using SerialFile = Handle<H5Fclose>;  // a file opened by one rank alone (sec2 driver)
using Group = Handle<H5Gclose>;
using DataSet = Handle<H5Dclose>;
using Space = Handle<H5Sclose>;
using PropList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;
using Type = Handle<H5Tclose>;

// A file that all ranks of a communicator opened with the MPI-IO driver. H5Fclose is
// then collective: a rank that unwinds from an exception of its own would block in it
// for ever, and the job would hang instead of reaching main's MPI_Abort. So the
// destructor closes only when no exception is propagating through it; otherwise it
// leaves the file to the abort (the last flush() is what survives). close() is the
// normal, checked way out.
class CollectiveFile {
 public:
  CollectiveFile() = default;
  CollectiveFile(hid_t id, std::string path) : id_(id), path_(std::move(path)) {}
  ~CollectiveFile() {
    if (id_ >= 0 && std::uncaught_exceptions() == uncaught_) H5Fclose(id_);
  }
  CollectiveFile(CollectiveFile&& other) noexcept
      : id_(std::exchange(other.id_, -1)), path_(std::move(other.path_)) {}
  CollectiveFile& operator=(CollectiveFile&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) H5Fclose(id_);
      id_ = std::exchange(other.id_, -1);
      path_ = std::move(other.path_);
    }
    return *this;
  }
  CollectiveFile(const CollectiveFile&) = delete;
  CollectiveFile& operator=(const CollectiveFile&) = delete;

  operator hid_t() const { return id_; }
  const std::string& path() const { return path_; }
  void close() {
    if (id_ < 0) return;
    const hid_t id = std::exchange(id_, -1);
    KBNN_H5_CHECK_AT(H5Fclose(id), path_);
  }

 private:
  hid_t id_ = -1;
  std::string path_;
  int uncaught_ = std::uncaught_exceptions();
};

// File access for a collective file: MPI-IO on `comm`. A serial HDF5 build can only
// serve one rank (CMake warns about such a build).
inline PropList mpi_file_access(MPI_Comm comm, const std::string& path) {
  PropList fapl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_FILE_ACCESS), path));
#ifdef H5_HAVE_PARALLEL
  KBNN_H5_CHECK_AT(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), path);
#else
  int ranks = 1;
  KBNN_MPI_CHECK(MPI_Comm_size(comm, &ranks));
  if (ranks > 1)
    throw RuntimeError(concat(path, ": this HDF5 is not a parallel build; cannot write "
                              "one file from ", ranks, " ranks"));
#endif
  return fapl;
}

// Data transfer for writes into a collective file: collective MPI-IO, so that every
// rank's hyperslab goes out in one two-phase write.
inline PropList collective_transfer(const std::string& path) {
  PropList dxpl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_DATASET_XFER), path));
#ifdef H5_HAVE_PARALLEL
  KBNN_H5_CHECK_AT(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), path);
#endif
  return dxpl;
}

// ---------------------------------------------------------------------------------
// Types: memory type and the little-endian type stored in the file, per C++ type.

template <class T>
struct TypeOf;
template <> struct TypeOf<float> {
  static hid_t memory() { return H5T_NATIVE_FLOAT; }
  static hid_t file() { return H5T_IEEE_F32LE; }
};
template <> struct TypeOf<double> {
  static hid_t memory() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
};
template <> struct TypeOf<std::int32_t> {
  static hid_t memory() { return H5T_NATIVE_INT32; }
  static hid_t file() { return H5T_STD_I32LE; }
};
template <> struct TypeOf<std::int64_t> {
  static hid_t memory() { return H5T_NATIVE_INT64; }
  static hid_t file() { return H5T_STD_I64LE; }
};
template <> struct TypeOf<std::uint64_t> {
  static hid_t memory() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
};
template <> struct TypeOf<std::uint8_t> {
  static hid_t memory() { return H5T_NATIVE_UINT8; }
  static hid_t file() { return H5T_STD_U8LE; }
};

// Variable-length UTF-8 strings: h5py reads them as str, h5dump prints them, and
// their length (a whole input deck) has no 64 KiB attribute limit.
inline Type string_type() {
  Type t(KBNN_H5_CHECK(H5Tcopy(H5T_C_S1)));
  KBNN_H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
  KBNN_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
  return t;
}

// ---------------------------------------------------------------------------------
// Objects and attributes. In a collective file every rank makes these calls with the
// same arguments: HDF5 requires it of everything that changes metadata.

inline bool exists(hid_t parent, const std::string& name) {
  return KBNN_H5_CHECK_AT(H5Lexists(parent, name.c_str(), H5P_DEFAULT), name) > 0;
}

inline Group create_group(hid_t parent, const std::string& name) {
  return Group(KBNN_H5_CHECK_AT(
      H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name));
}

inline Group open_group(hid_t parent, const std::string& name) {
  return Group(KBNN_H5_CHECK_AT(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), name));
}

inline void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Type type = string_type();
  const Space space(KBNN_H5_CHECK_AT(H5Screate(H5S_SCALAR), name));
  const Attribute a(KBNN_H5_CHECK_AT(
      H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), name));
  const char* text = value.c_str();
  KBNN_H5_CHECK_AT(H5Awrite(a, type, &text), name);
}

inline void write_attribute(hid_t object, const std::string& name, const char* value) {
  write_attribute(object, name, std::string(value));
}

inline void write_attribute(hid_t object, const std::string& name,
                            const std::vector<std::string>& values) {
  const Type type = string_type();
  const hsize_t n = values.size();
  const Space space(KBNN_H5_CHECK_AT(H5Screate_simple(1, &n, nullptr), name));
  const Attribute a(KBNN_H5_CHECK_AT(
      H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), name));
  std::vector<const char*> texts;
  for (const std::string& v : values) texts.push_back(v.c_str());
  KBNN_H5_CHECK_AT(H5Awrite(a, type, texts.data()), name);
}

template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
void write_attribute(hid_t object, const std::string& name, T value) {
  const Space space(KBNN_H5_CHECK_AT(H5Screate(H5S_SCALAR), name));
  const Attribute a(KBNN_H5_CHECK_AT(H5Acreate2(object, name.c_str(), TypeOf<T>::file(),
                                                space, H5P_DEFAULT, H5P_DEFAULT),
                                     name));
  KBNN_H5_CHECK_AT(H5Awrite(a, TypeOf<T>::memory(), &value), name);
}

// The two attributes that make `h5dump -A` explain an object.
inline void describe(hid_t object, const std::string& units, const std::string& description) {
  if (!units.empty()) write_attribute(object, "units", units);
  write_attribute(object, "description", description);
}

inline bool has_attribute(hid_t object, const std::string& name) {
  return KBNN_H5_CHECK_AT(H5Aexists(object, name.c_str()), name) > 0;
}

// Scalar attribute, converted by HDF5 to T (any integer or float type stored).
template <class T>
T read_attribute(hid_t object, const std::string& name) {
  const Attribute a(KBNN_H5_CHECK_AT(H5Aopen(object, name.c_str(), H5P_DEFAULT), name));
  T value{};
  KBNN_H5_CHECK_AT(H5Aread(a, TypeOf<T>::memory(), &value), name);
  return value;
}

// String attributes, fixed or variable length as stored (other tools write either).
inline std::vector<std::string> read_string_attribute_array(hid_t object,
                                                            const std::string& name) {
  const Attribute a(KBNN_H5_CHECK_AT(H5Aopen(object, name.c_str(), H5P_DEFAULT), name));
  const Type stored(KBNN_H5_CHECK_AT(H5Aget_type(a), name));
  if (KBNN_H5_CHECK_AT(H5Tget_class(stored), name) != H5T_STRING)
    throw RuntimeError(concat("attribute ", name, " is not a string"));
  const Space space(KBNN_H5_CHECK_AT(H5Aget_space(a), name));
  const hssize_t n = KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(space), name);
  std::vector<std::string> out;
  if (KBNN_H5_CHECK_AT(H5Tis_variable_str(stored), name) > 0) {
    const Type type = string_type();
    std::vector<char*> texts(std::size_t(n), nullptr);
    KBNN_H5_CHECK_AT(H5Aread(a, type, texts.data()), name);
    for (char* t : texts) out.emplace_back(t ? t : "");
#if H5_VERSION_GE(1, 12, 0)
    KBNN_H5_CHECK_AT(H5Treclaim(type, space, H5P_DEFAULT, texts.data()), name);
#else
    KBNN_H5_CHECK_AT(H5Dvlen_reclaim(type, space, H5P_DEFAULT, texts.data()), name);
#endif
  } else {
    const std::size_t size = H5Tget_size(stored);
    std::vector<char> buffer(std::size_t(n) * size);
    KBNN_H5_CHECK_AT(H5Aread(a, stored, buffer.data()), name);
    for (hssize_t i = 0; i < n; ++i) {
      const char* t = buffer.data() + std::size_t(i) * size;
      out.emplace_back(t, std::find(t, t + size, '\0'));  // may fill `size` without a '\0'
    }
  }
  return out;
}

inline std::string read_string_attribute(hid_t object, const std::string& name) {
  auto values = read_string_attribute_array(object, name);
  return values.empty() ? std::string() : values.front();
}

// ---------------------------------------------------------------------------------
// Collective writes

// Writes rows [first, first + rows) of `dataset` (dimension 0, all of the others)
// from `data`, collectively: every rank calls it, and a rank with rows == 0 takes part
// with an empty selection. Data that is the same on every rank is written by rank 0
// alone (the others pass rows = 0) rather than as the same bytes from every rank.
template <class T>
void write_rows(hid_t dataset, const T* data, hsize_t first, hsize_t rows,
                const std::string& what) {
  const Space file_space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
  const int rank = KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(file_space), what);
  if (rank < 1) throw RuntimeError(concat("HDF5: ", what, ": write_rows needs rows"));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(file_space, dims.data(), nullptr), what);
  dims[0] = rows;  // the memory block: `rows` rows of the dataset's row shape
  const Space memory_space(KBNN_H5_CHECK_AT(H5Screate_simple(rank, dims.data(), nullptr), what));
  if (rows == 0) {
    KBNN_H5_CHECK_AT(H5Sselect_none(file_space), what);
    KBNN_H5_CHECK_AT(H5Sselect_none(memory_space), what);
  } else {
    std::vector<hsize_t> start(dims.size(), 0);
    start[0] = first;
    KBNN_H5_CHECK_AT(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr,
                                         dims.data(), nullptr),
                     what);
  }
  // A rank with nothing to write may hold an empty vector (data() == nullptr).
  static const T no_data{};
  const PropList dxpl = collective_transfer(what);
  KBNN_H5_CHECK_AT(H5Dwrite(dataset, TypeOf<T>::memory(), memory_space, file_space, dxpl,
                            rows == 0 ? &no_data : data),
                   what);
}

// ---------------------------------------------------------------------------------
// Errors across ranks

// Runs body() on every rank of `comm`. If it threw anywhere, every rank throws the
// message of the lowest failing rank, as InputError or RuntimeError like the original,
// so that no rank walks on into a collective call that a failed rank will never make.
template <class Body>
void agree_or_throw(MPI_Comm comm, Body&& body) {
  int kind = 0;  // 0: fine, 1: InputError, 2: anything else
  std::string message;
  try {
    body();
  } catch (const InputError& e) {
    kind = 1;
    message = e.what();
  } catch (const std::exception& e) {
    kind = 2;
    message = e.what();
  }
  int rank = 0, ranks = 1;
  KBNN_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  KBNN_MPI_CHECK(MPI_Comm_size(comm, &ranks));
  int failed = kind ? rank : ranks;
  KBNN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, comm));
  if (failed == ranks) return;
  int length = int(message.size());
  KBNN_MPI_CHECK(MPI_Bcast(&kind, 1, MPI_INT, failed, comm));
  KBNN_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, failed, comm));
  message.resize(std::size_t(length));
  KBNN_MPI_CHECK(MPI_Bcast(message.data(), length, MPI_CHAR, failed, comm));
  if (kind == 1) throw InputError(message);
  throw RuntimeError(message);
}

}  // namespace kbnn::h5

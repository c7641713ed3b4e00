// RAII owners of HDF5 identifiers, so that nothing leaks when an exception is thrown.
#pragma once

#include <hdf5.h>

#include <exception>
#include <string>
#include <utility>

namespace kbnn::h5 {

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
// leaves the file to the abort (the last flush is what survives). close() is the
// normal, checked way out.
class CollectiveFile {
 public:
  CollectiveFile() = default;
  CollectiveFile(hid_t id, std::string path) : id_(id), path_(std::move(path)) {}
  ~CollectiveFile();
  CollectiveFile(CollectiveFile&& other) noexcept;
  CollectiveFile& operator=(CollectiveFile&& other) noexcept;
  CollectiveFile(const CollectiveFile&) = delete;
  CollectiveFile& operator=(const CollectiveFile&) = delete;

  operator hid_t() const { return id_; }
  const std::string& path() const { return path_; }
  void close();

 private:
  hid_t id_ = -1;
  std::string path_;
  int uncaught_ = std::uncaught_exceptions();
};

}  // namespace kbnn::h5

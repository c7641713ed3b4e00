#include "h5/handle.hpp"

#include "h5/error.hpp"

namespace kbnn::h5 {

CollectiveFile::~CollectiveFile() {
  if (id_ >= 0 && std::uncaught_exceptions() == uncaught_) H5Fclose(id_);
}

CollectiveFile::CollectiveFile(CollectiveFile&& other) noexcept
    : id_(std::exchange(other.id_, -1)), path_(std::move(other.path_)) {}

CollectiveFile& CollectiveFile::operator=(CollectiveFile&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) H5Fclose(id_);
    id_ = std::exchange(other.id_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

void CollectiveFile::close() {
  if (id_ < 0) return;
  const hid_t id = std::exchange(id_, -1);
  KBNN_H5_CHECK_AT(H5Fclose(id), path_);
}

}  // namespace kbnn::h5

// Groups and attributes. In a collective file every rank makes these calls with the
// same arguments: HDF5 requires it of everything that changes metadata.
#pragma once

#include <hdf5.h>

#include <string>
#include <type_traits>
#include <vector>

#include "h5/error.hpp"
#include "h5/handle.hpp"
#include "h5/types.hpp"

namespace kbnn::h5 {

// Whether the link `name` exists below `parent`; a path ("metrics/test") is false where
// any of its parts is missing (H5Lexists alone fails on a missing intermediate group).
bool exists(hid_t parent, const std::string& name);
Group create_group(hid_t parent, const std::string& name);
Group open_group(hid_t parent, const std::string& name);

// Scalar string attributes, string arrays, and numbers stored as TypeOf<T>::file().
void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, const char* value);
void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
void write_attribute(hid_t object, const std::string& name, T value) {
  const Space space(KBNN_H5_CHECK_AT(H5Screate(H5S_SCALAR), name));
  const Attribute a(KBNN_H5_CHECK_AT(H5Acreate2(object, name.c_str(), TypeOf<T>::file(),
                                                space, H5P_DEFAULT, H5P_DEFAULT),
                                     name));
  KBNN_H5_CHECK_AT(H5Awrite(a, TypeOf<T>::memory(), &value), name);
}

// A 1-D array of numbers.
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
void write_attribute(hid_t object, const std::string& name, const std::vector<T>& values) {
  const hsize_t n = values.size();
  const Space space(KBNN_H5_CHECK_AT(H5Screate_simple(1, &n, nullptr), name));
  const Attribute a(KBNN_H5_CHECK_AT(H5Acreate2(object, name.c_str(), TypeOf<T>::file(),
                                                space, H5P_DEFAULT, H5P_DEFAULT),
                                     name));
  KBNN_H5_CHECK_AT(H5Awrite(a, TypeOf<T>::memory(), values.data()), name);
}

// The two attributes that make `h5dump -A` explain an object.
void describe(hid_t object, const std::string& units, const std::string& description);

bool has_attribute(hid_t object, const std::string& name);

// Scalar attribute, converted by HDF5 to T (any integer or float type stored).
template <class T>
T read_attribute(hid_t object, const std::string& name) {
  const Attribute a(KBNN_H5_CHECK_AT(H5Aopen(object, name.c_str(), H5P_DEFAULT), name));
  T value{};
  KBNN_H5_CHECK_AT(H5Aread(a, TypeOf<T>::memory(), &value), name);
  return value;
}

// A 1-D (or scalar) attribute of numbers, converted by HDF5 to T.
template <class T>
std::vector<T> read_attribute_array(hid_t object, const std::string& name) {
  const Attribute a(KBNN_H5_CHECK_AT(H5Aopen(object, name.c_str(), H5P_DEFAULT), name));
  const Space space(KBNN_H5_CHECK_AT(H5Aget_space(a), name));
  const hssize_t n = KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(space), name);
  std::vector<T> values(std::size_t(n > 0 ? n : 0));
  if (!values.empty()) KBNN_H5_CHECK_AT(H5Aread(a, TypeOf<T>::memory(), values.data()), name);
  return values;
}

// String attributes, fixed or variable length, ASCII or UTF-8, as stored (other tools
// write any of them).
std::vector<std::string> read_string_attribute_array(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);

}  // namespace kbnn::h5

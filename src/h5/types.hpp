// HDF5 types per C++ type: the memory type, and the little-endian type stored in
// the file (so files read the same on any machine).
#pragma once

#include <hdf5.h>

#include <cstdint>

#include "h5/handle.hpp"

namespace kbnn::h5 {

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
Type string_type();

}  // namespace kbnn::h5

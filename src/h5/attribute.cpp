#include "h5/attribute.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace kbnn::h5 {

bool exists(hid_t parent, const std::string& name) {
  // Each leading part in turn ("metrics", then "metrics/test"); an absolute path's root
  // ("/") and empty parts ("a//b") are no links to ask about.
  for (std::size_t slash = name.find('/', 1); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    if (name[slash - 1] == '/') continue;
    const std::string part = name.substr(0, slash);
    if (KBNN_H5_CHECK_AT(H5Lexists(parent, part.c_str(), H5P_DEFAULT), part) <= 0) return false;
  }
  return KBNN_H5_CHECK_AT(H5Lexists(parent, name.c_str(), H5P_DEFAULT), name) > 0;
}

Group create_group(hid_t parent, const std::string& name) {
  return Group(KBNN_H5_CHECK_AT(
      H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name));
}

Group open_group(hid_t parent, const std::string& name) {
  return Group(KBNN_H5_CHECK_AT(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), name));
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Type type = string_type();
  const Space space(KBNN_H5_CHECK_AT(H5Screate(H5S_SCALAR), name));
  const Attribute a(KBNN_H5_CHECK_AT(
      H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), name));
  const char* text = value.c_str();
  KBNN_H5_CHECK_AT(H5Awrite(a, type, &text), name);
}

void write_attribute(hid_t object, const std::string& name, const char* value) {
  write_attribute(object, name, std::string(value));
}

void write_attribute(hid_t object, const std::string& name,
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

void describe(hid_t object, const std::string& units, const std::string& description) {
  if (!units.empty()) write_attribute(object, "units", units);
  write_attribute(object, "description", description);
}

bool has_attribute(hid_t object, const std::string& name) {
  return KBNN_H5_CHECK_AT(H5Aexists(object, name.c_str()), name) > 0;
}

std::vector<std::string> read_string_attribute_array(hid_t object,
                                                            const std::string& name) {
  const Attribute a(KBNN_H5_CHECK_AT(H5Aopen(object, name.c_str(), H5P_DEFAULT), name));
  const Type stored(KBNN_H5_CHECK_AT(H5Aget_type(a), name));
  if (KBNN_H5_CHECK_AT(H5Tget_class(stored), name) != H5T_STRING)
    throw RuntimeError(concat("attribute ", name, " is not a string"));
  const Space space(KBNN_H5_CHECK_AT(H5Aget_space(a), name));
  const hssize_t n = KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(space), name);
  std::vector<std::string> out;
  if (KBNN_H5_CHECK_AT(H5Tis_variable_str(stored), name) > 0) {
    // Read in the stored character set: HDF5 converts none into another (ASCII strings,
    // as C code or h5py's bytes write them, would not read as UTF-8).
    const Type type = string_type();
    KBNN_H5_CHECK_AT(H5Tset_cset(type, KBNN_H5_CHECK_AT(H5Tget_cset(stored), name)), name);
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

std::string read_string_attribute(hid_t object, const std::string& name) {
  auto values = read_string_attribute_array(object, name);
  return values.empty() ? std::string() : values.front();
}

}  // namespace kbnn::h5

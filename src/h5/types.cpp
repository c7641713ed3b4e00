#include "h5/types.hpp"

#include "h5/error.hpp"

namespace kbnn::h5 {

Type string_type() {
  Type t(KBNN_H5_CHECK(H5Tcopy(H5T_C_S1)));
  KBNN_H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
  KBNN_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
  return t;
}

}  // namespace kbnn::h5

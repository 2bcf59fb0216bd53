#pragma once
// Every dataset and attribute of an HDF5 results file as bytes, for bit-identity checks
// (reproducibility, fault tests). Numbers are read in their native type, strings as their text.
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace embedlab::test {

namespace h5dump_detail {

// The values of a dataset or attribute of `type` with `space`, read by `read(mem_type, buffer)`.
template <class Read>
std::string values(hid_t type, hid_t space, Read read) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) return "<bad space>";
  if (H5Tget_class(type) == H5T_STRING) {
    std::string out;
    if (H5Tis_variable_str(type) > 0) {
      std::vector<char*> s(static_cast<std::size_t>(n), nullptr);
      const hid_t mem = H5Tcopy(H5T_C_S1);
      H5Tset_size(mem, H5T_VARIABLE);
      if (read(mem, s.data()) < 0) out = "<unreadable>";
      for (char* p : s) out += std::string(p ? p : "") + '\0';
      H5Dvlen_reclaim(mem, space, H5P_DEFAULT, s.data());
      H5Tclose(mem);
    } else {
      std::string buf(static_cast<std::size_t>(n) * H5Tget_size(type), '\0');
      if (read(type, buf.data()) < 0) out = "<unreadable>";
      out += buf;
    }
    return out;
  }
  // Floating-point values are tagged "F4:"/"F8:" so that a comparison can bound their difference.
  const hid_t mem = H5Tget_native_type(type, H5T_DIR_ASCEND);
  const std::size_t size = H5Tget_size(mem);
  std::string buf(static_cast<std::size_t>(n) * size, '\0');
  const bool ok = read(mem, buf.data()) >= 0;
  const bool real = H5Tget_class(type) == H5T_FLOAT && (size == 4 || size == 8);
  H5Tclose(mem);
  if (!ok) return "<unreadable>";
  return real ? (size == 4 ? "F4:" : "F8:") + buf : buf;
}

struct Walk {
  hid_t file;
  std::string skip;  // subtree left out ("/meta")
  std::map<std::string, std::string> out;
};

inline herr_t attr_cb(hid_t loc, const char* name, const H5A_info_t*, void* data) {
  auto& w = *static_cast<std::pair<Walk*, std::string>*>(data);
  const hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  const hid_t type = H5Aget_type(a), space = H5Aget_space(a);
  w.first->out[w.second + "@" + name] = values(type, space, [&](hid_t mem, void* buf) { return H5Aread(a, mem, buf); });
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(a);
  return 0;
}

inline void attributes(Walk& w, hid_t obj, const std::string& path) {
  std::pair<Walk*, std::string> ctx{&w, path};
  hsize_t idx = 0;
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, &ctx);
}

#if H5_VERSION_GE(1, 12, 0)
using ObjectInfo = H5O_info2_t;
#else
using ObjectInfo = H5O_info_t;
#endif

inline herr_t visit_cb(hid_t, const char* name, const ObjectInfo* info, void* data) {
  auto& w = *static_cast<Walk*>(data);
  const std::string path = std::string("/") + (std::string(name) == "." ? "" : name);
  if (!w.skip.empty() && (path == w.skip || path.starts_with(w.skip + "/"))) return 0;
  const hid_t obj = H5Oopen(w.file, path.c_str(), H5P_DEFAULT);
  if (obj < 0) return -1;
  if (info->type == H5O_TYPE_DATASET) {
    const hid_t type = H5Dget_type(obj), space = H5Dget_space(obj);
    w.out[path] = values(type, space,
                         [&](hid_t mem, void* buf) { return H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); });
    H5Sclose(space);
    H5Tclose(type);
  }
  attributes(w, obj, path);
  H5Oclose(obj);
  return 0;
}

}  // namespace h5dump_detail

// Largest |x - y| / max(|x|, |y|, floor) over two tagged floating-point dumps of the same shape;
// infinity when they are not both floating point of the same type and length.
inline double max_relative_difference(const std::string& a, const std::string& b, double floor) {
  if (a.size() != b.size() || a.size() < 3 || a.compare(0, 3, b, 0, 3) != 0 ||
      (a.rfind("F4:", 0) != 0 && a.rfind("F8:", 0) != 0))
    return std::numeric_limits<double>::infinity();
  const bool f4 = a[1] == '4';
  const std::size_t n = (a.size() - 3) / (f4 ? 4 : 8);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double x, y;
    if (f4) {
      float fx, fy;
      std::memcpy(&fx, a.data() + 3 + 4 * i, 4);
      std::memcpy(&fy, b.data() + 3 + 4 * i, 4);
      x = fx, y = fy;
    } else {
      std::memcpy(&x, a.data() + 3 + 8 * i, 8);
      std::memcpy(&y, b.data() + 3 + 8 * i, 8);
    }
    const double scale = std::max({std::abs(x), std::abs(y), floor});
    worst = std::max(worst, std::abs(x - y) / scale);
  }
  return worst;
}

// "/group/dataset" → its values; "/group@attr" → the attribute's values; everything outside `skip`.
// Empty map when the file cannot be opened.
inline std::map<std::string, std::string> h5_dump(const std::string& file, const std::string& skip = "/meta") {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  h5dump_detail::Walk w{H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), skip, {}};
  if (w.file < 0) return {};
#if H5_VERSION_GE(1, 12, 0)
  H5Ovisit3(w.file, H5_INDEX_NAME, H5_ITER_INC, h5dump_detail::visit_cb, &w, H5O_INFO_BASIC);
#else
  H5Ovisit2(w.file, H5_INDEX_NAME, H5_ITER_INC, h5dump_detail::visit_cb, &w, H5O_INFO_BASIC);
#endif
  H5Fclose(w.file);
  return std::move(w.out);
}

}  // namespace embedlab::test

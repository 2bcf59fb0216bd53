#include "io/h5_results.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace embedlab::io {

void h5_silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string h5_last_error() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        if (e->desc != nullptr && *e->desc != '\0') {
          if (!s->empty()) *s += "; ";
          *s += e->desc;
        }
        return n >= 2 ? 1 : 0;  // the two innermost messages are enough for one line
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "HDF5 error" : out;
}

namespace {

// Closes an HDF5 id of any kind at scope exit.
struct Hid {
  hid_t id = -1;
  explicit Hid(hid_t v = -1) : id(v) {}
  ~Hid() {
    if (id >= 0) H5Idec_ref(id);
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  operator hid_t() const { return id; }
};

hid_t string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

}  // namespace

struct H5ResultWriter::Impl {
  hid_t file = -1;
  hid_t lcpl = -1;  // creates intermediate groups
  std::string path;

  hid_t check(hid_t id, const std::string& where, const std::string& what) const {
    if (id < 0) throw Error(Exit::io, located(path, where, what + ": " + h5_last_error()));
    return id;
  }

  // Writes a dataset of `rank` dims from row-major memory of HDF5 type `mem_type`.
  void dataset(const std::string& where, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
               const void* data, const DatasetInfo& info) {
    Hid space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), where, "dataspace"));
    Hid ds(check(H5Dcreate2(file, where.c_str(), file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), where,
                 "cannot create dataset"));
    std::size_t count = 1;
    for (auto d : dims) count *= d;
    if (count > 0) check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), where, "cannot write dataset");
    string_attr(ds, where, "units", info.units.empty() ? "1" : info.units);
    string_attr(ds, where, "description", info.description);
  }

  void string_attr(hid_t obj, const std::string& where, const std::string& name, const std::string& value) const {
    Hid type(string_type());
    Hid space(H5Screate(H5S_SCALAR));
    if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
    Hid a(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), where, "attribute " + name));
    const char* p = value.c_str();
    check(H5Awrite(a, type, &p), where, "attribute " + name);
  }

  template <class T>
  void numeric_attr(hid_t obj, const std::string& where, const std::string& name, hid_t type, T value) const {
    Hid space(H5Screate(H5S_SCALAR));
    if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
    Hid a(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), where, "attribute " + name));
    check(H5Awrite(a, type, &value), where, "attribute " + name);
  }

  // Opens an object for attributes, creating it as a group when missing.
  hid_t object(const std::string& where) {
    if (where == "/") return H5Oopen(file, "/", H5P_DEFAULT);
    if (H5Lexists(file, where.c_str(), H5P_DEFAULT) <= 0) {
      Hid g(check(H5Gcreate2(file, where.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), where, "cannot create group"));
    }
    return check(H5Oopen(file, where.c_str(), H5P_DEFAULT), where, "cannot open object");
  }
};

H5ResultWriter::H5ResultWriter(std::string final_path, bool keep_file)
    : impl_(std::make_unique<Impl>()), final_path_(std::move(final_path)), keep_file_(keep_file) {
  h5_silence();
  impl_->path = final_path_;
  const auto dir = std::filesystem::path(final_path_).parent_path();
  if (keep_file_ && ::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0)
    fail(Exit::cant_create, final_path_, "", "cannot create results file: directory missing or not writable");
  // The file is built in memory (core driver, no backing store) and written out whole by commit():
  // a full disk or a kill can then never leave a half-written HDF5 file, and libhdf5 never holds an
  // open file it failed to flush.
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 20, 0);
  impl_->file = H5Fcreate(final_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (impl_->file < 0) fail(Exit::software, final_path_, "", "cannot create in-memory HDF5 file: " + h5_last_error());
  impl_->lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(impl_->lcpl, 1);
}

H5ResultWriter::~H5ResultWriter() {
  if (impl_->lcpl >= 0) H5Pclose(impl_->lcpl);
  if (impl_->file >= 0) H5Fclose(impl_->file);
}

void H5ResultWriter::write(const std::string& path, const std::vector<double>& v, const DatasetInfo& info) {
  impl_->dataset(path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {v.size()}, v.data(), info);
}
void H5ResultWriter::write(const std::string& path, const std::vector<std::int64_t>& v, const DatasetInfo& info) {
  impl_->dataset(path, H5T_STD_I64LE, H5T_NATIVE_INT64, {v.size()}, v.data(), info);
}
void H5ResultWriter::write(const std::string& path, const std::vector<std::string>& v, const DatasetInfo& info) {
  std::vector<const char*> ptrs;
  ptrs.reserve(v.size());
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Hid type(string_type());
  impl_->dataset(path, type, type, {v.size()}, ptrs.data(), info);
}
void H5ResultWriter::write(const std::string& path, const arma::vec& v, const DatasetInfo& info) {
  impl_->dataset(path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {v.n_elem}, v.memptr(), info);
}
namespace {
// Column-major cols×rows is row-major rows×cols. An empty matrix is returned as is: Armadillo's
// transpose reads through its null memory pointer (undefined behaviour, caught by UBSan).
template <class M>
M row_major(const M& m) {
  return m.n_elem == 0 ? M() : M(m.t());
}
}  // namespace

void H5ResultWriter::write(const std::string& path, const arma::mat& m, const DatasetInfo& info) {
  const arma::mat rm = row_major(m);
  impl_->dataset(path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {m.n_rows, m.n_cols}, rm.memptr(), info);
}
void H5ResultWriter::write(const std::string& path, const arma::fmat& m, const DatasetInfo& info) {
  const arma::fmat rm = row_major(m);
  impl_->dataset(path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {m.n_rows, m.n_cols}, rm.memptr(), info);
}
void H5ResultWriter::write(const std::string& path, const arma::Mat<std::int64_t>& m, const DatasetInfo& info) {
  const arma::Mat<std::int64_t> rm = row_major(m);
  impl_->dataset(path, H5T_STD_I64LE, H5T_NATIVE_INT64, {m.n_rows, m.n_cols}, rm.memptr(), info);
}

void H5ResultWriter::write_array(const std::string& path, const std::vector<float>& row_major,
                                 const std::vector<std::uint64_t>& shape, const DatasetInfo& info) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  if (n != row_major.size())
    fail(Exit::software, final_path_, path,
         fmt::format("data does not fill the shape (got {} values, expected {})", row_major.size(), n));
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  impl_->dataset(path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, row_major.data(), info);
}

void H5ResultWriter::attr(const std::string& object, const std::string& name, const std::string& value) {
  Hid o(impl_->object(object));
  impl_->string_attr(o, object, name, value);
}
void H5ResultWriter::attr(const std::string& object, const std::string& name, double value) {
  Hid o(impl_->object(object));
  impl_->numeric_attr(o, object, name, H5T_NATIVE_DOUBLE, value);
}
void H5ResultWriter::attr(const std::string& object, const std::string& name, std::int64_t value) {
  Hid o(impl_->object(object));
  impl_->numeric_attr(o, object, name, H5T_NATIVE_INT64, value);
}

void H5ResultWriter::commit() {
  if (committed_) return;
  if (H5Fflush(impl_->file, H5F_SCOPE_GLOBAL) < 0)
    fail(Exit::software, final_path_, "", "cannot flush in-memory results: " + h5_last_error());
  if (!keep_file_) {  // built in memory only: discarded
    committed_ = true;
    return;
  }
  const ssize_t size = H5Fget_file_image(impl_->file, nullptr, 0);
  if (size <= 0) fail(Exit::software, final_path_, "", "cannot get the results file image: " + h5_last_error());
  std::string image(static_cast<std::size_t>(size), '\0');
  if (H5Fget_file_image(impl_->file, image.data(), image.size()) != size)
    fail(Exit::software, final_path_, "", "cannot get the results file image: " + h5_last_error());
  H5Pclose(impl_->lcpl);
  impl_->lcpl = -1;
  H5Fclose(impl_->file);
  impl_->file = -1;
  write_file_atomic(final_path_, image);  // temp + fsync + rename; ENOSPC etc. become Exit::io
  committed_ = true;
}

// ---------------------------------------------------------------------------------------------

H5ResultReader::H5ResultReader(const std::string& path) : path_(path) {
  h5_silence();
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) fail(Exit::no_input, path, "", "cannot open HDF5 file: " + h5_last_error());
}

H5ResultReader::~H5ResultReader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool H5ResultReader::exists(const std::string& path) const {
  if (path == "/") return true;
  // Check each prefix so a missing intermediate group is not an error.
  std::size_t pos = 0;
  while ((pos = path.find('/', pos + 1)) != std::string::npos) {
    if (H5Lexists(file_, path.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return H5Lexists(file_, path.c_str(), H5P_DEFAULT) > 0;
}

namespace {
hid_t open_dataset(hid_t file, const std::string& file_path, const std::string& path) {
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (ds < 0) fail(Exit::data, file_path, path, "no such dataset");
  return ds;
}
}  // namespace

std::vector<std::uint64_t> H5ResultReader::shape(const std::string& path) const {
  Hid ds(open_dataset(file_, path_, path));
  Hid space(H5Dget_space(ds));
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

std::vector<double> H5ResultReader::read_doubles(const std::string& path) const {
  Hid ds(open_dataset(file_, path_, path));
  Hid space(H5Dget_space(ds));
  const auto n = H5Sget_simple_extent_npoints(space);
  std::vector<double> out(static_cast<std::size_t>(n));
  if (n > 0 && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(Exit::data, path_, path, "cannot read as numbers: " + h5_last_error());
  return out;
}

std::vector<std::string> H5ResultReader::read_strings(const std::string& path) const {
  Hid ds(open_dataset(file_, path_, path));
  Hid space(H5Dget_space(ds));
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
  Hid type(string_type());
  std::vector<char*> ptrs(n, nullptr);
  if (n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    fail(Exit::data, path_, path, "cannot read as strings: " + h5_last_error());
  std::vector<std::string> out;
  out.reserve(n);
  for (char* p : ptrs) out.emplace_back(p != nullptr ? p : "");
  if (n > 0) H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
  return out;
}

std::string H5ResultReader::attr_string(const std::string& object, const std::string& name) const {
  Hid a(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  if (a < 0) fail(Exit::data, path_, object, "no attribute '" + name + "'");
  Hid type(string_type());
  char* p = nullptr;
  if (H5Aread(a, type, &p) < 0) fail(Exit::data, path_, object, "attribute '" + name + "' is not a string");
  std::string out = p != nullptr ? p : "";
  H5free_memory(p);
  return out;
}

double H5ResultReader::attr_double(const std::string& object, const std::string& name) const {
  Hid a(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  if (a < 0) fail(Exit::data, path_, object, "no attribute '" + name + "'");
  double v = 0;
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) fail(Exit::data, path_, object, "attribute '" + name + "' is not numeric");
  return v;
}

std::vector<std::string> H5ResultReader::datasets() const {
  std::vector<std::string> out;
  H5Ovisit2(
      file_, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        if (info->type == H5O_TYPE_DATASET)
          static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
        return 0;
      },
      &out, H5O_INFO_BASIC);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace embedlab::io

// HDF5 embeddings: one rank-2 float dataset [n, d], read-only. Files that would make HDF5 open
// other files (external links, external raw storage, virtual datasets) are refused before any
// raw data is read.
//
// libhdf5 is not safe against crafted files (its metadata parsers have crashed on fuzzed input),
// so everything that touches the file through HDF5 runs in a forked child (io/isolate.hpp) under
// CPU and address-space limits: the child validates, then reads the floats into a memfd shared
// with the parent and reports the shape. A crash in the library becomes a one-line error naming
// the file. EMBEDLAB_TEST_HDF5_CRASH=1 makes the child (never the parent) die of SIGSEGV after
// opening the file: the tests prove the isolation with it.
#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/h5_util.hpp"
#include "io/isolate.hpp"
#include "io/readers.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

namespace embedlab::io {

namespace {

constexpr int kMaxSoftLinkDepth = 16;
// Deflate cannot compress better than about 1032:1, so a chunked dataset declaring more float32
// bytes than this multiple of the file size is a lie (checked before allocating).
constexpr std::uint64_t kMaxExpansion = 1100;
// The reader child's limits: address space beyond the data itself (HDF5 metadata, chunk cache,
// conversion buffers) and CPU time (a crafted file can make the library loop).
constexpr std::uint64_t kChildExtraBytes = std::uint64_t(1) << 30;
constexpr std::uint64_t kChildCpuSeconds = 900;

// Refuses every external-link traversal (set on every link access list the reader uses).
herr_t deny_external_link(const char*, const char*, const char*, const char*, unsigned*, hid_t, void*) { return -1; }

struct DatasetInfo {
  std::string path;
  std::string summary;  // "[n, d] F32", "(virtual dataset)", ...
  bool rank2_float = false;
};

class Hdf5File {
 public:
  explicit Hdf5File(const std::string& path) : path_(path) {
    {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail(Exit::no_input, path, "", fmt::format("cannot open for reading: {}", std::strerror(errno)));
      struct stat st {};
      const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
      ::close(fd);
      if (!regular) fail(Exit::no_input, path, "", "not a regular file");
      file_size_ = static_cast<std::uint64_t>(st.st_size);
    }
    const htri_t is = H5Fis_hdf5(path.c_str());
    if (is < 0) fail(Exit::no_input, path, "", fmt::format("cannot check the file: {}", h5::error_stack()));
    if (is == 0) data_error(path, "", "not an HDF5 file (no HDF5 signature found)");
    lapl_ = h5::Id(H5Pcreate(H5P_DATASET_ACCESS));  // a dataset access list is also a link access list
    if (!lapl_.valid() || H5Pset_elink_cb(lapl_.get(), deny_external_link, nullptr) < 0)
      fail(Exit::software, path, "", fmt::format("cannot set up HDF5 property lists: {}", h5::error_stack()));
    h5::Id fapl(H5Pcreate(H5P_FILE_ACCESS));
    if (!fapl.valid() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0)
      fail(Exit::software, path, "", fmt::format("cannot set up HDF5 property lists: {}", h5::error_stack()));
    file_ = h5::Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
    if (!file_.valid()) data_error(path, "", fmt::format("cannot open as HDF5: {}", h5::error_stack()));
  }

  hid_t id() const { return file_.get(); }
  hid_t lapl() const { return lapl_.get(); }
  std::uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

  // Walks `object` one link at a time, so an external link anywhere on the path (also behind a
  // soft link) is refused before HDF5 would follow it. Returns false when a component is absent.
  bool check_path(const std::string& object, const std::string& asked, int depth = 0) const {
    if (depth > kMaxSoftLinkDepth) data_error(path_, asked, "soft links nested too deeply (a cycle?)");
    std::string prefix;
    std::size_t pos = 0;
    while (pos < object.size()) {
      const std::size_t next = object.find('/', pos);
      const std::string part = object.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      pos = next == std::string::npos ? object.size() : next + 1;
      if (part.empty() || part == ".") continue;
      const std::string parent = prefix.empty() ? "/" : prefix;
      prefix += "/" + part;
      switch (h5::link_type(file_.get(), prefix, lapl_.get())) {
        case H5L_TYPE_HARD:
          break;
        case H5L_TYPE_SOFT: {
          const std::string target = h5::soft_link_value(file_.get(), prefix, lapl_.get());
          const std::string resolved =
              !target.empty() && target[0] == '/' ? target : (parent == "/" ? "" : parent) + "/" + target;
          if (!check_path(resolved, asked, depth + 1)) return false;
          break;
        }
        case H5L_TYPE_EXTERNAL:
          data_error(path_, asked,
                     fmt::format("'{}' is an external link to another file (refused: embedlab never opens files "
                                 "that a file points to)",
                                 prefix));
        case H5L_TYPE_ERROR:
          return false;
        default:
          data_error(path_, asked, fmt::format("'{}' is a user-defined link (refused)", prefix));
      }
    }
    return true;
  }

  // Every dataset reachable through hard links (H5Lvisit never follows soft or external links),
  // plus the external links met on the way (listed, never followed).
  std::vector<DatasetInfo> datasets() const {
    struct Visit {
      const Hdf5File* self;
      std::vector<DatasetInfo> out;
    } v{this, {}};
    const auto cb = [](hid_t, const char* name, const auto* info, void* data) -> herr_t {
      auto& v = *static_cast<Visit*>(data);
      const std::string p = std::string("/") + name;
      if (info->type == H5L_TYPE_EXTERNAL) {
        v.out.push_back({p, "(external link, refused)", false});
      } else if (info->type == H5L_TYPE_HARD && h5::object_type(v.self->id(), p, v.self->lapl()) == H5O_TYPE_DATASET) {
        v.out.push_back(v.self->describe(p));
      }
      return 0;
    };
#if H5_VERSION_GE(1, 12, 0)
    const herr_t rc = H5Lvisit2(file_.get(), H5_INDEX_NAME, H5_ITER_INC,
                                static_cast<herr_t (*)(hid_t, const char*, const H5L_info2_t*, void*)>(cb), &v);
#else
    const herr_t rc = H5Lvisit(file_.get(), H5_INDEX_NAME, H5_ITER_INC,
                               static_cast<herr_t (*)(hid_t, const char*, const H5L_info_t*, void*)>(cb), &v);
#endif
    if (rc < 0) data_error(path_, "/", fmt::format("cannot list the file's objects: {}", h5::error_stack()));
    return std::move(v.out);
  }

  // One dataset's shape and type from its metadata only.
  DatasetInfo describe(const std::string& p) const {
    DatasetInfo d{p, "(unreadable)", false};
    h5::Id ds(H5Dopen2(file_.get(), p.c_str(), lapl_.get()));
    if (!ds.valid()) return d;
    h5::Id dcpl(H5Dget_create_plist(ds.get()));
    if (dcpl.valid() && H5Pget_layout(dcpl.get()) == H5D_VIRTUAL) {
      d.summary = "(virtual dataset, refused)";
      return d;
    }
    h5::Id type(H5Dget_type(ds.get()));
    h5::Id space(H5Dget_space(ds.get()));
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
    std::vector<hsize_t> dims(rank > 0 ? static_cast<std::size_t>(rank) : 0);
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    std::vector<std::uint64_t> shape(dims.begin(), dims.end());
    const H5T_class_t cls = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
    d.summary = fmt::format("{} {}", format_shape(shape), type_name(type.get()));
    d.rank2_float = rank == 2 && cls == H5T_FLOAT;
    return d;
  }

  static std::string type_name(hid_t type) {
    if (type < 0) return "?";
    const std::size_t size = H5Tget_size(type);
    switch (H5Tget_class(type)) {
      case H5T_FLOAT:
        return fmt::format("F{}{}", 8 * size, H5Tget_order(type) == H5T_ORDER_BE ? "BE" : "");
      case H5T_INTEGER:
        return fmt::format("{}{}", H5Tget_sign(type) == H5T_SGN_NONE ? "U" : "I", 8 * size);
      case H5T_STRING:
        return "string";
      case H5T_COMPOUND:
        return "compound";
      case H5T_ENUM:
        return "enum";
      case H5T_ARRAY:
        return "array";
      case H5T_REFERENCE:
        return "reference";
      case H5T_OPAQUE:
        return "opaque";
      case H5T_VLEN:
        return "vlen";
      case H5T_BITFIELD:
        return "bitfield";
      default:
        return "time";
    }
  }

  std::string listing() const {
    std::vector<std::string> names;
    for (const auto& d : datasets()) names.push_back(d.path + " " + d.summary);
    if (names.empty()) return "the file has no datasets";
    return "the file has: " + list_names(names);
  }

 private:
  std::string path_;
  std::uint64_t file_size_ = 0;
  h5::Id lapl_, file_;
};

std::string choose_dataset(const Hdf5File& f) {
  std::vector<const DatasetInfo*> candidates;
  const auto all = f.datasets();
  for (const auto& d : all)
    if (d.rank2_float) candidates.push_back(&d);
  if (candidates.size() == 1) return candidates.front()->path;
  if (f.check_path(kHfTfGpt2WtePath, kHfTfGpt2WtePath) &&
      h5::object_type(f.id(), kHfTfGpt2WtePath, f.lapl()) == H5O_TYPE_DATASET)
    return kHfTfGpt2WtePath;
  std::vector<std::string> names;
  for (const auto& d : all) names.push_back(d.path + " " + d.summary);
  data_error(f.path(), "/",
             fmt::format("no dataset given and {} rank-2 float datasets found (need exactly one, or the Hugging Face "
                         "GPT-2 path {}); {}",
                         candidates.size(), kHfTfGpt2WtePath,
                         names.empty() ? "the file has no datasets" : "the file has: " + list_names(names)));
}

// In the reader child: validates, reads the dataset as float32 into `memfd` (sized here) and
// returns "n d dtype". Every failure throws the same Error the reader always threw.
// `rows`: nullptr reads the whole dataset; else rows [r0, r1) (hyperslab), or nothing when shape_only.
struct RowSpan {
  std::uint64_t r0 = 0, r1 = 0;
  bool shape_only = false;
};

std::string validate_and_read(const std::string& path, const std::string& dataset, int memfd,
                              const RowSpan* rows = nullptr) {
  const h5::QuietErrors quiet;
  const Hdf5File f(path);
  if (const char* crash = std::getenv("EMBEDLAB_TEST_HDF5_CRASH"); crash != nullptr && std::string(crash) == "1") {
    std::signal(SIGSEGV, SIG_DFL);  // a real signal death, whatever handler a sanitizer installed
    std::raise(SIGSEGV);
  }
  const std::string p = dataset.empty() ? choose_dataset(f) : (dataset[0] == '/' ? dataset : "/" + dataset);

  if (!f.check_path(p, p)) data_error(path, p, fmt::format("dataset not found; {}", f.listing()));
  if (h5::object_type(f.id(), p, f.lapl()) != H5O_TYPE_DATASET)
    data_error(path, p, fmt::format("not a dataset; {}", f.listing()));
  const h5::Id ds(H5Dopen2(f.id(), p.c_str(), f.lapl()));
  if (!ds.valid()) data_error(path, p, fmt::format("cannot open the dataset: {}", h5::error_stack()));

  // Storage checks come first: nothing below may make HDF5 touch another file.
  const h5::Id dcpl(H5Dget_create_plist(ds.get()));
  if (!dcpl.valid()) data_error(path, p, fmt::format("cannot read the dataset's properties: {}", h5::error_stack()));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_VIRTUAL)
    data_error(path, p, "virtual dataset (its data lives in other files; refused: embedlab never opens them)");
  if (const int n_ext = H5Pget_external_count(dcpl.get()); n_ext != 0) {
    char name[256] = {0};
    off_t offset = 0;
    hsize_t size = 0;
    if (n_ext > 0) H5Pget_external(dcpl.get(), 0, sizeof name - 1, name, &offset, &size);
    data_error(path, p,
               fmt::format("raw data stored in {} external file(s), first '{}' (refused: embedlab never opens files "
                           "that a file points to)",
                           n_ext, name));
  }

  const h5::Id type(H5Dget_type(ds.get()));
  if (!type.valid()) data_error(path, p, fmt::format("cannot read the datatype: {}", h5::error_stack()));
  const std::string tname = Hdf5File::type_name(type.get());
  const bool ieee = H5Tequal(type.get(), H5T_IEEE_F32LE) > 0 || H5Tequal(type.get(), H5T_IEEE_F32BE) > 0 ||
                    H5Tequal(type.get(), H5T_IEEE_F64LE) > 0 || H5Tequal(type.get(), H5T_IEEE_F64BE) > 0;
  if (!ieee) data_error(path, p, fmt::format("datatype {} (expected float32 or float64)", tname));

  const h5::Id space(H5Dget_space(ds.get()));
  if (!space.valid()) data_error(path, p, fmt::format("cannot read the dataspace: {}", h5::error_stack()));
  if (H5Sget_simple_extent_type(space.get()) != H5S_SIMPLE)
    data_error(path, p, "scalar or null dataspace (expected rank 2)");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank > 0 ? static_cast<std::size_t>(rank) : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  const std::vector<std::uint64_t> shape(dims.begin(), dims.end());
  if (rank != 2)
    data_error(path, p,
               fmt::format("shape {} has rank {} (expected rank 2: tokens x dimensions)", format_shape(shape), rank));
  const std::uint64_t n = shape[0], d = shape[1];
  if (n == 0 || d == 0)
    data_error(path, p, fmt::format("shape {} is empty (expected at least one row)", format_shape(shape)));

  // Bound the allocation by what the file can hold.
  const std::uint64_t elements = checked_mul(n, d, path, p);
  const std::uint64_t stored_bytes = checked_mul(elements, H5Tget_size(type.get()), path, p);
  const std::uint64_t out_bytes = checked_mul(elements, 4, path, p);
  const std::uint64_t storage = H5Dget_storage_size(ds.get());
  if (storage == 0) data_error(path, p, "no data written (storage not allocated)");
  if (layout == H5D_CHUNKED) {
    if (out_bytes / kMaxExpansion > f.file_size())
      data_error(path, p,
                 fmt::format("shape {} needs {} bytes but the file has only {} (impossible compression ratio)",
                             format_shape(shape), out_bytes, f.file_size()));
  } else if (storage != stored_bytes) {
    data_error(path, p,
               fmt::format("{} bytes of data stored (expected {} for shape {} {})", storage, stored_bytes,
                           format_shape(shape), tname));
  }

  if (rows && rows->shape_only) return fmt::format("{} {} {}", n, d, tname);
  if (rows && (rows->r0 > rows->r1 || rows->r1 > n))
    fail(Exit::usage, path, p,
         fmt::format("row range [{}, {}) is outside the rows (got {} rows)", rows->r0, rows->r1, n));
  const std::uint64_t m = rows ? rows->r1 - rows->r0 : n;
  const std::uint64_t block_bytes = m * d * 4;
  if (m == 0) return fmt::format("{} {} {}", 0, d, tname);
  // The child's address space grows by the data (mapped below) plus the library's own needs.
  limit_address_space(checked_add(block_bytes, kChildExtraBytes, path, p));
  if (::ftruncate(memfd, static_cast<off_t>(block_bytes)) != 0)
    fail(Exit::software, path, p, fmt::format("cannot size the shared buffer: {}", std::strerror(errno)));
  void* buf = ::mmap(nullptr, block_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (buf == MAP_FAILED)
    fail(Exit::software, path, p, fmt::format("cannot map the shared buffer: {}", std::strerror(errno)));
  // Row-major n × d on disk is the column-major d × n matrix: the bytes go as they are.
  herr_t rc = 0;
  if (!rows) {
    rc = H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  } else {
    // Rows [r0, r1): a hyperslab of the file space into an (m, d) memory space.
    const hsize_t start[2] = {rows->r0, 0}, count[2] = {m, d};
    const h5::Id mem(H5Screate_simple(2, count, nullptr));
    rc = mem.valid() ? H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) : -1;
    if (rc >= 0) rc = H5Dread(ds.get(), H5T_NATIVE_FLOAT, mem.get(), space.get(), H5P_DEFAULT, buf);
  }
  ::munmap(buf, block_bytes);
  if (rc < 0) data_error(path, p, fmt::format("cannot read the data: {}", h5::error_stack()));
  return fmt::format("{} {} {}", rows ? m : n, d, tname);
}

// Closes the memfd on every path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Copies the reader process's answer (bytes of float32) out of the shared memfd.
void read_shared_buffer(int fd, char* dst, std::uint64_t bytes, const std::string& path) {
  for (std::uint64_t done = 0; done < bytes;) {
    const ssize_t got = ::pread(fd, dst + done, bytes - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      fail(Exit::software, path, "", fmt::format("cannot read the shared buffer: {}", std::strerror(errno)));
    done += static_cast<std::uint64_t>(got);
  }
}

}  // namespace

Embeddings read_hdf5(const std::string& path, const std::string& dataset) {
  Fd mem{::memfd_create("embedlab-hdf5", MFD_CLOEXEC)};
  if (mem.fd < 0)
    fail(Exit::software, path, "", fmt::format("cannot create a shared buffer: {}", std::strerror(errno)));
  const std::string header = run_isolated(path, "HDF5", {kChildExtraBytes, kChildCpuSeconds},
                                          [&] { return validate_and_read(path, dataset, mem.fd); });

  // The child validated the shape against the file; the parent checks the answer it got against
  // the buffer before trusting it.
  std::istringstream in(header);
  std::uint64_t n = 0, d = 0;
  std::string tname;
  in >> n >> d >> tname;
  struct stat st {};
  if (!in || n == 0 || d == 0 || ::fstat(mem.fd, &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != checked_mul(checked_mul(n, d, path, ""), 4, path, ""))
    fail(Exit::software, path, "", fmt::format("the HDF5 reader process gave an inconsistent answer '{}'", header));

  Embeddings e;
  e.vectors.set_size(d, n);
  auto* dst = reinterpret_cast<char*>(e.vectors.memptr());
  read_shared_buffer(mem.fd, dst, static_cast<std::uint64_t>(st.st_size), path);
  e.source.path = path;
  e.source.format = "hdf5";
  e.source.dtype = tname;
  e.source.shape = {n, d};
  e.source.sha256 = sha256_file(path, &e.source.sha256_cached);  // the whole file, as stored
  return e;
}

Hdf5Shape hdf5_shape(const std::string& path, const std::string& dataset) {
  const RowSpan span{0, 0, true};
  const std::string header = run_isolated(path, "HDF5", {kChildExtraBytes, kChildCpuSeconds},
                                          [&] { return validate_and_read(path, dataset, -1, &span); });
  std::istringstream in(header);
  Hdf5Shape s;
  in >> s.rows >> s.dim >> s.dtype;
  if (!in || s.rows == 0 || s.dim == 0)
    fail(Exit::software, path, "", fmt::format("the HDF5 reader process gave an inconsistent answer '{}'", header));
  return s;
}

arma::fmat read_hdf5_rows(const std::string& path, const std::string& dataset, std::uint64_t r0, std::uint64_t r1) {
  Fd mem{::memfd_create("embedlab-hdf5", MFD_CLOEXEC)};
  if (mem.fd < 0)
    fail(Exit::software, path, "", fmt::format("cannot create a shared buffer: {}", std::strerror(errno)));
  const RowSpan span{r0, r1, false};
  const std::string header = run_isolated(path, "HDF5", {kChildExtraBytes, kChildCpuSeconds},
                                          [&] { return validate_and_read(path, dataset, mem.fd, &span); });
  std::istringstream in(header);
  std::uint64_t m = 0, d = 0;
  in >> m >> d;
  struct stat st {};
  if (!in || m != r1 - r0 || d == 0 || ::fstat(mem.fd, &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != checked_mul(checked_mul(m, d, path, ""), 4, path, ""))
    fail(Exit::software, path, "", fmt::format("the HDF5 reader process gave an inconsistent answer '{}'", header));
  arma::fmat out(d, m);
  auto* dst = reinterpret_cast<char*>(out.memptr());
  read_shared_buffer(mem.fd, dst, static_cast<std::uint64_t>(st.st_size), path);
  return out;
}

}  // namespace embedlab::io

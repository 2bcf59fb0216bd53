#pragma once
// The HDF5 results writer and a small reader for checking results. The only place (with the HDF5
// input reader) that touches the HDF5 C API; every return code becomes an embedlab::Error.
//
// Layout rules (CONVENTIONS.md): row-major datasets with the shape a NumPy user expects — an
// arma matrix M (rows × cols) is stored as [rows, cols] (transposed once, here); every dataset gets
// `units` and `description` attributes; scalars are attributes.
#include <armadillo>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace embedlab::io {

struct DatasetInfo {
  std::string units;        // "1" for dimensionless
  std::string description;  // one sentence
};

// Builds the file in memory; commit() writes it to a temp file in the same directory, fsyncs and
// renames it into place (core/atomic_file). An uncommitted writer leaves nothing on disk; a final
// path is never opened with truncate. With keep_file = false (the non-root ranks of an MPI run, which
// run the same experiment code as rank 0) the file is only built in memory: nothing is checked or
// written on disk, and commit() discards it.
class H5ResultWriter {
 public:
  explicit H5ResultWriter(std::string final_path, bool keep_file = true);
  ~H5ResultWriter();
  H5ResultWriter(const H5ResultWriter&) = delete;
  H5ResultWriter& operator=(const H5ResultWriter&) = delete;

  // Datasets; intermediate groups are created. Vectors are 1-D.
  void write(const std::string& path, const std::vector<double>& v, const DatasetInfo& info);
  void write(const std::string& path, const std::vector<std::int64_t>& v, const DatasetInfo& info);
  void write(const std::string& path, const std::vector<std::string>& v, const DatasetInfo& info);
  void write(const std::string& path, const arma::vec& v, const DatasetInfo& info);
  void write(const std::string& path, const arma::mat& m, const DatasetInfo& info);   // [rows, cols]
  void write(const std::string& path, const arma::fmat& m, const DatasetInfo& info);  // [rows, cols]
  void write(const std::string& path, const arma::Mat<std::int64_t>& m, const DatasetInfo& info);
  // An N-d float32 dataset of the given NumPy shape from row-major data (product of shape = size).
  void write_array(const std::string& path, const std::vector<float>& row_major,
                   const std::vector<std::uint64_t>& shape, const DatasetInfo& info);
  // Attributes on a group or dataset (the group is created when missing).
  void attr(const std::string& object, const std::string& name, const std::string& value);
  void attr(const std::string& object, const std::string& name, double value);
  void attr(const std::string& object, const std::string& name, std::int64_t value);

  void commit();
  const std::string& final_path() const { return final_path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string final_path_;
  bool committed_ = false;
  bool keep_file_ = true;
};

// Read-only access to a results file (tests, `run_experiment --check`).
class H5ResultReader {
 public:
  explicit H5ResultReader(const std::string& path);
  ~H5ResultReader();
  H5ResultReader(const H5ResultReader&) = delete;
  H5ResultReader& operator=(const H5ResultReader&) = delete;

  bool exists(const std::string& path) const;
  std::vector<std::uint64_t> shape(const std::string& path) const;
  std::vector<double> read_doubles(const std::string& path) const;  // any numeric dataset, row-major
  std::vector<std::string> read_strings(const std::string& path) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  // Every dataset path in the file (depth-first, sorted).
  std::vector<std::string> datasets() const;

 private:
  std::string path_;
  std::int64_t file_ = -1;
};

// Silence HDF5's automatic error printing (idempotent). The last HDF5 error stack as one line.
void h5_silence();
std::string h5_last_error();

}  // namespace embedlab::io

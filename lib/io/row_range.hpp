#pragma once
// Row-range reads: rows [r0, r1) of an embedding matrix without reading the whole file — what a
// rank of `--distribute rows` loads (its block of rows; linalg/ring.hpp circulates the blocks).
//
// Formats: safetensors (F32/F16/BF16/F64, one positioned read of the block's bytes), npy (C order:
// one read; Fortran order: one strided read per column, d reads of r1 − r0 values), HDF5 (a
// hyperslab of rows, read in the isolated reader child like read_hdf5) and word2vec binary
// (uncompressed: opening scans the header, every record's token and offset once, skipping the
// vectors; a block then reads the vectors and keeps the tokens of its rows only). The rows are the
// ones the whole-file reader returns (duplicate tokens dropped as DuplicatePolicy says, `limit`
// applied), converted by the same code: the blocks of any split, concatenated, are the whole-file
// read bit for bit. Other formats (text, gzip, model directories) are refused with a one-line
// usage error.
//
// Provenance: the blocks carry no hash. source_sha256() streams the same bytes the whole-file
// reader hashes (safetensors: the tensor's bytes; npy, HDF5, word2vec binary: the whole file)
// through SHA-256 in fixed-size chunks without holding them — rank 0 calls it, so run metadata is
// the same digest as a replicated run's.
#include "io/embedding.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace embedlab::io {

class RowReader {
 public:
  // Reads and validates the header (and, for word2vec binary, scans the records). Errors as the
  // whole-file readers: Error(data) for a bad file, Error(no_input) for a missing one,
  // Error(usage) for a format without row-range reads.
  explicit RowReader(const LoadOptions& options);
  ~RowReader();
  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  std::uint64_t rows() const;  // n: rows the whole-file read returns
  std::uint64_t dim() const;   // d
  const std::string& format() const;
  // Rows [r0, r1): vectors (d, r1 − r0), the tokens of those rows (word formats), source = the
  // file's (path, format, dtype, shape [n, d]) with sha256 empty. r0 == r1 gives an empty block.
  // A range beyond rows() is Error(usage); a file cut short since opening is Error(data).
  Embeddings read(std::uint64_t r0, std::uint64_t r1) const;
  // The digest the whole-file reader puts into source.sha256, streamed (see above).
  std::string source_sha256() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace embedlab::io

#pragma once
// Row norms and unit rows of an embedding matrix, with the zero / non-finite row policy
// (../shared/CONVENTIONS.md, "Numerics").
//
// Shapes: E is (d, n) column-major float, column j = token j (the io::Embeddings convention).
// Norms accumulate in double; unit columns are x / ||x|| computed in double and stored as float.
#include <armadillo>

#include <string>
#include <vector>

namespace embedlab::linalg {

enum class BadRowPolicy { fail, exclude };

struct BadRow {
  arma::uword index;   // column of E (token id)
  std::string reason;  // "zero" or "non-finite"
};

struct NormalizeOptions {
  BadRowPolicy policy = BadRowPolicy::fail;
  // Token names for messages (names[j] names column j); empty = rows are called "#j".
  std::vector<std::string> names;
  // First part of an error message (`source: rows: ...`), e.g. the input file.
  std::string source = "embeddings";
};

struct Normalized {
  arma::fmat unit;               // (d, n_kept): unit columns of the kept rows, in original order
  arma::vec norms;               // (n): ||E(:, j)|| in double for every row; NaN for non-finite rows
  arma::uvec kept;               // (n_kept): original column of unit(:, i)
  std::vector<BadRow> excluded;  // rows left out (policy exclude), ascending index
};

// Unit columns of E under `options.policy`:
//   fail    -> Error(Exit::data) `source: rows: N bad rows (Z zero, F non-finite): row 3 'foo' zero, ...`
//              naming the first few;
//   exclude -> the bad rows are dropped and listed in `excluded`.
Normalized normalize_rows(const arma::fmat& E, const NormalizeOptions& options = {});

// The policy-fail error of normalize_rows for bad rows `bad` (ascending, indices of a matrix of n
// rows; names[i] names bad[i], empty = none): what a row-distributed load (every rank holding a
// block) throws once the ranks' bad rows are collected, the same line as a whole-matrix load.
[[noreturn]] void fail_bad_rows(const std::vector<BadRow>& bad, const std::vector<std::string>& names, arma::uword n,
                                const std::string& source);

}  // namespace embedlab::linalg

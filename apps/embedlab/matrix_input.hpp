#pragma once
// Shared by `embedlab neighbors` and `embedlab stats`: `COMMAND FILE [options]` parsed with
// Boost.Program_options, and FILE loaded (--format, --tensor) as unit rows.
#include "io/embedding.hpp"

#include <armadillo>
#include <boost/program_options.hpp>

#include <optional>
#include <string>

namespace embedlab::cli {

// Parses argv with `opts` plus the one positional FILE (stored as "file"). A parse error is
// Error(usage) `COMMAND: what (see embedlab COMMAND --help)`; --help prints `opts` and gives nullopt.
std::optional<boost::program_options::variables_map> parse_file_args(
    int argc, char** argv, const std::string& command, const boost::program_options::options_description& opts);

struct UnitRows {
  std::string path;
  io::Embeddings emb;  // as loaded; vectors (d, n)
  arma::fmat unit;     // (d, n) the columns of emb.vectors scaled to unit norm
};

// Applies --threads when given, then loads "file" with --format and --tensor and normalises its rows.
UnitRows load_unit_rows(const boost::program_options::variables_map& vm);

}  // namespace embedlab::cli

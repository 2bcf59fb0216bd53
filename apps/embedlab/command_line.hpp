#pragma once
// Shared by the Program_options subcommands (fetch, inspect, tokenize, neighbors, stats): the command
// line; and for neighbors and stats, `COMMAND FILE [options]` with FILE loaded as unit rows.
#include "io/embedding.hpp"

#include <armadillo>
#include <boost/program_options.hpp>

#include <optional>
#include <string>

namespace embedlab::cli {

// Parses the arguments of `embedlab COMMAND`: `opts` plus one positional argument stored as
// `positional`. A parse error is Error(usage) `COMMAND: what (see embedlab COMMAND --help)`; --help
// prints `usage` (when not empty) and `opts`, and gives nullopt.
std::optional<boost::program_options::variables_map> parse_command(
    int argc, char** argv, const std::string& command, const boost::program_options::options_description& opts,
    const std::string& positional, const std::string& usage = "");

// The one declaration of --matrix for the Program_options commands (neighbors, stats); the word
// commands (similar, analogy, doesnt-match) read it in parse_word_args with the same text.
inline constexpr const char* kMatrixOptionHelp =
    "model directories: input (token embeddings, default) | output (the unembedding; tied: the input matrix) | "
    "position (learned positions)";
void add_matrix_option(boost::program_options::options_description& opts);
// The value of --matrix as io::LoadOptions::matrix ("" for input), checked: Error(usage) naming the command.
std::string matrix_option(const std::string& command, const std::string& value);

struct UnitRows {
  std::string path;
  io::Embeddings emb;  // as loaded; vectors (d, n)
  arma::fmat unit;     // (d, n) the columns of emb.vectors scaled to unit norm
};

// Applies --threads when given, then loads "file" with --format, --tensor and --matrix and normalises its rows.
UnitRows load_unit_rows(const boost::program_options::variables_map& vm);

}  // namespace embedlab::cli

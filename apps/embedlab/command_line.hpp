#pragma once
// Shared by the Program_options subcommands (fetch, inspect, tokenize, neighbors, stats): the command
// line; and for neighbors and stats, `COMMAND FILE [options]` with FILE loaded as unit rows.
#include "io/embedding.hpp"

#include <armadillo>
#include <boost/program_options.hpp>

#include <future>
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

// --distribute replicated|rows (neighbors, stats). rows: every rank reads only its block of rows
// (io/row_range.hpp) and the all-pairs kernels circulate the blocks (linalg/ring.hpp).
void add_distribute_option(boost::program_options::options_description& opts);
// "replicated" or "rows"; anything else is Error(usage) naming the command.
std::string distribute_option(const std::string& command, const boost::program_options::variables_map& vm);

struct UnitBlock {
  std::string path;
  InputFile source;  // the file's (sha256 empty: see below)
  // Rank 0 when asked: the whole-file reader's digest, streamed on its own thread beside the kernels
  // (get() waits; an unreadable file throws there).
  std::shared_future<std::string> sha256;
  arma::uword n = 0, d = 0;
  arma::uword lo = 0;               // first row of this rank's block
  arma::fmat unit;                  // (d, rows of the block) unit columns
  std::vector<std::string> tokens;  // every row's token, rank 0 only (empty when the file has none)
};

// Applies --threads, then reads this rank's block of rows of row_layout(n, tile, world size) and
// normalises it; bad rows on any rank are the whole-matrix load's error (same line on every rank);
// `hash_source`: rank 0 starts UnitBlock::sha256. Call on every rank inside world().agree.
UnitBlock load_unit_block(const boost::program_options::variables_map& vm, arma::uword tile, bool hash_source);
// Bytes per rank for --dry-run: the block phase (read + normalise) and the ring, for the kernels
// `what` ("stats" or "neighbors", k neighbours); prints one line per rank on standard output.
void print_rows_estimate(const boost::program_options::variables_map& vm, arma::uword tile, const std::string& what,
                         arma::uword k, int ranks);

}  // namespace embedlab::cli

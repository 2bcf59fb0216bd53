// embedlab neighbors FILE --all --k K --out FILE.h5 [--format F] [--tensor T] [--threads N]
//
// All-rows top-k by cosine with symmetric tiles (the n×n matrix is never formed): datasets `ids`
// (n×k int64) and `cos` (n×k float32), plus `tokens` when the file has a vocabulary.
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/h5_results.hpp"
#include "linalg/topk.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <filesystem>

namespace embedlab::cli {

namespace po = boost::program_options;

int cmd_neighbors(int argc, char** argv) {
  po::options_description opts("usage: embedlab neighbors FILE --all --k K --out FILE.h5 [options]");
  opts.add_options()("help,h", "this help")("all", "every row against every row (required)")(
      "k", po::value<unsigned>()->default_value(10), "neighbours per row")("out", po::value<std::string>(),
                                                                           "output HDF5 file (must not exist)")(
      "format", po::value<std::string>()->default_value("auto"), "input format")(
      "tensor", po::value<std::string>()->default_value(""), "safetensors tensor / HDF5 dataset")(
      "threads", po::value<int>(), "worker threads (default: all cores)");
  const auto parsed = parse_command(argc, argv, "neighbors", opts, "file");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("file") || !vm.count("all") || !vm.count("out"))
    throw Error(Exit::usage, "neighbors: expected FILE --all --out FILE.h5 (see embedlab neighbors --help)");
  const unsigned k = vm["k"].as<unsigned>();
  if (k < 1) throw Error(Exit::usage, "neighbors: --k: must be at least 1 (got 0)");
  const std::string out = vm["out"].as<std::string>();
  if (std::filesystem::exists(out))  // nothing already written is overwritten
    fail(Exit::cant_create, out, "", "output file exists (remove it or choose another --out)");

  const UnitRows in = load_unit_rows(vm);
  const arma::fmat& U = in.unit;

  linalg::TopKOptions to;
  to.k = k;
  Progress progress("neighbors", static_cast<std::uint64_t>(U.n_cols) * U.n_cols / 2, "pairs");
  to.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
  const linalg::TopK top = linalg::topk_all(U, to);
  progress.finish();

  io::H5ResultWriter w(out);
  w.write("/ids", arma::conv_to<arma::Mat<std::int64_t>>::from(top.ids),
          {"1", "row ids of the k nearest rows by cosine, best first (self excluded, ties: lower id)"});
  w.write("/cos", top.cos, {"1", "cosines of the neighbours in /ids"});
  if (!in.emb.tokens.empty()) w.write("/tokens", in.emb.tokens, {"1", "token of each row"});
  w.attr("/", "source", in.emb.source.path);
  w.attr("/", "source_sha256", in.emb.source.sha256);
  w.attr("/", "k", static_cast<std::int64_t>(top.ids.n_cols));
  w.commit();
  fmt::print("{}: {} rows × k = {} → {}\n", in.path, top.ids.n_rows, top.ids.n_cols, out);
  return 0;
}

}  // namespace embedlab::cli

// embedlab neighbors FILE --all --k K --out FILE.h5 [--csls [--csls-k K]] [--format F] [--tensor T] [--threads N]
//
// All-rows top-k by cosine with symmetric tiles (the n×n matrix is never formed): datasets `ids`
// (n×k int64) and `cos` (n×k float32), plus `tokens` when the file has a vocabulary. With --csls the
// neighbours are ranked by CSLS(x, y) = 2cos(x, y) − r(x) − r(y), r = mean cos to the --csls-k
// nearest (Conneau et al. 2018): one exact top-k pass for r, one for the CSLS lists
// (linalg::knn_exact); `csls` (n×k float64) and `csls_r` (n) are added.
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "comm/comm.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/h5_results.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/ring.hpp"
#include "linalg/topk.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <filesystem>
#include <optional>

namespace embedlab::cli {

namespace po = boost::program_options;

namespace {

// --distribute rows: every rank reads its block of rows, the blocks circulate (linalg/ring.hpp);
// the same file, bit for bit, as the replicated and serial runs.
int neighbors_rows(const po::variables_map& vm, unsigned k, const std::string& out) {
  const auto& world = comm::world();
  linalg::TopKOptions to;
  to.k = k;
  if (vm.count("dry-run")) {
    if (world.root()) print_rows_estimate(vm, to.tile, "neighbors", k, world.size());
    return 0;
  }
  UnitBlock in;
  world.agree([&] {
    if (std::filesystem::exists(out))  // nothing already written is overwritten
      fail(Exit::cant_create, out, "", "output file exists (remove it or choose another --out)");
    in = load_unit_block(vm, to.tile, true);
  });
  std::optional<io::H5ResultWriter> w;  // rank 0 only
  world.agree([&] {
    if (world.root()) w.emplace(out);
  });
  Progress progress("neighbors", static_cast<std::uint64_t>(in.n) * in.n / 2, "pairs");
  to.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
  const linalg::TopK top = linalg::topk_all_rows(in.unit, in.n, to);
  progress.finish();
  if (!world.root()) return 0;
  w->write("/ids", arma::conv_to<arma::Mat<std::int64_t>>::from(top.ids),
           {"1", "row ids of the k nearest rows by cosine, best first (self excluded, ties: lower id)"});
  w->write("/cos", top.cos, {"1", "cosines of the neighbours in /ids"});
  if (!in.tokens.empty()) w->write("/tokens", in.tokens, {"1", "token of each row"});
  w->attr("/", "source", in.source.path);
  w->attr("/", "source_sha256", in.sha256.get());
  w->attr("/", "k", static_cast<std::int64_t>(top.ids.n_cols));
  w->attr("/", "ranking", std::string("cosine"));
  w->commit();
  fmt::print("{}: {} rows × k = {} → {}\n", in.path, in.n, top.ids.n_cols, out);
  return 0;
}

}  // namespace

int cmd_neighbors(int argc, char** argv) {
  po::options_description opts("usage: embedlab neighbors FILE --all --k K --out FILE.h5 [options]");
  opts.add_options()("help,h", "this help")("all", "every row against every row (required)")(
      "k", po::value<unsigned>()->default_value(10), "neighbours per row")("out", po::value<std::string>(),
                                                                           "output HDF5 file (must not exist)")(
      "format", po::value<std::string>()->default_value("auto"), "input format (auto|gpt2|model|safetensors|...)")(
      "tensor", po::value<std::string>()->default_value(""), "safetensors tensor / HDF5 dataset")(
      "csls", "rank by CSLS 2cos(x, y) − r(x) − r(y) instead of cosine (r: mean cos to the --csls-k nearest)")(
      "csls-k", po::value<unsigned>()->default_value(10), "k of CSLS's r")("threads", po::value<int>(),
                                                                           "worker threads (default: all cores)");
  add_matrix_option(opts);
  add_distribute_option(opts);
  const auto parsed = parse_command(argc, argv, "neighbors", opts, "file");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("file") || !vm.count("all") || !vm.count("out"))
    throw Error(Exit::usage, "neighbors: expected FILE --all --out FILE.h5 (see embedlab neighbors --help)");
  const unsigned k = vm["k"].as<unsigned>();
  if (k < 1) throw Error(Exit::usage, "neighbors: --k: must be at least 1 (got 0)");
  const unsigned csls_k = vm["csls-k"].as<unsigned>();
  if (csls_k < 1) throw Error(Exit::usage, "neighbors: --csls-k: must be at least 1 (got 0)");
  const bool csls = vm.count("csls") > 0;
  const std::string out = vm["out"].as<std::string>();
  if (distribute_option("neighbors", vm) == "rows") {
    if (csls) throw Error(Exit::usage, "neighbors: --csls: not available with --distribute rows");
    return neighbors_rows(vm, k, out);
  }
  // Under mpirun every rank loads and computes its share (linalg's kernels distribute over
  // comm::world()); rank 0 alone writes. Errors before the kernels are agreed on by all ranks.
  const auto& world = comm::world();
  UnitRows in;
  world.agree([&] {
    if (std::filesystem::exists(out))  // nothing already written is overwritten
      fail(Exit::cant_create, out, "", "output file exists (remove it or choose another --out)");
    in = load_unit_rows(vm);
    if (csls && in.unit.n_cols < 2)
      throw Error(Exit::data, fmt::format("{}: rows: --csls needs at least 2 rows (got {})", in.path, in.unit.n_cols));
  });
  const arma::fmat& U = in.unit;

  std::optional<io::H5ResultWriter> writer;
  world.agree([&] {
    if (world.root()) writer.emplace(out);
  });
  auto& w = writer;  // rank 0 only
  arma::uword k_out = 0;
  if (csls) {
    linalg::KnnOptions ko;
    ko.k = csls_k;
    Progress p1("neighbors (CSLS r)", static_cast<std::uint64_t>(U.n_cols) * U.n_cols / 2, "pairs");
    ko.progress = [&](std::uint64_t done, std::uint64_t) { p1.update(done); };
    const linalg::Knn base = linalg::knn_exact(U, ko);
    p1.finish();
    const arma::vec r = linalg::csls_radius(base, base.ids.n_cols);
    ko.k = k;
    Progress p2("neighbors (CSLS)", static_cast<std::uint64_t>(U.n_cols) * U.n_cols / 2, "pairs");
    ko.progress = [&](std::uint64_t done, std::uint64_t) { p2.update(done); };
    const linalg::Knn top = linalg::knn_exact(U, ko, &r);
    p2.finish();
    arma::fmat cos(top.ids.n_rows, top.ids.n_cols);
    for (arma::uword i = 0; i < cos.n_rows; ++i)
      for (arma::uword e = 0; e < cos.n_cols; ++e)
        cos(i, e) = static_cast<float>(linalg::pair_cosine(U, i, top.ids(i, e)));
    if (w)
      w->write("/ids", arma::conv_to<arma::Mat<std::int64_t>>::from(top.ids),
               {"1", "row ids of the k nearest rows by CSLS, best first (self excluded, ties: lower id)"});
    if (w) w->write("/cos", cos, {"1", "cosines of the neighbours in /ids"});
    if (w) w->write("/csls", top.score, {"1", "CSLS(x, y) = 2cos(x, y) − r(x) − r(y) of the neighbours in /ids"});
    if (w) w->write("/csls_r", r, {"1", "r(x): mean cos of row x to its csls_k nearest rows"});
    if (w) w->attr("/", "csls_k", static_cast<std::int64_t>(base.ids.n_cols));
    k_out = top.ids.n_cols;
  } else {
    linalg::TopKOptions to;
    to.k = k;
    Progress progress("neighbors", static_cast<std::uint64_t>(U.n_cols) * U.n_cols / 2, "pairs");
    to.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
    const linalg::TopK top = linalg::topk_all(U, to);
    progress.finish();
    if (w)
      w->write("/ids", arma::conv_to<arma::Mat<std::int64_t>>::from(top.ids),
               {"1", "row ids of the k nearest rows by cosine, best first (self excluded, ties: lower id)"});
    if (w) w->write("/cos", top.cos, {"1", "cosines of the neighbours in /ids"});
    k_out = top.ids.n_cols;
  }
  if (w && !in.emb.tokens.empty()) w->write("/tokens", in.emb.tokens, {"1", "token of each row"});
  if (w) w->attr("/", "source", in.emb.source.path);
  if (w) w->attr("/", "source_sha256", in.emb.source.sha256);
  if (w) w->attr("/", "k", static_cast<std::int64_t>(k_out));
  if (w) w->attr("/", "ranking", std::string(csls ? "csls" : "cosine"));
  if (w) w->commit();
  if (!world.root()) return 0;
  fmt::print("{}: {} rows × k = {}{} → {}\n", in.path, U.n_cols, k_out, csls ? " (CSLS)" : "", out);
  return 0;
}

}  // namespace embedlab::cli

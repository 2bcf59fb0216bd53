// embedlab stats FILE [--json] [--format F] [--tensor T] [--bins B] [--k K] [--standardized] [--threads N]
//
// All-pairs cosine statistics of the whole matrix (moments exactly from the Gram matrix; min, max
// and quantiles from one blocked pass over the upper triangle), the anisotropy numbers and the
// diagnostics of linalg/diagnostics.hpp (hubness, rogue dimensions, TwoNN, isotropy; one exact
// top-k pass).
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "comm/comm.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/anisotropy.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/ring.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <functional>

namespace embedlab::cli {

namespace po = boost::program_options;

namespace {

using RowName = std::function<std::string(arma::uword)>;

// The all-pairs part of the output, shared by the replicated and the --distribute rows paths.
nlohmann::ordered_json all_pairs_json(const std::string& path, arma::uword rows, arma::uword dim,
                                      const linalg::AllPairsStats& s, const linalg::PairMoments& moments,
                                      const RowName& name) {
  nlohmann::ordered_json j;
  j["file"] = path;
  j["rows"] = rows;
  j["dim"] = dim;
  j["pairs"] = s.n_pairs;
  j["mean"] = moments.mean;
  j["variance"] = moments.variance;
  j["random_baseline_variance"] = 1.0 / static_cast<double>(dim);
  j["min"] = {{"cos", s.min.cos}, {"a", name(s.min.i)}, {"b", name(s.min.j)}};
  j["max"] = {{"cos", s.max.cos}, {"a", name(s.max.i)}, {"b", name(s.max.j)}};
  j["quantiles"] = {{"q01", s.quantile(0.01)},
                    {"q25", s.quantile(0.25)},
                    {"median", s.quantile(0.5)},
                    {"q75", s.quantile(0.75)},
                    {"q99", s.quantile(0.99)}};
  return j;
}

void print_all_pairs(const std::string& path, arma::uword rows, arma::uword dim, const linalg::AllPairsStats& s,
                     const linalg::PairMoments& moments, const RowName& name, unsigned bins) {
  fmt::print("{}: {} rows × {} dims, {} pairs\n", path, rows, dim, s.n_pairs);
  fmt::print("mean cos {:.6f}, variance {:.6g} (random baseline: 0, {:.6g})\n", moments.mean, moments.variance,
             1.0 / static_cast<double>(dim));
  fmt::print("min {:.4f} ({} / {}), max {:.4f} ({} / {})\n", s.min.cos, name(s.min.i), name(s.min.j), s.max.cos,
             name(s.max.i), name(s.max.j));
  fmt::print("quantiles: 1% {:.4f}, 25% {:.4f}, median {:.4f}, 75% {:.4f}, 99% {:.4f} (±{:.4f}, one bin)\n",
             s.quantile(0.01), s.quantile(0.25), s.quantile(0.5), s.quantile(0.75), s.quantile(0.99), 2.0 / bins);
}

// --distribute rows: the all-pairs statistics (moments from the Gram, extremes, histogram and
// quantiles from the pass) of a matrix no rank holds whole; the same numbers, bit for bit, as the
// replicated and serial runs. The diagnostics that need every row on one rank (anisotropy's SVD,
// the kNN-based hubness and TwoNN, rogue dimensions, isotropy) are left out.
int stats_rows(const po::variables_map& vm) {
  const auto& world = comm::world();
  linalg::AllPairsOptions ao;
  ao.bins = vm["bins"].as<unsigned>();
  if (vm.count("dry-run")) {
    if (world.root()) print_rows_estimate(vm, ao.tile, "stats", 0, world.size());
    return 0;
  }
  UnitBlock in;
  world.agree([&] {
    in = load_unit_block(vm, ao.tile, false);  // the output names no digest
    if (in.n < 3) throw Error(Exit::data, fmt::format("{}: rows: need at least 3 rows (got {})", in.path, in.n));
  });
  const linalg::PairMoments moments = linalg::pair_moments_rows(in.unit, in.n, ao.tile);
  Progress progress("all pairs", static_cast<std::uint64_t>(in.n) * (in.n - 1) / 2, "pairs");
  ao.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
  const linalg::AllPairsStats s = linalg::all_pairs_rows(in.unit, in.n, ao);
  progress.finish();
  if (!world.root()) return 0;
  const RowName name = [&](arma::uword j) { return j < in.tokens.size() ? in.tokens[j] : fmt::format("#{}", j); };
  if (vm.count("json")) {
    fmt::print("{}\n", all_pairs_json(in.path, in.n, in.d, s, moments, name).dump(2));
    return 0;
  }
  print_all_pairs(in.path, in.n, in.d, s, moments, name, ao.bins);
  fmt::print(
      "(--distribute rows over {} ranks: anisotropy, hubness, rogue dimensions, intrinsic dimension and "
      "isotropy need the whole matrix on one rank and are not computed)\n",
      world.size());
  return 0;
}

}  // namespace

int cmd_stats(int argc, char** argv) {
  po::options_description opts("usage: embedlab stats FILE [options]");
  opts.add_options()("help,h", "this help")("json", "one JSON object on standard output")(
      "format", po::value<std::string>()->default_value("auto"), "input format (auto|gpt2|model|safetensors|...)")(
      "tensor", po::value<std::string>()->default_value(""), "safetensors tensor / HDF5 dataset")(
      "bins", po::value<unsigned>()->default_value(2000), "histogram bins on [-1, 1] for the quantiles")(
      "k", po::value<unsigned>()->default_value(10), "k of the hubness N_k (and of CSLS's r)")(
      "standardized", "also the rogue dimensions of the standardized cosine (dimensions z-scored first)")(
      "threads", po::value<int>(), "worker threads (default: all cores)");
  add_matrix_option(opts);
  add_distribute_option(opts);
  const auto parsed = parse_command(argc, argv, "stats", opts, "file");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("file")) throw Error(Exit::usage, "stats: expected FILE (see embedlab stats --help)");
  if (vm["bins"].as<unsigned>() < 1) throw Error(Exit::usage, "stats: --bins: must be at least 1 (got 0)");
  if (vm["k"].as<unsigned>() < 1) throw Error(Exit::usage, "stats: --k: must be at least 1 (got 0)");
  if (distribute_option("stats", vm) == "rows") return stats_rows(vm);
  // Under mpirun every rank loads and runs its share of the kernels (they distribute over
  // comm::world()); rank 0 alone prints. Errors before the kernels are agreed on by all ranks.
  const auto& world = comm::world();
  UnitRows in;
  world.agree([&] {
    in = load_unit_rows(vm);
    if (in.unit.n_cols < 3)
      throw Error(Exit::data, fmt::format("{}: rows: need at least 3 rows (got {})", in.path, in.unit.n_cols));
  });
  const arma::fmat& U = in.unit;

  const linalg::PairMoments moments = linalg::pair_moments(U);
  const linalg::Anisotropy an = linalg::anisotropy(U);
  linalg::AllPairsOptions ao;
  ao.bins = vm["bins"].as<unsigned>();
  Progress progress("all pairs", static_cast<std::uint64_t>(U.n_cols) * (U.n_cols - 1) / 2, "pairs");
  ao.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
  const linalg::AllPairsStats s = linalg::all_pairs(U, ao);
  progress.finish();
  linalg::DiagnosticsOptions dopt;
  dopt.k = vm["k"].as<unsigned>();
  dopt.standardized = vm.count("standardized") > 0;
  Progress knn_progress("kNN", static_cast<std::uint64_t>(U.n_cols) * (U.n_cols - 1) / 2, "pairs");
  dopt.progress = [&](std::uint64_t done, std::uint64_t) { knn_progress.update(done); };
  const linalg::Diagnostics g = linalg::diagnostics(U, in.emb.vectors, dopt);
  knn_progress.finish();
  auto rogue_json = [](const linalg::RogueDimensions& r) {
    return nlohmann::ordered_json{{"dims", std::vector<arma::uword>(r.dims.begin(), r.dims.end())},
                                  {"share", std::vector<double>(r.share.begin(), r.share.end())},
                                  {"mean_cosine", r.mean_cosine}};
  };
  const RowName name = [&](arma::uword j) { return in.emb.token_name(j); };
  if (!world.root()) return 0;

  if (vm.count("json")) {
    nlohmann::ordered_json j = all_pairs_json(in.path, U.n_cols, U.n_rows, s, moments, name);
    j["anisotropy"] = {{"mean_cosine", an.mean_cosine},
                       {"mean_unit_norm", an.mean_unit_norm},
                       {"top_singular_value_share", an.top_sv_share}};
    j["hubness"] = {{"k", g.hubness.k},
                    {"skewness", g.hubness.skewness},
                    {"antihub_share", g.hubness.antihub_share},
                    {"hub_share", g.hubness.hub_share},
                    {"robin_hood", g.hubness.robin_hood}};
    j["rogue_dimensions"] = rogue_json(g.rogue);
    if (g.rogue_standardized) j["rogue_dimensions"]["standardized"] = rogue_json(*g.rogue_standardized);
    j["intrinsic_dimension"] = {
        {"twonn", g.twonn.dimension}, {"rows_used", g.twonn.rows_used}, {"rows_r1_zero", g.twonn.rows_r1_zero}};
    j["isotropy"] = {{"mu_viswanath", g.isotropy.mu}, {"isoscore", g.iso_score}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  print_all_pairs(in.path, U.n_cols, U.n_rows, s, moments, name, ao.bins);
  fmt::print("anisotropy: mean cosine {:.6f}, |mean unit vector| {:.6f}, top singular value share {:.6f}\n",
             an.mean_cosine, an.mean_unit_norm, an.top_sv_share);
  const auto& h = g.hubness;
  fmt::print("hubness (k = {}): skewness of N_k {:.4f}, anti-hubs {:.4f}, hubs (N_k > {}) {:.4f}, Robin Hood {:.4f}\n",
             h.k, h.skewness, h.antihub_share, 2 * h.k, h.hub_share, h.robin_hood);
  auto rogue_text = [](const linalg::RogueDimensions& r) {
    std::string t;
    for (arma::uword e = 0; e < r.dims.n_elem; ++e)
      t += fmt::format("{}{} ({:.4f})", e ? ", " : "", r.dims[e], r.share[e]);
    return t;
  };
  fmt::print("rogue dimensions (share of the mean cosine): {}\n", rogue_text(g.rogue));
  if (g.rogue_standardized)
    fmt::print("rogue dimensions, standardized cosine: {}\n", rogue_text(*g.rogue_standardized));
  fmt::print("intrinsic dimension (TwoNN) {:.4f} ({} rows with r1 = 0 left out)\n", g.twonn.dimension,
             g.twonn.rows_r1_zero);
  fmt::print("isotropy: mu (Mu & Viswanath) {:.6g}, IsoScore {:.6f}\n", g.isotropy.mu, g.iso_score);
  return 0;
}

}  // namespace embedlab::cli

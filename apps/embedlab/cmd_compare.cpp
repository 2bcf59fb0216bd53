// embedlab compare FILE_A [FILE_B] [--halves] [--k 10] [--vectors raw|unit] [--permutations P]
//                  [--bootstrap B] [--metrics a,b] [--json] ...
//
// How alike two embedding spaces are (lib/rsa/similarity_metrics): CKA (linear, debiased, RBF),
// mutual k-NN, Jaccard k-NN, Procrustes, SVCCA and RSA over the rows both files name by the same
// token string (in FILE_A's order), or over the two halves of FILE_A's dimensions (--halves). With
// --permutations each metric also gets its permutation null (p-value, null mean and sd, z).
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "io/embedding.hpp"
#include "rsa/similarity_metrics.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

namespace embedlab::cli {

namespace po = boost::program_options;

namespace {

nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr; }

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

io::Embeddings load(const std::string& path, const std::string& format, const std::string& tensor,
                    const std::string& matrix, std::uint64_t limit) {
  io::LoadOptions lo;
  lo.path = path;
  lo.format = format;
  lo.tensor = tensor;
  lo.matrix = matrix;
  if (limit > 0) lo.limit = limit;
  return io::load_embeddings(lo);
}

}  // namespace

int cmd_compare(int argc, char** argv) {
  po::options_description opts("usage: embedlab compare FILE_A [FILE_B] [options]");
  opts.add_options()("help,h", "this help")("json", "one JSON object on standard output")(
      "halves", "compare the first and second half of FILE_A's dimensions (no FILE_B)")(
      "k", po::value<unsigned>()->default_value(10), "neighbours of mutual_knn / jaccard_knn")(
      "vectors", po::value<std::string>()->default_value("raw"), "raw | unit (each side's rows scaled to norm 1)")(
      "permutations", po::value<unsigned>()->default_value(0), "permutation null with P permutations (0 = none)")(
      "bootstrap", po::value<unsigned>()->default_value(0), "bootstrap resamples over rows for an interval")(
      "confidence", po::value<double>()->default_value(0.95), "level of the bootstrap interval")(
      "metrics", po::value<std::string>(), "comma-separated metrics (default: all)")(
      "max-pairwise-rows", po::value<unsigned>()->default_value(8000),
      "rbf_cka / rsa_spearman hold n×n matrices: refused above this many rows (left out, as null, when --metrics "
      "is not given)")("seed", po::value<std::uint64_t>()->default_value(42), "seed of the permutations")(
      "limit", po::value<std::uint64_t>()->default_value(0), "read only the first N rows of word formats")(
      "format", po::value<std::string>()->default_value("auto"), "format of FILE_A")(
      "tensor", po::value<std::string>()->default_value(""), "safetensors tensor / HDF5 dataset of FILE_A")(
      "format-b", po::value<std::string>()->default_value("auto"), "format of FILE_B")(
      "tensor-b", po::value<std::string>()->default_value(""), "safetensors tensor / HDF5 dataset of FILE_B")(
      "matrix", po::value<std::string>()->default_value("input"),
      "FILE_A a model directory: input | output | position")("matrix-b",
                                                             po::value<std::string>()->default_value("input"),
                                                             "FILE_B a model directory: input | output | position")(
      "gram", po::value<std::string>()->default_value("auto"),
      "Gram products of CKA, Procrustes and SVCCA: float (float32 summed in double per 2048 rows) | double | auto "
      "(float once n·(p+q)² ≥ 2^30)")("threads", po::value<int>(), "worker threads (default: all cores)");
  po::options_description hidden;
  hidden.add_options()("files", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("files", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(Exit::usage, fmt::format("compare: {} (see embedlab compare --help)", e.what()));
  }
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return 0;
  }
  const auto files = vm.count("files") ? vm["files"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const bool halves = vm.count("halves") > 0;
  if (files.empty() || files.size() > 2 || (halves && files.size() != 1) || (!halves && files.size() != 2))
    throw Error(Exit::usage,
                fmt::format("compare: expected FILE_A FILE_B, or FILE_A --halves (got {} file(s){}; see embedlab "
                            "compare --help)",
                            files.size(), halves ? " with --halves" : ""));
  const std::string vectors = vm["vectors"].as<std::string>();
  if (vectors != "raw" && vectors != "unit")
    throw Error(Exit::usage, fmt::format("compare: --vectors: '{}' (expected raw or unit)", vectors));
  const unsigned k = vm["k"].as<unsigned>();
  if (k < 1) throw Error(Exit::usage, "compare: --k: must be at least 1 (got 0)");
  const double level = vm["confidence"].as<double>();
  if (!(level >= 0.5 && level < 1.0))
    throw Error(Exit::usage, fmt::format("compare: --confidence: {} (expected 0.5 ≤ x < 1)", level));
  if (vm.count("threads")) set_threads(std::max(1, vm["threads"].as<int>()));

  rsa::MetricOptions mo;
  mo.k = k;
  mo.max_pairwise_rows = vm["max-pairwise-rows"].as<unsigned>();
  mo.pairwise_key = "--max-pairwise-rows";
  mo.gram = rsa::parse_gram_precision(vm["gram"].as<std::string>());
  std::vector<rsa::Metric> metrics;
  const bool explicit_metrics = vm.count("metrics") > 0;
  if (explicit_metrics) {
    for (const auto& m : split_list(vm["metrics"].as<std::string>())) metrics.push_back(rsa::parse_metric(m));
    if (metrics.empty()) throw Error(Exit::usage, "compare: --metrics: empty list");
  } else {
    metrics = rsa::all_metrics();
  }

  // The two matrices, column i = row i of the definitions.
  const std::uint64_t limit = vm["limit"].as<std::uint64_t>();
  const io::Embeddings a = load(files[0], vm["format"].as<std::string>(), vm["tensor"].as<std::string>(),
                                cli::matrix_option("compare", vm["matrix"].as<std::string>()), limit);
  arma::mat X, Y;
  std::size_t candidates = a.rows();
  if (halves) {
    const arma::uword d = a.dim(), h = d / 2;
    if (h < 1) throw Error(Exit::data, fmt::format("{}: --halves: need at least 2 dimensions (got {})", files[0], d));
    X = arma::conv_to<arma::mat>::from(arma::fmat(a.vectors.rows(0, h - 1)));
    Y = arma::conv_to<arma::mat>::from(arma::fmat(a.vectors.rows(h, d - 1)));
  } else {
    const io::Embeddings b = load(files[1], vm["format-b"].as<std::string>(), vm["tensor-b"].as<std::string>(),
                                  cli::matrix_option("compare", vm["matrix-b"].as<std::string>()), limit);
    // Rows are matched by token string; a file without a vocabulary names its rows "#0", "#1", …
    // (two such files are matched row by row).
    std::map<std::string, arma::uword> row_b;
    for (arma::uword j = 0; j < b.rows(); ++j) row_b.emplace(b.token_name(j), j);
    std::vector<arma::uword> ia, ib;
    for (arma::uword j = 0; j < a.rows(); ++j)
      if (auto it = row_b.find(a.token_name(j)); it != row_b.end()) {
        ia.push_back(j);
        ib.push_back(it->second);
      }
    X = arma::conv_to<arma::mat>::from(arma::fmat(a.vectors.cols(arma::uvec(ia))));
    Y = arma::conv_to<arma::mat>::from(arma::fmat(b.vectors.cols(arma::uvec(ib))));
  }
  if (vectors == "unit") {
    X = rsa::unit_columns(X, files[0]);
    Y = rsa::unit_columns(Y, files.back());
  }
  const arma::uword n = X.n_cols;
  if (n < 4) throw Error(Exit::data, fmt::format("compare: rows: {} shared rows (expected at least 4)", n));
  // Without --metrics, the pairwise metrics beyond the bound are left out and printed as null.
  std::vector<rsa::Metric> run = metrics;
  std::vector<rsa::Metric> skipped;
  if (!explicit_metrics && n > mo.max_pairwise_rows) {
    run.clear();
    for (const auto m : metrics) (rsa::is_pairwise(m) ? skipped : run).push_back(m);
    for (const auto m : skipped)
      fmt::print(stderr, "note: {} left out: {} rows > --max-pairwise-rows {} (it holds n×n matrices)\n",
                 rsa::to_string(m), n, mo.max_pairwise_rows);
  }
  rsa::CalibrationOptions co;
  co.permutations = vm["permutations"].as<unsigned>();
  co.bootstrap = vm["bootstrap"].as<unsigned>();
  co.level = level;
  const auto cal = rsa::calibrate(X, Y, run, mo, co, Rng(vm["seed"].as<std::uint64_t>()));
  const bool calibrated = co.permutations > 0 || co.bootstrap > 0;

  nlohmann::ordered_json j;
  j["rows"] = n;
  j["dims"] = {X.n_rows, Y.n_rows};
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto metric : metrics) {
    const std::string name(rsa::to_string(metric));
    auto it = std::find_if(cal.begin(), cal.end(), [&](const rsa::Calibrated& c) { return c.metric == metric; });
    if (it == cal.end()) {
      m[name] = nullptr;
      continue;
    }
    if (!calibrated) {
      m[name] = number(it->value);
      continue;
    }
    m[name] = {{"value", number(it->value)},
               {"p_value", number(it->p_value)},
               {"null_mean", number(it->null_mean)},
               {"null_sd", number(it->null_sd)},
               {"z", number(it->z)},
               {"excess", number(it->excess)},
               {"ci_low", number(it->ci_low)},
               {"ci_high", number(it->ci_high)},
               {"permutations", co.permutations},
               {"bootstrap", co.bootstrap}};
  }
  j["metrics"] = m;
  if (vm.count("json")) {
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("{} rows; dims {} and {}{}; {} vectors\n", n, X.n_rows, Y.n_rows,
             halves ? fmt::format(" (halves of {})", files[0])
                    : fmt::format(" ({} of {} rows of {} matched)", n, candidates, files[0]),
             vectors);
  for (const auto& c : cal) {
    if (co.permutations > 0)
      fmt::print("{:<22} {:>10.6f}   null {:.6f} ± {:.6f}  z {:>8.2f}  p {:.4g}\n", rsa::to_string(c.metric), c.value,
                 c.null_mean, c.null_sd, c.z, c.p_value);
    else
      fmt::print("{:<22} {:>10.6f}\n", rsa::to_string(c.metric), c.value);
  }
  return 0;
}

}  // namespace embedlab::cli

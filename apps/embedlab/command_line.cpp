#include "apps/embedlab/command_line.hpp"

#include "comm/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "io/model_presets.hpp"
#include "io/row_range.hpp"
#include "linalg/normalize.hpp"
#include "linalg/ring.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <iostream>
#include <memory>

namespace embedlab::cli {

namespace po = boost::program_options;

std::optional<po::variables_map> parse_command(int argc, char** argv, const std::string& command,
                                               const po::options_description& opts, const std::string& positional,
                                               const std::string& usage) {
  po::options_description hidden;
  hidden.add_options()(positional.c_str(), po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add(positional.c_str(), 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(Exit::usage, fmt::format("{}: {} (see embedlab {} --help)", command, e.what(), command));
  }
  if (vm.count("help")) {
    if (usage.empty())
      std::cout << opts << "\n";
    else
      std::cout << usage << opts;
    return std::nullopt;
  }
  return vm;
}

void add_matrix_option(po::options_description& opts) {
  opts.add_options()("matrix", po::value<std::string>()->default_value("input"), kMatrixOptionHelp);
}

std::string matrix_option(const std::string& command, const std::string& value) {
  if (!io::parse_matrix_kind(value) || value == "token_type")
    fail(Exit::usage, command, "--matrix", fmt::format("'{}' is not one of {}", value, io::kMatrixNames));
  return value == "input" ? "" : value;
}

UnitRows load_unit_rows(const po::variables_map& vm) {
  if (vm.count("threads")) set_threads(std::max(1, vm["threads"].as<int>()));
  UnitRows r;
  io::LoadOptions lo;
  lo.path = vm["file"].as<std::string>();
  lo.format = vm["format"].as<std::string>();
  lo.tensor = vm["tensor"].as<std::string>();
  if (vm.count("matrix")) lo.matrix = matrix_option("embedlab", vm["matrix"].as<std::string>());
  r.path = lo.path;
  r.emb = io::load_embeddings(lo);
  linalg::NormalizeOptions no;
  no.names = r.emb.tokens;
  no.source = lo.path;
  r.unit = linalg::normalize_rows(r.emb.vectors, no).unit;
  return r;
}

void add_distribute_option(po::options_description& opts) {
  opts.add_options()("distribute", po::value<std::string>()->default_value("replicated"),
                     "under mpirun: replicated (every rank loads the whole matrix) | rows (each rank reads only "
                     "its block of rows; the blocks circulate among the ranks)")(
      "dry-run", "with --distribute rows: print the per-rank memory estimate for this rank count and stop");
}

std::string distribute_option(const std::string& command, const po::variables_map& vm) {
  const std::string v = vm["distribute"].as<std::string>();
  if (v != "replicated" && v != "rows")
    throw Error(Exit::usage,
                fmt::format("{}: --distribute: '{}' is not one of replicated, rows (see embedlab {} --help)", command,
                            v, command));
  if (vm.count("dry-run") && v != "rows")
    throw Error(Exit::usage,
                fmt::format("{}: --dry-run: needs --distribute rows (see embedlab {} --help)", command, command));
  return v;
}

namespace {

io::LoadOptions row_load_options(const po::variables_map& vm) {
  io::LoadOptions lo;
  lo.path = vm["file"].as<std::string>();
  lo.format = vm["format"].as<std::string>();
  lo.tensor = vm["tensor"].as<std::string>();
  if (vm.count("matrix") && !matrix_option("embedlab", vm["matrix"].as<std::string>()).empty())
    fail(Exit::usage, lo.path, "--matrix", "--distribute rows reads matrix files only (no model directories)");
  return lo;
}

}  // namespace

UnitBlock load_unit_block(const po::variables_map& vm, arma::uword tile, bool hash_source) {
  if (vm.count("threads")) set_threads(std::max(1, vm["threads"].as<int>()));
  const comm::Comm& world = comm::world();
  const io::LoadOptions lo = row_load_options(vm);
  UnitBlock u;
  u.path = lo.path;
  std::shared_ptr<const io::RowReader> reader;
  io::Embeddings block;
  linalg::Normalized nz;
  // The local part (a bad block is seen by its rank alone) settles before any collective below.
  world.agree([&] {
    reader = std::make_shared<const io::RowReader>(lo);
    const linalg::RowLayout l = linalg::row_layout(reader->rows(), tile, world.size());
    u.n = reader->rows();
    u.d = reader->dim();
    u.lo = l.lo(world.rank());
    block = reader->read(l.lo(world.rank()), l.hi(world.rank()));
    u.source = block.source;
    if (world.root() && hash_source)
      u.sha256 = std::async(std::launch::async, [reader] { return reader->source_sha256(); }).share();
    // Normalise the block; bad rows are collected from every rank and reported as one error.
    linalg::NormalizeOptions no;
    no.policy = linalg::BadRowPolicy::exclude;
    no.names = block.tokens;
    no.source = lo.path;
    nz = linalg::normalize_rows(block.vectors, no);
  });
  const io::RowReader& rr = *reader;
  std::vector<std::uint64_t> bad_rows;
  std::vector<std::uint8_t> bad_zero;
  std::string bad_names;  // '\0'-terminated names
  for (const auto& b : nz.excluded) {
    bad_rows.push_back(u.lo + b.index);
    bad_zero.push_back(b.reason == "zero");
    bad_names += (b.index < block.tokens.size() ? block.tokens[b.index] : std::string()) + '\0';
  }
  std::vector<std::uint64_t> counts = world.sum(std::vector<std::uint64_t>{bad_rows.size()});
  if (counts.at(0) > 0) {
    const auto parts = world.allgather(comm::pack(bad_rows, bad_zero));
    const auto name_parts = world.allgather(comm::Bytes(bad_names.begin(), bad_names.end()));
    std::vector<linalg::BadRow> bad;
    std::vector<std::string> names;
    for (std::size_t r = 0; r < parts.size(); ++r) {
      const std::size_t m = parts[r].size() / 9;
      std::vector<std::uint64_t> rows(m);
      if (m) std::memcpy(rows.data(), parts[r].data(), m * 8);
      std::size_t at = 0;
      for (std::size_t i = 0; i < m; ++i) {
        bad.push_back({rows[i], parts[r][m * 8 + i] ? "zero" : "non-finite"});
        std::string name;
        while (at < name_parts[r].size() && name_parts[r][at] != 0) name += static_cast<char>(name_parts[r][at++]);
        ++at;
        names.push_back(name);
      }
    }
    linalg::fail_bad_rows(bad, names, u.n, lo.path);
  }
  u.unit = std::move(nz.unit);
  // Every row's token to rank 0 (names in the outputs).
  if (rr.format() == "word2vec-bin") {  // the same on every rank: a collective
    std::string mine;
    for (const auto& t : block.tokens) mine += t + '\0';
    const auto all = world.gather(comm::Bytes(mine.begin(), mine.end()));
    for (const auto& part : all) {
      std::string t;
      for (const unsigned char c : part) {
        if (c == 0) {
          u.tokens.push_back(t);
          t.clear();
        } else {
          t += static_cast<char>(c);
        }
      }
    }
  }
  return u;
}

void print_rows_estimate(const po::variables_map& vm, arma::uword tile, const std::string& what, arma::uword k,
                         int ranks) {
  const io::RowReader rr(row_load_options(vm));
  const linalg::RowLayout l = linalg::row_layout(rr.rows(), tile, ranks);
  const double d = static_cast<double>(rr.dim()), n = static_cast<double>(rr.rows());
  const double workers = static_cast<double>(worker_count(vm.count("threads") ? vm["threads"].as<int>() : 0));
  const double b = static_cast<double>(l.b), nb = static_cast<double>(l.nb);
  const double tiles = workers * b * b * 4;  // one tile buffer per worker
  auto mib = [](double x) { return x / (1024.0 * 1024.0); };
  fmt::print("{}: {} rows x {} dims, --distribute rows over {} ranks ({} tiles of {} rows)\n", rr.format(), rr.rows(),
             rr.dim(), ranks, l.nb, l.b);
  for (int r = 0; r < ranks; ++r) {
    const double blk = static_cast<double>(l.rows(r)) * d * 4;
    double results = 0, extra = 0;
    if (what == "stats") {
      // histogram states, the tile slots of the gathered sums; the Gram pipeline (two d x d parts
      // in double, a 1024-column double block, a copy of the block with the carried columns)
      results = workers * 2000 * 24 + nb * (nb + 1) / 2 * 8 * 4;
      // the pipeline's state and, on the last rank, the summed Gram
      extra = (5 * d * d + 2 * d) * 8 + 1024 * d * 12 + blk;
    } else {
      // n x k heaps, their send and receive buffers, the final lists
      results = n * static_cast<double>(k) * (12 + 16 + 16 + 12);
    }
    const double ring = 3 * blk + tiles + results;
    const double moments = blk + extra;
    fmt::print(
        "rank {}: rows [{}, {}) = {} rows, block {:.1f} MiB; peak about {:.1f} MiB (3 blocks {:.1f} + tiles "
        "{:.1f} + results {:.1f}{})\n",
        r, l.lo(r), l.hi(r), l.rows(r), mib(blk), mib(std::max(ring, moments)), mib(3 * blk), mib(tiles), mib(results),
        what == "stats" ? fmt::format("; Gram pipeline phase {:.1f}", mib(moments)) : "");
  }
}

}  // namespace embedlab::cli

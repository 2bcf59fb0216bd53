#include "apps/embedlab/command_line.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "io/model_presets.hpp"
#include "linalg/normalize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

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

}  // namespace embedlab::cli

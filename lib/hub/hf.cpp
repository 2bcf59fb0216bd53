// Hugging Face Hub models: the tree API listing, branch resolution, the file selection and the
// pinned, verified, resumable download of a model directory.
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "hub/detail.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace embedlab::hub {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr const char* kHint = "check the network, or set HF_ENDPOINT to a reachable mirror";
// An API answer far beyond this is not a listing of a model repository.
constexpr std::uint64_t kMaxApiBytes = std::uint64_t{64} << 20;
constexpr int kMaxPages = 1000;

bool is_hex(const std::string& s, std::size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The URL of `Link: <url>; rel="next"` among the response's header lines, or "".
std::string next_link(const std::string& headers) {
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t end = headers.find('\n', pos);
    if (end == std::string::npos) end = headers.size();
    std::string line = headers.substr(pos, end - pos);
    pos = end + 1;
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!lower.starts_with("link:")) continue;
    // One header may hold several links: <a>; rel="x", <b>; rel="next"
    for (std::size_t at = 0; (at = line.find('<', at)) != std::string::npos;) {
      const std::size_t close = line.find('>', at);
      if (close == std::string::npos) break;
      const std::size_t comma = line.find(",", close);
      const std::string params = lower.substr(close, comma == std::string::npos ? std::string::npos : comma - close);
      if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
        return line.substr(at + 1, close - at - 1);
      at = close;
    }
  }
  return "";
}

std::string get_api(const std::string& url, const std::string& label, const FetchOptions& options,
                    std::string* headers = nullptr) {
  std::string body;
  Transfer t;
  t.url = url;
  t.label = label;
  t.memory = &body;
  t.headers = headers;
  t.limit = kMaxApiBytes;
  perform(t, options, kHint);
  return body;
}

// A path from the API that stays inside the model directory.
bool safe_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos || p.find('\0') != std::string::npos)
    return false;
  for (const auto& part : fs::path(p))
    if (part == ".." || part == ".") return false;
  return true;
}

bool top_level(const HubFile& f) { return f.path.find('/') == std::string::npos; }

const std::set<std::string>& tokenizer_and_config_names() {
  static const std::set<std::string> names = {"config.json",
                                              "generation_config.json",
                                              "tokenizer.json",
                                              "tokenizer_config.json",
                                              "special_tokens_map.json",
                                              "added_tokens.json",
                                              "vocab.json",
                                              "merges.txt",
                                              "vocab.txt",
                                              "tokenizer.model"};
  return names;
}

std::string revision_dir(const HubModel& hub, const std::string& requested) {
  return requested.empty() || requested == hub.revision ? hub.dest : fmt::format("{}-{}", hub.dest, requested);
}

FetchFile fetch_file_of(const HubModel& hub, const std::string& commit, const std::string& dir, const HubFile& f) {
  return {FetchSource::hf,
          fmt::format("{}/resolve/{}/{}", hub.repo, commit, f.path),
          fmt::format("{}/{}", dir, f.path),
          f.size,
          f.hash_kind,
          f.hash,
          ""};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Exit::no_input, path, "", "cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::vector<HubFile> hub_list_files(const std::string& hf_endpoint, const std::string& repo,
                                    const std::string& revision, const FetchOptions& options) {
  std::vector<HubFile> files;
  std::set<std::string> seen;
  std::string url = fmt::format("{}/api/models/{}/tree/{}?recursive=true", hf_endpoint, repo, revision);
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxPages) data_error(url, "", fmt::format("more than {} pages of listing", kMaxPages));
    std::string headers;
    const std::string body = get_api(url, repo + " file list", options, &headers);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(body);
    } catch (const std::exception& e) {
      data_error(url, "", fmt::format("the Hub's file list is not JSON ({})", e.what()));
    }
    if (!j.is_array()) data_error(url, "", fmt::format("the Hub's file list is not an array (got {})", j.type_name()));
    for (std::size_t i = 0; i < j.size(); ++i) {
      const auto& e = j[i];
      const std::string where = fmt::format("entry {}", i);
      try {
        if (e.at("type").get<std::string>() != "file") continue;
        HubFile f;
        f.path = e.at("path").get<std::string>();
        if (!safe_path(f.path)) data_error(url, where, fmt::format("path '{}' leaves the model directory", f.path));
        f.size = e.at("size").get<std::uint64_t>();
        f.hash = e.at("oid").get<std::string>();
        if (e.contains("lfs") && !e.at("lfs").is_null()) {
          const auto& lfs = e.at("lfs");
          f.lfs = true;
          f.hash_kind = HashKind::sha256;
          f.hash = lfs.at("oid").get<std::string>();
          f.size = lfs.at("size").get<std::uint64_t>();
          if (!is_hex(f.hash, 64))
            data_error(url, fmt::format("{} ({})", where, f.path), fmt::format("lfs.oid '{}' is not a sha256", f.hash));
        } else if (!is_hex(f.hash, 40)) {
          data_error(url, fmt::format("{} ({})", where, f.path), fmt::format("oid '{}' is not a git sha1", f.hash));
        }
        if (!seen.insert(f.path).second) data_error(url, where, fmt::format("'{}' listed twice", f.path));
        files.push_back(std::move(f));
      } catch (const nlohmann::json::exception& ex) {
        data_error(url, where, fmt::format("not a file entry ({})", ex.what()));
      }
    }
    url = next_link(headers);
  }
  return files;
}

std::string hub_resolve_revision(const std::string& hf_endpoint, const std::string& repo, const std::string& name,
                                 const FetchOptions& options) {
  const std::string url = fmt::format("{}/api/models/{}/revision/{}", hf_endpoint, repo, name);
  const std::string body = get_api(url, repo + " revision", options);
  std::string sha;
  try {
    sha = nlohmann::json::parse(body).at("sha").get<std::string>();
  } catch (const std::exception& e) {
    data_error(url, "sha", fmt::format("the Hub's revision answer has no commit ({})", e.what()));
  }
  if (!is_hex(sha, 40)) data_error(url, "sha", fmt::format("not a 40-hex commit (got '{}')", sha));
  return sha;
}

std::vector<HubFile> hub_select_files(const std::vector<HubFile>& files, HubModel::Layout layout,
                                      const std::vector<std::string>* shards, const std::string& source) {
  std::vector<HubFile> out;
  if (layout == HubModel::Layout::gensim) {
    for (const auto& f : files)
      if (top_level(f) && (f.path.ends_with(".model") || f.path.ends_with(".npy"))) out.push_back(f);
    if (out.empty()) data_error(source, "", "no gensim KeyedVectors files (*.model, *.npy) at this revision");
    return out;
  }
  std::map<std::string, const HubFile*> by_name;
  for (const auto& f : files)
    if (top_level(f)) by_name[f.path] = &f;
  for (const auto& [name, f] : by_name)
    if (tokenizer_and_config_names().count(name)) out.push_back(*f);
  if (!by_name.count("config.json")) data_error(source, "config.json", "missing at this revision");
  if (by_name.count("model.safetensors.index.json")) {
    out.push_back(*by_name.at("model.safetensors.index.json"));
    if (shards != nullptr) {
      for (const auto& s : *shards) {
        const auto it = by_name.find(s);
        if (it == by_name.end())
          data_error(source + " model.safetensors.index.json", s, "names a shard the revision does not have");
        out.push_back(*it->second);
      }
    } else {
      for (const auto& [name, f] : by_name)
        if (name.ends_with(".safetensors")) out.push_back(*f);
    }
  } else if (by_name.count("model.safetensors")) {
    out.push_back(*by_name.at("model.safetensors"));  // one file: it holds the embeddings too
  } else {
    std::string names;
    for (const auto& [name, f] : by_name) names += (names.empty() ? "" : ", ") + name;
    data_error(source, "",
               fmt::format("no safetensors weights at this revision (files: {}; pytorch_model.bin is a "
                           "pickle, which embedlab refuses to read)",
                           names));
  }
  return out;
}

namespace detail {

std::vector<FetchedFile> fetch_hub_model(const FetchSpec& spec, const HubModel& hub, const std::string& dest_dir,
                                         const FetchEndpoints& endpoints, const FetchOptions& options) {
  // 1. Which commit: the pinned one, or a branch/tag of the repository resolved through the API.
  std::string commit = hub.revision;
  const std::string& requested = options.revision;
  if (!requested.empty() && requested != hub.revision) {
    if (hub.branches.empty())
      fail(Exit::usage, "fetch", "--revision",
           fmt::format("{} is pinned to {} (got '{}'; it has no other revisions to choose)", spec.name, hub.revision,
                       requested));
    commit = is_hex(requested, 40) ? requested : hub_resolve_revision(endpoints.hf, hub.repo, requested, options);
    note(fmt::format("{} revision {} is commit {}", hub.repo, requested, commit));
  }
  const std::string dir = revision_dir(hub, requested);
  const fs::path root = fs::path(dest_dir) / dir;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) fail(Exit::cant_create, root.string(), "", "cannot create directory (" + ec.message() + ")");

  // 2. The files at that commit, from the API (sizes and hashes).
  const std::vector<HubFile> listing = hub_list_files(endpoints.hf, hub.repo, commit, options);
  std::vector<FetchedFile> out;
  std::vector<std::pair<HubFile, FetchedFile>> got;
  std::set<std::string> done;
  const auto fetch_one = [&](const HubFile& f) {
    if (done.count(f.path)) return;
    done.insert(f.path);
    const FetchFile ff = fetch_file_of(hub, commit, dir, f);
    const std::string final_path = (fs::path(dest_dir) / ff.dest).string();
    fs::create_directories(fs::path(final_path).parent_path(), ec);
    FetchedFile r;
    if (present_and_verified(final_path, ff))
      r = {final_path, FetchOutcome::present, f.size, 0, 0};
    else
      r = download_file(endpoints.hf + "/" + ff.remote, final_path, ff, options, kHint);
    out.push_back(r);
    got.emplace_back(f, r);
  };

  // 3. --only-embeddings: config.json and the index first; they say which shards hold the matrices.
  std::vector<std::string> tensors, shards;
  const std::vector<std::string>* shard_filter = nullptr;
  if (options.only_embeddings) {
    if (hub.layout != HubModel::Layout::transformers)
      fail(Exit::usage, "fetch", "--only-embeddings",
           fmt::format("{} is one matrix already (only for transformer models)", spec.name));
    if (!options.embedding_tensors)
      throw Error(Exit::software, "fetch: --only-embeddings without a tensor-name resolver");
    const auto find = [&](const std::string& name) -> const HubFile* {
      for (const auto& f : listing)
        if (f.path == name) return &f;
      return nullptr;
    };
    const HubFile* config = find("config.json");
    if (config == nullptr)
      data_error(fmt::format("{}@{}", hub.repo, commit), "config.json", "missing at this revision");
    fetch_one(*config);
    tensors = options.embedding_tensors(read_text((root / "config.json").string()));
    if (const HubFile* index = find("model.safetensors.index.json")) {
      fetch_one(*index);
      const std::string index_path = (root / index->path).string();
      nlohmann::json weight_map;
      try {
        weight_map = nlohmann::json::parse(read_text(index_path)).at("weight_map");
      } catch (const std::exception& e) {
        data_error(index_path, "weight_map", fmt::format("not a safetensors index ({})", e.what()));
      }
      std::set<std::string> names;
      std::vector<std::string> found, absent;
      for (const auto& t : tensors) {
        // The names are every alternative a preset accepts (with or without a prefix, tied output
        // matrices): those the index does not list are simply not in this checkpoint.
        if (!weight_map.contains(t)) {
          absent.push_back(t);
          continue;
        }
        found.push_back(t);
        const auto shard = weight_map.at(t);
        if (!shard.is_string()) data_error(index_path, fmt::format("weight_map.{}", t), "not a string");
        names.insert(shard.get<std::string>());
      }
      if (names.empty())
        data_error(index_path, "weight_map",
                   fmt::format("none of the embedding tensors ({}) is listed", fmt::join(tensors, ", ")));
      shards.assign(names.begin(), names.end());
      shard_filter = &shards;
      note(fmt::format("--only-embeddings: {} in {}{}", fmt::join(found, ", "), fmt::join(shards, ", "),
                       absent.empty() ? "" : fmt::format(" (not in the index: {})", fmt::join(absent, ", "))));
      tensors = found;
    }
  }

  // 4. The selected files, each verified against the listing's size and hash.
  for (const auto& f : hub_select_files(listing, hub.layout, shard_filter, fmt::format("{}@{}", hub.repo, commit)))
    fetch_one(f);

  // 5. Provenance: what was asked for, which commit, every file with its hash and how it was obtained.
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [f, r] : got)
    files.push_back({{"path", f.path},
                     {"size", f.size},
                     {"lfs", f.lfs},
                     {"hash_kind", to_string(f.hash_kind)},
                     {"hash", f.hash},
                     {"outcome", to_string(r.outcome)},
                     {"bytes_downloaded", r.bytes_downloaded},
                     {"resumes", r.resumes}});
  nlohmann::json prov = {{"name", spec.name},
                         {"source", "huggingface-hub"},
                         {"endpoint", endpoints.hf},
                         {"repo", hub.repo},
                         {"revision", commit},
                         {"requested_revision", requested.empty() ? hub.revision : requested},
                         {"pinned_revision", hub.revision},
                         {"only_embeddings", options.only_embeddings},
                         {"embedding_tensors", tensors},
                         {"shards", shards},
                         {"verification",
                          "LFS files: lfs.size + lfs.oid (sha256 of the bytes); others: size + oid "
                          "(git blob sha1), as the Hub tree API reports them for this revision"},
                         {"files", files},
                         {"fetched_at", utc_now()}};
  const std::string prov_path = (root / "fetch.provenance.json").string();
  write_file_atomic(prov_path, prov.dump(2) + "\n");
  out.push_back({prov_path, FetchOutcome::downloaded, fs::file_size(prov_path), 0, 0});
  return out;
}

}  // namespace detail

}  // namespace embedlab::hub

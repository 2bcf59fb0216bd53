// Hugging Face Hub models against a local imitation of the Hub (tests/hub/hub_server.hpp): the tree
// API with pagination, /resolve/ with a 302 to a second host, Range resume after a cut connection,
// hash failures, --only-embeddings and --revision. Hashes here come from OpenSSL's one-shot SHA256/
// SHA1 over the bytes the test wrote, never from the code under test.
#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/rng.hpp"
#include "hub/fetch.hpp"
#include "hub/hub_server.hpp"
#include "hub/hub_testing.hpp"
#include "io/model_presets.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using embedlab::hub::FetchEndpoints;
using embedlab::hub::FetchOptions;
using embedlab::hub::FetchOutcome;
using embedlab::hub::FetchSpec;
using embedlab::hub::HashKind;
using embedlab::hub::HubModel;
using namespace embedlab::test::hub;

namespace {

std::string hex(const unsigned char* md, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += fmt::format("{:02x}", md[i]);
  return s;
}
std::string sha256_hex(const std::string& b) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), md);
  return hex(md, 32);
}
// git's blob id: sha1 of "blob <size>\0" + bytes.
std::string git_sha1_hex(const std::string& b) {
  const std::string framed = fmt::format("blob {}", b.size()) + std::string(1, '\0') + b;
  unsigned char md[20];
  SHA1(reinterpret_cast<const unsigned char*>(framed.data()), framed.size(), md);
  return hex(md, 20);
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  embedlab::Rng rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(static_cast<int>(rng.uniform() * 256) & 0xff);
  return s;
}

const std::string kCommit = "1111111111111111111111111111111111111111";
const std::string kStep = "2222222222222222222222222222222222222222";
const std::string kRepo = "org/tiny";

// A served Hub (API server + CDN server) with one repository and the files the test adds.
struct HubFixture {
  embedlab::test::TempDir served, dest;
  nlohmann::json manifest = {{"page_size", 3}, {"repos", nlohmann::json::object()}};
  std::map<std::string, std::string> bytes;  // path → content (of the pinned commit)
  std::unique_ptr<LocalServer> cdn, api;

  HubFixture() {
    fs::create_directories(served.path() / "blobs");
    manifest["repos"][kRepo] = {{"branches", {{"step1000", kStep}}}, {"commits", nlohmann::json::object()}};
  }
  // Adds a file to `commit`; LFS files are listed with lfs.oid = sha256, others with oid = git sha1.
  void add(const std::string& commit, const std::string& path, const std::string& content, bool lfs) {
    const std::string blob = fmt::format("{}-{}", commit.substr(0, 4), fs::path(path).filename().string());
    embedlab::test::write_file(served.file("blobs/" + blob), content);
    nlohmann::json e = {{"path", path}, {"size", content.size()}, {"blob", blob}};
    if (lfs) {
      e["oid"] = git_sha1_hex("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256_hex(content) + "\n");
      e["lfs"] = {{"oid", sha256_hex(content)}, {"size", content.size()}, {"pointerSize", 134}};
    } else {
      e["oid"] = git_sha1_hex(content);
    }
    manifest["repos"][kRepo]["commits"][commit].push_back(e);
    if (commit == kCommit) bytes[path] = content;
  }
  // A small GPT-2-like model: config, tokenizer files, one safetensors file, plus files a fetch skips.
  void add_single_file_model(const std::string& commit) {
    add(commit, "config.json", R"({"model_type": "gpt2", "n_embd": 4})", false);
    add(commit, "vocab.json", R"({"a": 0, "b": 1})", false);
    add(commit, "merges.txt", "#version: 0.2\na b\n", false);
    add(commit, "README.md", "# tiny\n", false);
    add(commit, "model.safetensors", random_bytes(300000, commit == kCommit ? 1 : 2), true);
    add(commit, "pytorch_model.bin", random_bytes(1000, 3), true);
    add(commit, "onnx/model.onnx", random_bytes(1000, 4), true);
  }
  void start() {
    embedlab::test::write_file(served.file("hub.json"), manifest.dump());
    const std::string script = dest.file("hub_server.py");
    embedlab::test::write_file(script, kHubServer);
    cdn = std::make_unique<LocalServer>(served.path(), script, std::vector<std::string>{"cdn"});
    BOOST_TEST_REQUIRE(cdn->ready(), "local CDN server did not start");
    api = std::make_unique<LocalServer>(served.path(), script, std::vector<std::string>{"hub", cdn->url()});
    BOOST_TEST_REQUIRE(api->ready(), "local Hub server did not start");
  }
  void rewrite_manifest() { embedlab::test::write_file(served.file("hub.json"), manifest.dump()); }
  FetchEndpoints endpoints() const {
    FetchEndpoints e;
    e.hf = api->url();
    e.glove = e.npm = "http://127.0.0.1:1";
    return e;
  }
  FetchSpec spec(const std::string& branches = "step0 … step143000") const {
    FetchSpec s;
    s.name = "tiny";
    s.hub = HubModel{kRepo, kCommit, "test", "tiny", HubModel::Layout::transformers, branches};
    return s;
  }
  std::vector<std::string> log() const {
    std::vector<std::string> lines;
    std::ifstream in(served.file("requests.log"));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  bool requested(const std::string& needle) const {
    for (const auto& l : log())
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  void clear_log() const { fs::remove(served.file("requests.log")); }
  std::string out(const std::string& rel) const { return dest.file("tiny/" + rel); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hub_models)

BOOST_AUTO_TEST_CASE(git_blob_sha1_has_the_known_value) {
  embedlab::test::TempDir tmp;
  embedlab::test::write_file(tmp.file("abc"), "abc");
  // `printf abc | git hash-object --stdin`
  BOOST_TEST(embedlab::hub::file_digest(tmp.file("abc"), HashKind::git_sha1) ==
             "f2ba8f84ab5c1bce84a7b441cb1959cfc7093b7f");
  BOOST_TEST(git_sha1_hex("abc") == "f2ba8f84ab5c1bce84a7b441cb1959cfc7093b7f");
}

BOOST_AUTO_TEST_CASE(pinned_entries_are_commits) {
  for (const char* name : {"bert-base-uncased", "gpt2-medium", "gpt2-large", "gpt2-xl", "pythia-70m", "pythia-160m",
                           "word2vec-google-news-300"}) {
    const auto& s = embedlab::hub::find_fetch_spec(name);
    BOOST_TEST_REQUIRE(s.hub.has_value(), name);
    BOOST_TEST(s.hub->revision.size() == 40u, name);
    BOOST_TEST(s.hub->revision.find_first_not_of("0123456789abcdef") == std::string::npos, name);
    BOOST_TEST(!s.hub->seen.empty(), name);
    BOOST_TEST(s.hub->dest == name);
  }
  BOOST_TEST(!embedlab::hub::find_fetch_spec("pythia-70m").hub->branches.empty());
  BOOST_TEST(embedlab::hub::find_fetch_spec("gpt2-medium").hub->branches.empty());
  BOOST_TEST((embedlab::hub::find_fetch_spec("word2vec-google-news-300").hub->layout == HubModel::Layout::gensim));
}

BOOST_AUTO_TEST_CASE(tree_listing_follows_pages_and_reads_hashes) {
  HubFixture fx;
  fx.add_single_file_model(kCommit);
  fx.start();
  const auto files = embedlab::hub::hub_list_files(fx.api->url(), kRepo, kCommit);
  BOOST_TEST_REQUIRE(files.size() == 7u);  // 8 entries over 3 pages; the directory left out
  int pages = 0;
  for (const auto& l : fx.log())
    if (l.find("/tree/" + kCommit) != std::string::npos) ++pages;
  BOOST_TEST(pages == 3);
  for (const auto& f : files) {
    if (f.path == "model.safetensors") {
      BOOST_TEST(f.lfs);
      BOOST_TEST((f.hash_kind == HashKind::sha256));
      BOOST_TEST(f.hash == sha256_hex(fx.bytes.at(f.path)));
      BOOST_TEST(f.size == 300000u);
    }
    if (f.path == "config.json") {
      BOOST_TEST(!f.lfs);
      BOOST_TEST((f.hash_kind == HashKind::git_sha1));
      BOOST_TEST(f.hash == git_sha1_hex(fx.bytes.at(f.path)));
    }
  }
  // The selection: tokenizer + config + the safetensors file; not the pickle, README or subfolders.
  const auto sel = embedlab::hub::hub_select_files(files, HubModel::Layout::transformers);
  std::vector<std::string> names;
  for (const auto& f : sel) names.push_back(f.path);
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{"config.json", "merges.txt", "model.safetensors", "vocab.json"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fetch_follows_redirect_verifies_and_records) {
  HubFixture fx;
  fx.add_single_file_model(kCommit);
  fx.start();
  auto r = embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints());
  BOOST_TEST_REQUIRE(r.size() == 5u);  // 4 files + the provenance
  for (const char* f : {"config.json", "vocab.json", "merges.txt", "model.safetensors"})
    BOOST_TEST(embedlab::test::read_file(fx.out(f)) == fx.bytes.at(f), f);
  BOOST_TEST(!fs::exists(fx.out("pytorch_model.bin")));
  BOOST_TEST(!fs::exists(fx.out("model.safetensors.part")));
  // The LFS file went through the 302 to the CDN host; the others came from the Hub itself.
  BOOST_TEST(fx.requested("hub /org/tiny/resolve/" + kCommit + "/model.safetensors"));
  BOOST_TEST(fx.requested("cdn /blobs/1111-model.safetensors"));
  BOOST_TEST(!fx.requested("pytorch_model.bin"));
  BOOST_TEST(!fx.requested("cdn /blobs/1111-config.json"));

  const auto prov = nlohmann::json::parse(embedlab::test::read_file(fx.out("fetch.provenance.json")));
  BOOST_TEST(prov.at("repo").get<std::string>() == kRepo);
  BOOST_TEST(prov.at("revision").get<std::string>() == kCommit);
  BOOST_TEST(prov.at("files").size() == 4u);
  for (const auto& f : prov.at("files")) {
    const std::string path = f.at("path").get<std::string>();
    const bool lfs = path == "model.safetensors";
    BOOST_TEST(f.at("hash_kind").get<std::string>() == (lfs ? "sha256" : "git-sha1"), path);
    BOOST_TEST(
        f.at("hash").get<std::string>() == (lfs ? sha256_hex(fx.bytes.at(path)) : git_sha1_hex(fx.bytes.at(path))),
        path);
  }

  // Again: everything present and verified, nothing downloaded (only the listing is asked for).
  fx.clear_log();
  r = embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints());
  for (std::size_t i = 0; i + 1 < r.size(); ++i) BOOST_TEST(r[i].outcome == FetchOutcome::present);
  BOOST_TEST(!fx.requested("/resolve/"));
}

BOOST_AUTO_TEST_CASE(cut_connection_resumes_with_range) {
  HubFixture fx;
  fx.add_single_file_model(kCommit);
  fx.start();
  embedlab::test::write_file(fx.served.file("cut-1111-model.safetensors"), "");
  const auto r = embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints());
  const auto it =
      std::find_if(r.begin(), r.end(), [&](const auto& f) { return f.path == fx.out("model.safetensors"); });
  BOOST_TEST_REQUIRE((it != r.end()));
  BOOST_TEST(it->resumes == 1);
  BOOST_TEST(it->bytes_downloaded == 300000u);
  BOOST_TEST(embedlab::test::read_file(fx.out("model.safetensors")) == fx.bytes.at("model.safetensors"));
  // The second request to the CDN asked for the rest: Range from the half that arrived.
  BOOST_TEST(fx.requested("cdn /blobs/1111-model.safetensors bytes=150000-"));

  // A `.part` left by an interrupted run resumes through the redirect too.
  fs::remove(fx.out("model.safetensors"));
  embedlab::test::write_file(fx.out("model.safetensors.part"), fx.bytes.at("model.safetensors").substr(0, 1000));
  fx.clear_log();
  const auto again = embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints());
  BOOST_TEST(fx.requested("cdn /blobs/1111-model.safetensors bytes=1000-"));
  BOOST_TEST(embedlab::test::read_file(fx.out("model.safetensors")) == fx.bytes.at("model.safetensors"));
}

BOOST_AUTO_TEST_CASE(wrong_sha256_is_an_error_and_nothing_lands) {
  HubFixture fx;
  fx.add_single_file_model(kCommit);
  for (auto& e : fx.manifest["repos"][kRepo]["commits"][kCommit])
    if (e["path"] == "model.safetensors") e["lfs"]["oid"] = sha256_hex("something else");
  fx.start();
  const Error e = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "hash mismatch: sha256"));
  BOOST_TEST(contains(e, "model.safetensors"));
  BOOST_TEST(!fs::exists(fx.out("model.safetensors")));
  BOOST_TEST(!fs::exists(fx.out("model.safetensors.part")));

  // A wrong size in the listing: refused as soon as more bytes arrive than listed.
  for (auto& e2 : fx.manifest["repos"][kRepo]["commits"][kCommit])
    if (e2["path"] == "model.safetensors") {
      e2["lfs"]["oid"] = sha256_hex(fx.bytes.at("model.safetensors"));
      e2["lfs"]["size"] = 1000;
    }
  fx.rewrite_manifest();
  const Error e3 = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e3.exit_code() == 65);
  BOOST_TEST(contains(e3, "size mismatch"));
  BOOST_TEST(!fs::exists(fx.out("model.safetensors")));
}

BOOST_AUTO_TEST_CASE(only_embeddings_downloads_only_the_needed_shards) {
  HubFixture fx;
  fx.add(kCommit, "config.json", R"({"model_type": "gpt_neox", "hidden_size": 4})", false);
  fx.add(kCommit, "tokenizer.json", R"({"model": {"type": "BPE"}})", false);
  const nlohmann::json index = {{"metadata", {{"total_size", 3000}}},
                                {"weight_map",
                                 {{"gpt_neox.embed_in.weight", "model-00001-of-00003.safetensors"},
                                  {"gpt_neox.layers.0.mlp.weight", "model-00002-of-00003.safetensors"},
                                  {"embed_out.weight", "model-00003-of-00003.safetensors"}}}};
  fx.add(kCommit, "model.safetensors.index.json", index.dump(), false);
  for (int i = 1; i <= 3; ++i)
    fx.add(kCommit, fmt::format("model-0000{}-of-00003.safetensors", i), random_bytes(1000, 10 + i), true);
  fx.start();
  FetchOptions opt;
  opt.only_embeddings = true;
  std::string seen_config;
  opt.embedding_tensors = [&](const std::string& config) {
    seen_config = config;
    return std::vector<std::string>{"gpt_neox.embed_in.weight", "embed_out.weight", "lm_head.weight"};
  };
  embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints(), opt);
  BOOST_TEST(seen_config == fx.bytes.at("config.json"));
  for (const char* f : {"config.json", "tokenizer.json", "model.safetensors.index.json",
                        "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"})
    BOOST_TEST(embedlab::test::read_file(fx.out(f)) == fx.bytes.at(f), f);
  BOOST_TEST(!fs::exists(fx.out("model-00002-of-00003.safetensors")));
  BOOST_TEST(!fx.requested("model-00002"));
  const auto prov = nlohmann::json::parse(embedlab::test::read_file(fx.out("fetch.provenance.json")));
  BOOST_TEST(prov.at("only_embeddings").get<bool>());
  BOOST_TEST(prov.at("shards").size() == 2u);

  // Without the flag the whole model comes.
  embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints());
  BOOST_TEST(embedlab::test::read_file(fx.out("model-00002-of-00003.safetensors")) ==
             fx.bytes.at("model-00002-of-00003.safetensors"));
}

// The CLI's resolver: the model presets' names for config.json (lib/io/model_presets.hpp). A Llama-style
// index where the input matrix and lm_head sit in the first and last of four shards.
BOOST_AUTO_TEST_CASE(only_embeddings_with_the_model_presets) {
  HubFixture fx;
  fx.add(kCommit, "config.json",
         R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 8, "hidden_size": 4,
             "tie_word_embeddings": false})",
         false);
  fx.add(kCommit, "tokenizer.json", R"({"model": {"type": "BPE"}})", false);
  fx.add(kCommit, "tokenizer_config.json", "{}", false);
  nlohmann::json weight_map = {{"model.embed_tokens.weight", "model-00001-of-00004.safetensors"},
                               {"model.layers.0.mlp.up_proj.weight", "model-00002-of-00004.safetensors"},
                               {"model.layers.1.mlp.up_proj.weight", "model-00003-of-00004.safetensors"},
                               {"model.norm.weight", "model-00004-of-00004.safetensors"},
                               {"lm_head.weight", "model-00004-of-00004.safetensors"}};
  fx.add(kCommit, "model.safetensors.index.json", nlohmann::json{{"weight_map", weight_map}}.dump(), false);
  for (int i = 1; i <= 4; ++i)
    fx.add(kCommit, fmt::format("model-0000{}-of-00004.safetensors", i), random_bytes(500, 20 + i), true);
  fx.start();
  FetchOptions opt;
  opt.only_embeddings = true;
  opt.embedding_tensors = [](const std::string& config) {
    return embedlab::io::embedding_tensor_names(nlohmann::json::parse(config));
  };
  embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints(), opt);
  BOOST_TEST(fs::exists(fx.out("model-00001-of-00004.safetensors")));
  BOOST_TEST(fs::exists(fx.out("model-00004-of-00004.safetensors")));
  BOOST_TEST(!fs::exists(fx.out("model-00002-of-00004.safetensors")));
  BOOST_TEST(!fs::exists(fx.out("model-00003-of-00004.safetensors")));
  BOOST_TEST(embedlab::test::read_file(fx.out("tokenizer.json")) == fx.bytes.at("tokenizer.json"));
  const auto prov = nlohmann::json::parse(embedlab::test::read_file(fx.out("fetch.provenance.json")));
  BOOST_TEST(prov.at("shards") ==
             nlohmann::json::array({"model-00001-of-00004.safetensors", "model-00004-of-00004.safetensors"}));
}

BOOST_AUTO_TEST_CASE(revision_branch_is_resolved_and_recorded) {
  HubFixture fx;
  fx.add_single_file_model(kCommit);
  fx.add_single_file_model(kStep);
  fx.start();
  FetchOptions opt;
  opt.revision = "step1000";
  embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints(), opt);
  BOOST_TEST(fx.requested("hub /api/models/org/tiny/revision/step1000"));
  BOOST_TEST(fx.requested("/tree/" + kStep));
  BOOST_TEST(fx.requested("hub /org/tiny/resolve/" + kStep + "/model.safetensors"));
  // Its own directory, beside the pinned revision's; the step's bytes, not main's.
  const std::string weights = fx.dest.file("tiny-step1000/model.safetensors");
  BOOST_TEST(embedlab::test::read_file(weights) == random_bytes(300000, 2));
  const auto prov =
      nlohmann::json::parse(embedlab::test::read_file(fx.dest.file("tiny-step1000/fetch.provenance.json")));
  BOOST_TEST(prov.at("revision").get<std::string>() == kStep);
  BOOST_TEST(prov.at("requested_revision").get<std::string>() == "step1000");
  BOOST_TEST(prov.at("pinned_revision").get<std::string>() == kCommit);

  // A branch the repository does not have: the Hub answers 404.
  opt.revision = "step999999";
  Error e = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints(), opt); });
  BOOST_TEST(e.exit_code() == 66);
  BOOST_TEST(contains(e, "HTTP 404"));
  // An entry without branches accepts only its pinned commit.
  opt.revision = "step1000";
  e = expect_error([&] { embedlab::hub::fetch(fx.spec(""), fx.dest.path().string(), fx.endpoints(), opt); });
  BOOST_TEST(e.exit_code() == 64);
  BOOST_TEST(contains(e, "pinned"));
}

BOOST_AUTO_TEST_CASE(bad_listings_and_pickle_only_revisions_are_refused) {
  HubFixture fx;
  fx.add(kCommit, "config.json", "{}", false);
  fx.add(kCommit, "pytorch_model.bin", random_bytes(100, 5), true);
  fx.start();
  Error e = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "no safetensors"));
  BOOST_TEST(contains(e, "pickle"));

  // A path that would leave the model directory.
  fx.manifest["repos"][kRepo]["commits"][kCommit][0]["path"] = "../escape.json";
  fx.rewrite_manifest();
  e = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "leaves the model directory"));
  BOOST_TEST(!fs::exists(fx.dest.file("escape.json")));

  // An LFS oid that is not a sha256.
  fx.manifest["repos"][kRepo]["commits"][kCommit][0]["path"] = "config.json";
  fx.manifest["repos"][kRepo]["commits"][kCommit][1]["lfs"]["oid"] = "abc";
  fx.rewrite_manifest();
  e = expect_error([&] { embedlab::hub::fetch(fx.spec(), fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "not a sha256"));

  // Unknown commit: 404 from the tree API.
  FetchSpec other = fx.spec();
  other.hub->revision = "3333333333333333333333333333333333333333";
  e = expect_error([&] { embedlab::hub::fetch(other, fx.dest.path().string(), fx.endpoints()); });
  BOOST_TEST(e.exit_code() == 66);
  BOOST_TEST(contains(e, "HTTP 404"));
}

BOOST_AUTO_TEST_SUITE_END()

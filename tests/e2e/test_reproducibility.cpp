// Reproducibility: the same config and seed give bit-identical results (every dataset and every
// attribute, /meta included, compared byte for byte) in two separate runs with --threads 2, and the
// same results with --threads 1. The only entries left out are the wall clock (kClock: start/end
// timestamps, durations, /meta/timing — they measure the run, not its result) and, across thread
// counts only, /meta@threads (it records the setting that differs). Table-driven over every
// registered experiment (a registered experiment without a row fails `every_experiment_has_a_row`),
// offline on tests/data: covering a new experiment is one row (the --set overrides its e2e test uses).
//
// Across thread counts, results of OpenBLAS/LAPACK kernels (sgemm in covariance/Gram matrices,
// eigen-decompositions; the GPT-2 forward pass runs its own worker team over single-threaded BLAS
// and is bit-identical, so the model rows exempt nothing) are not bit-identical: OpenBLAS splits the
// k-loop of a product differently per thread count, so float sums are added in another order.
// Those datasets are listed per row (`blas`) and bounded instead: relative difference at most
// kBlasTolerance (float32 accumulation of a few thousand terms); everything else must be
// bit-identical also across thread counts (our own kernels and every random stream are).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "h5_dump.hpp"

#include <boost/test/data/test_case.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <ostream>
#include <sstream>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;

namespace {

struct Case {
  const char* label;
  const char* experiment;  // as registered (run_experiment --list)
  const char* config;
  // --set overrides that make the config small and offline; {data} stands for the data path.
  const char* sets;
  const char* data;  // under tests/data, or nullptr
  // Prefixes of datasets/attributes computed through multithreaded BLAS/LAPACK (see above).
  std::vector<std::string> blas = {};
};

constexpr double kBlasTolerance = Tol<float>::loose;  // relative, on values of scale ≥ 1e-3
std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.label; }

const Case kCases[] = {
    {"random_variance", "random_variance", "configs/random_variance.ini",
     " --set sweep.pairs=20000 --set sweep.dims=2,16,128,768", nullptr},
    {"glove_similarity",
     "token_similarity",
     "configs/glove_similarity.ini",
     " --set embeddings.path='{data}'",
     "glove-6B-50d-subset/glove.6B.50d.subset3091.txt",
     {"/local/"}},
    {"vocab_geometry",
     "vocab_geometry",
     "configs/vocab_geometry.ini",
     " --set embeddings.path='{data}' --set gaussian.samples=1500",
     "glove-6B-50d-subset/glove.6B.50d.subset3091.txt",
     {"/abtt/", "/anisotropy@", "/cosines/mean", "/pca/"}},
    {"position_embeddings",
     "position_embeddings",
     "configs/position_embeddings.ini",
     " --set embeddings.path='{data}' --set embeddings.tensor=wpe.weight",
     "gpt2-wpe/gpt2-wpe-lnf.safetensors",
     {"/spectrum/"}},
    {"rsa_halves", "rsa", "configs/rsa_halves.ini",
     " --set space_a.path='{data}' --set words.count=120 --set compare.permutations=199 --set compare.bootstrap=100",
     "glove-6B-50d-subset/glove.6B.50d.subset3091.txt"},
    {"logit_lens", "logit_lens", "configs/logit_lens.ini",
     " --set model.path='{data}' --set prompts.text= --set 'prompts.ids=1 2 3 4 5, 483 320 350' --set output.top_k=3",
     "gpt2-golden/micro-gpt2"},
    {"weight_tying", "weight_tying", "configs/weight_tying.ini",
     " --set model.path='{data}' --set prompts.text= --set 'prompts.ids=1 2 3 4 5, 7'", "gpt2-golden/micro-gpt2"},
    {"softmax_sensitivity", "softmax_sensitivity", "configs/softmax_sensitivity.ini",
     " --set model.path='{data}' --set prompts.text= --set 'prompts.ids=464 3797 3332 319 262'",
     "gpt2-golden/tiny-gpt2"},
    {"word_benchmarks", "word_benchmarks", "configs/word_benchmarks.ini",
     " --set embeddings.path='{data}' --set embeddings.format=glove "
     "--set benchmarks.word_pairs={fixtures}/peer-files/wordsim353.tsv "
     "--set benchmarks.analogies={fixtures}/peer-files/questions-words.txt",
     "glove-6B-50d-subset/glove.6B.50d.subset3091.txt"},
    {"compare_halves",
     "compare",
     "configs/compare_halves.ini",
     " --set space_a.path='{data}' --set space_a.format=glove --set words.count=300 --set compare.permutations=20 "
     "--set compare.bootstrap=10",
     "glove-6B-50d-subset/glove.6B.50d.subset3091.txt",
     // the observed values go through OpenBLAS's threaded DGEMM (README, compare)
     {"/metrics/", "/procrustes/", "/svcca"}},
    {"layer_geometry", "layer_geometry", "configs/layer_geometry.ini",
     " --set model.path='{data}' --set model.tokenizer={fixtures}/gpt2-tokenizer "
     "--set corpus.path={source}/corpora/sample.txt --set measures.pairs=2000 --set measures.min_occurrences=2",
     "gpt2-golden/tiny-gpt2"},
};

// Wall-clock entries measure the run (when, how long) and the memory limit is 80% of the machine's
// MemAvailable at start: they describe the machine and the moment, not the result.
bool clock_entry(const std::string& name) {
  static const char* const kClock[] = {"/meta@started_utc",     "/meta@finished_utc", "/meta@wall_seconds",
                                       "/meta@prepare_seconds", "/meta@run_seconds",  "/meta@memory_limit_bytes"};
  return std::any_of(std::begin(kClock), std::end(kClock), [&](const char* k) { return name == k; }) ||
         name.starts_with("/meta/timing");
}

// The experiments of this build (`run_experiment --list`: one per line, name first).
std::vector<std::string> registered_names() {
  TempDir dir;
  std::vector<std::string> out;
  std::istringstream in(run_command(bin("run_experiment") + " --list", dir).out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string name;
    if (ls >> name) out.push_back(name);
  }
  return out;
}

// Whether the binary of this build has the experiment (others are being added while this is written).
bool registered(const std::string& name) {
  static const std::string list = [] {
    TempDir dir;
    return run_command(bin("run_experiment") + " --list", dir).out;
  }();
  return list.find(name + " ") != std::string::npos;
}

std::string substitute(std::string sets, const std::string& data) {
  for (std::size_t at; (at = sets.find("{data}")) != std::string::npos;) sets.replace(at, 6, data);
  for (std::size_t at; (at = sets.find("{fixtures}")) != std::string::npos;) sets.replace(at, 10, EMBEDLAB_TEST_DATA);
  for (std::size_t at; (at = sets.find("{source}")) != std::string::npos;) sets.replace(at, 8, EMBEDLAB_SOURCE_DIR);
  return sets;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reproducibility)

BOOST_AUTO_TEST_CASE(every_experiment_has_a_row) {
  const auto names = registered_names();
  BOOST_TEST(names.size() >= 9u);
  for (const auto& n : names)
    BOOST_TEST(std::any_of(std::begin(kCases), std::end(kCases), [&](const Case& c) { return n == c.experiment; }),
               "experiment " << n << " has no reproducibility row");
}

BOOST_DATA_TEST_CASE(same_seed_bit_identical_across_runs_and_threads, bdata::make(kCases), c) {
  std::string data;
  if (c.data != nullptr) {
    data = fixture(c.data);
  }
  BOOST_TEST_REQUIRE(fs::exists(source(c.config)), c.config << " is missing");
  BOOST_TEST_REQUIRE(registered(c.experiment), "experiment " << c.experiment << " is not registered");
  TempDir dir;
  std::vector<std::map<std::string, std::string>> dumps;
  // Runs 0 and 1 with --threads 2 (must be bit-identical), run 2 with --threads 1.
  const int thread_counts[] = {2, 2, 1};
  for (int i = 0; i < 3; ++i) {
    const std::string results = dir.file(fmt::format("r{}", i));
    const auto r = run_command(
        fmt::format("{} {} --results '{}' --quiet --set report.plots=false --threads {}{}", bin("run_experiment"),
                    source(c.config), results, thread_counts[i], substitute(c.sets, data)),
        dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, c.label << " --threads " << thread_counts[i] << ": " << r.err);
    std::string run;
    for (const auto& e : fs::directory_iterator(results))
      if (e.is_directory()) run = only_run_dir(results, e.path().filename().string());
    BOOST_REQUIRE_MESSAGE(!run.empty(), c.label << ": no single run directory under " << results);
    auto dump = h5_dump((fs::path(run) / "results.h5").string(), "");
    std::erase_if(dump, [](const auto& kv) { return clock_entry(kv.first); });
    dumps.push_back(std::move(dump));
  }
  const auto &a = dumps[0], &b = dumps[1], &t1 = dumps[2];
  BOOST_TEST(!a.empty(), c.label << ": no results outside /meta");
  std::vector<std::string> names_a, names_b, names_t1;
  for (const auto& [k, v] : a) names_a.push_back(k);
  for (const auto& [k, v] : b) names_b.push_back(k);
  for (const auto& [k, v] : t1) names_t1.push_back(k);
  BOOST_REQUIRE(names_a == names_b);
  BOOST_REQUIRE(names_a == names_t1);
  std::size_t bounded = 0;
  double worst = 0;
  BOOST_TEST(a.count("/meta@resolved_config") == 1u);  // /meta is compared too
  for (const auto& [name, bytes] : a) {
    BOOST_TEST(bytes == b.at(name), c.label << ": " << name << " differs between two runs with --threads 2");
    // The thread count itself, and the memory estimate, which counts per-worker buffers.
    if (bytes == t1.at(name) || name == "/meta@threads" || name.starts_with("/meta@memory_largest")) continue;
    const bool blas =
        std::any_of(c.blas.begin(), c.blas.end(), [&](const std::string& p) { return name.starts_with(p); });
    if (!blas) {
      BOOST_ERROR(c.label << ": " << name << " differs between --threads 1 and --threads 2");
      continue;
    }
    ++bounded;
    const double rel = max_relative_difference(bytes, t1.at(name), 1e-3);
    worst = std::max(worst, rel);
    BOOST_TEST(rel <= kBlasTolerance, c.label << ": " << name << " --threads 1 vs 2: relative difference " << rel);
  }
  BOOST_TEST_MESSAGE(c.label << ": " << a.size() << " datasets and attributes; " << bounded
                             << " BLAS results differ across thread counts, worst relative difference " << worst);
}

BOOST_AUTO_TEST_SUITE_END()

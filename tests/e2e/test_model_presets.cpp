// End to end: every experiment that reads a matrix and a word mapping runs on a synthetic model
// directory of each preset (random BF16 weights in two shards, a 400-word vocabulary taken from the
// GloVe subset, written by tests/io/model_writer.hpp), with embeddings.matrix choosing the matrix.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/model_writer.hpp"

#include <cmath>
#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;

namespace {

constexpr std::uint64_t kWords = 400, kDim = 24;

std::vector<std::string> glove_words(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (out.size() < n && std::getline(in, line)) out.push_back(line.substr(0, line.find(' ')));
  return out;
}

// Mean off-diagonal cosine of the rows of a row-major [n, d] matrix, in double, from the writer's values.
double mean_cosine(const std::vector<float>& v, std::uint64_t n, std::uint64_t d) {
  std::vector<double> s(d, 0.0);
  for (std::uint64_t j = 0; j < n; ++j) {
    double nn = 0;
    for (std::uint64_t i = 0; i < d; ++i) nn += double(v[j * d + i]) * double(v[j * d + i]);
    for (std::uint64_t i = 0; i < d; ++i) s[i] += double(v[j * d + i]) / std::sqrt(nn);
  }
  double ss = 0;
  for (double x : s) ss += x * x;
  return (ss - double(n)) / (double(n) * double(n - 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_presets_e2e)

BOOST_DATA_TEST_CASE(every_experiment_on_every_preset, bdata::make(synth_presets()), preset) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  EMBEDLAB_FIXTURE(ws, "peer-files/wordsim353.tsv");
  EMBEDLAB_FIXTURE(qw, "peer-files/questions-words.txt");
  TempDir tmp;
  SynthSpec s;
  s.preset = preset;
  s.vocab = kWords;
  s.dim = kDim;
  s.vocabulary = glove_words(glove, kWords);
  if (preset == "bert")  // the tokens BERT's WordPiece pipeline needs, in place of three words
    std::copy_n(std::vector<std::string>{"[UNK]", "[CLS]", "[SEP]"}.begin(), 3, s.vocabulary.end() - 3);
  s.tie = false;  // an output matrix of its own, so input and output runs differ
  const SynthModel m = write_model(tmp.file("model"), s);
  const std::string results = tmp.file("results");
  const auto run = [&](const std::string& config, const std::string& sets) {
    const auto r = run_command(fmt::format("{} {} --results '{}' --quiet --set report.plots=false {}",
                                           bin("run_experiment"), source("configs/" + config), results, sets),
                               tmp);
    BOOST_TEST(r.exit_code == 0, config << " on " << preset << ": " << r.err);
    return r;
  };
  const std::string words = fmt::format("{}", fmt::join(s.vocabulary.begin() + 30, s.vocabulary.begin() + 42, ","));

  // vocab_geometry on the output matrix: its mean cosine is the writer's lm_head, not the input.
  run("vocab_geometry.ini", fmt::format("--set embeddings.path='{}' --set embeddings.tensor= --set embeddings.matrix="
                                        "output --set gaussian.samples=200 --set abtt.components=1,2",
                                        m.dir));
  {
    io::H5ResultReader h((fs::path(only_run_dir(results, "vocab_geometry")) / "results.h5").string());
    const auto& out = m.tensors.at(m.output);
    BOOST_TEST(h.read_doubles("/cosines/mean")[0] == mean_cosine(out.values, kWords, kDim),
               boost::test_tools::tolerance(1e-5));
    const std::string report = read_file((fs::path(only_run_dir(results, "vocab_geometry")) / "report.md").string());
    BOOST_TEST(report.find(fmt::format("model: {} output = {}", preset, m.output)) != std::string::npos,
               preset << ": the provenance names the matrix");
  }
  run("token_similarity.ini", fmt::format("--set embeddings.path='{}' --set embeddings.tensor= --set words.list='{}' "
                                          "--set words.pairs= --set words.expect= --set clusters.k=3",
                                          m.dir, words));
  run("rsa.ini", fmt::format("--set space_a.path='{}' --set space_a.tensor= --set space_a.kind=auto "
                             "--set space_b.path='{}' --set space_b.limit=0 --set words.count=200 "
                             "--set compare.permutations=19 --set compare.bootstrap=5",
                             m.dir, glove));
  run("compare_wiki_twitter.ini",
      fmt::format("--set space_a.path='{}' --set space_a.format=auto --set space_a.matrix=output --set space_a.limit=0 "
                  "--set space_b.path='{}' "
                  "--set space_b.limit=0 --set words.count=0 --set compare.permutations=9 --set compare.bootstrap=5",
                  m.dir, glove));
  run("word_benchmarks.ini", fmt::format("--set embeddings.path='{}' --set benchmarks.word_pairs='{}' "
                                         "--set benchmarks.analogies='{}'",
                                         m.dir, ws, qw));
  run("random_variance.ini", fmt::format("--set embeddings.path='{}' --set sweep.dims=2,24 --set sweep.pairs=2000 "
                                         "--set histogram.dim=24 --set real.pairs=2000",
                                         m.dir));
}

// The word commands and inspect on model directories: --matrix chooses the matrix; inspect names the
// preset, the tying and each matrix's tensor, dtype, shape and shard.
BOOST_AUTO_TEST_CASE(commands_take_any_preset_with_matrix) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir tmp;
  SynthSpec s;
  s.preset = "qwen2";
  s.vocab = 60;
  s.dim = 8;
  s.shards = 3;
  s.vocabulary = glove_words(glove, 60);
  const SynthModel m = write_model(tmp.file("qwen"), s);
  const auto inspect = run_command(fmt::format("{} inspect '{}'", bin("embedlab"), m.dir), tmp);
  BOOST_TEST(inspect.exit_code == 0, inspect.err);
  for (const std::string part :
       {"preset: qwen2", "tying: untied", "input      model.embed_tokens.weight  BF16 [60, 8]  model-00001-of-00003",
        "output     lm_head.weight  BF16 [60, 8]  model-00003-of-00003", "verdict: OK",
        "word tokenizer: tokenizer.json (BPE, 60 tokens)"})
    BOOST_TEST(inspect.out.find(part) != std::string::npos, part << " in " << inspect.out);

  // similar over the output matrix: the neighbours of a word by cosine of the lm_head rows,
  // checked against the writer's values.
  const std::string w = s.vocabulary[5];
  const auto sim =
      run_command(fmt::format("{} similar '{}' {} --matrix output --k 1 --json", bin("embedlab"), m.dir, w), tmp);
  BOOST_REQUIRE_MESSAGE(sim.exit_code == 0, sim.err);
  const auto& out = m.tensors.at("lm_head.weight").values;
  const auto cos = [&](std::size_t a, std::size_t b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      ab += double(out[a * 8 + i]) * out[b * 8 + i];
      aa += double(out[a * 8 + i]) * out[a * 8 + i];
      bb += double(out[b * 8 + i]) * out[b * 8 + i];
    }
    return ab / std::sqrt(aa * bb);
  };
  std::size_t best = 0;
  for (std::size_t j = 0; j < 60; ++j)
    if (j != 5 && (best == 0 || cos(5, j) > cos(5, best))) best = j;
  // (the directory's tokenizer names rows by their quoted token text)
  BOOST_TEST(sim.out.find("\"'" + s.vocabulary[best] + "'\"") != std::string::npos, sim.out);
  const auto bad = run_command(fmt::format("{} similar '{}' {} --matrix middle", bin("embedlab"), m.dir, w), tmp);
  BOOST_TEST(bad.exit_code == 64);
  BOOST_TEST(bad.err.find("--matrix: 'middle' is not one of input|output|position") != std::string::npos, bad.err);
  const auto pos = run_command(fmt::format("{} stats '{}' --matrix position", bin("embedlab"), m.dir), tmp);
  BOOST_TEST(pos.exit_code == 64, pos.err);
  BOOST_TEST(pos.err.find("no position matrix") != std::string::npos, pos.err);
  const auto stats = run_command(fmt::format("{} stats '{}' --matrix output --json", bin("embedlab"), m.dir), tmp);
  BOOST_TEST(stats.exit_code == 0, stats.err);
}

BOOST_AUTO_TEST_SUITE_END()

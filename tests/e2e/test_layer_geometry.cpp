// End to end: `embedlab hidden` (shapes through h5py, the last layer against the Hugging Face goldens)
// and configs/layer_geometry.ini on tiny-gpt2 and the shipped sample corpus against the float64
// reference of scripts/gen_layer_geometry_reference.py, plus invariants and the corpus errors.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "testing.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

std::string tiny_set(const std::string& model, const std::string& tok, const std::string& corpus) {
  return fmt::format("--set model.path='{}' --set model.tokenizer='{}' --set corpus.path='{}'", model, tok, corpus);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer_geometry_e2e)

BOOST_AUTO_TEST_CASE(hidden_dump_opens_in_h5py_with_the_stated_shapes) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  TempDir dir;
  const std::string out = dir.file("h.h5");
  auto r = run_command(fmt::format("{} hidden --model '{}' --tokenizer '{}' --corpus '{}' --layers 0,2 --out '{}'",
                                   bin("embedlab"), model, tok, source("corpora/sample.txt"), out),
                       dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string py = dir.file("check.py");
  write_text(py,
             "import sys, h5py, numpy as np\n"
             "f = h5py.File(sys.argv[1], 'r')\n"
             "n = f['/token_ids'].shape[0]\n"
             "assert n > 100, n\n"
             "assert f['/hidden'].shape == (n, 2, 64) and f['/hidden'].dtype == np.float32, f['/hidden']\n"
             "assert f['/final'].shape == (n, 64) and f['/final'].dtype == np.float32\n"
             "assert f['/sentence'].shape == (n,) and f['/position'].shape == (n,)\n"
             "assert f['/layers'].dtype == np.int64 and list(f['/layers'][()]) == [0, 2]\n"
             "assert f['/sentence'][()].max() == 49 and f['/position'][()][0] == 0\n"
             "print('ok', n)\n");
  r = run_command(fmt::format("/usr/bin/python3 '{}' '{}'", py, out), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(r.out.starts_with("ok"));
}

BOOST_AUTO_TEST_CASE(final_states_match_the_hugging_face_goldens) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/micro-gpt2.golden.json");
  std::ifstream in(gold_path);
  const auto gold = nlohmann::json::parse(in);
  TempDir dir;
  std::string corpus;
  for (const auto& c : gold["cases"]) {
    for (std::size_t i = 0; i < c["input_ids"].size(); ++i)
      corpus += fmt::format("{}{}", i ? " " : "", c["input_ids"][i].get<int>());
    corpus += "\n";
  }
  write_text(dir.file("ids.txt"), corpus);
  const auto r = run_command(fmt::format("{} hidden --model '{}' --corpus '{}' --format ids --out '{}'",
                                         bin("embedlab"), model, dir.file("ids.txt"), dir.file("h.h5")),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h5(dir.file("h.h5"));
  const auto shape = h5.shape("/final");
  BOOST_REQUIRE_EQUAL(shape.size(), 2u);
  const auto C = shape[1];
  const auto fin = h5.read_doubles("/final");
  std::size_t row = 0;
  double worst = 0;
  for (const auto& c : gold["cases"])
    for (const auto& pos : c["last_hidden_f64"]) {
      BOOST_REQUIRE_EQUAL(pos.size(), C);
      for (std::size_t i = 0; i < C; ++i) worst = std::max(worst, std::abs(fin[row * C + i] - pos[i].get<double>()));
      ++row;
    }
  BOOST_TEST(row == shape[0]);
  BOOST_TEST(worst < 1e-4);
}

BOOST_AUTO_TEST_CASE(layer_states_match_a_truncated_checkpoint) {
  // The first block of micro-gpt2 saved on its own (config n_layer = 1, tensors h.1.* and h.2.* dropped):
  // its layers 0 and 1 are the full model's layers 0 and 1.
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");
  TempDir dir;
  const std::string cut = dir.file("cut"), py = dir.file("cut.py");
  write_text(py,
             "import json, struct, sys, os\n"
             "src, dst = sys.argv[1], sys.argv[2]\n"
             "os.makedirs(dst)\n"
             "cfg = json.load(open(src + '/config.json')); cfg['n_layer'] = 1\n"
             "json.dump(cfg, open(dst + '/config.json', 'w'))\n"
             "b = open(src + '/model.safetensors', 'rb').read(); n = struct.unpack('<Q', b[:8])[0]\n"
             "h = json.loads(b[8:8 + n]); data = b[8 + n:]\n"
             "keep = {k: v for k, v in h.items() if k != '__metadata__' and '.h.1.' not in '.' + k and "
             "'.h.2.' not in '.' + k}\n"
             "out, off, hdr = b'', 0, {}\n"
             "for k, v in keep.items():\n"
             "    a, e = v['data_offsets']; out += data[a:e]\n"
             "    hdr[k] = dict(v, data_offsets=[off, off + e - a]); off += e - a\n"
             "j = json.dumps(hdr).encode(); j += b' ' * (-len(j) % 8)\n"
             "open(dst + '/model.safetensors', 'wb').write(struct.pack('<Q', len(j)) + j + out)\n");
  auto r = run_command(fmt::format("/usr/bin/python3 '{}' '{}' '{}'", py, model, cut), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out + r.err);
  write_text(dir.file("ids.txt"), "5 17 300 42 8\n100 2 3\n");
  for (const auto& [m, out] : {std::pair{model, dir.file("full.h5")}, std::pair{cut, dir.file("cut.h5")}}) {
    r = run_command(fmt::format("{} hidden --model '{}' --corpus '{}' --format ids --layers 0,1 --out '{}'",
                                bin("embedlab"), m, dir.file("ids.txt"), out),
                    dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  io::H5ResultReader full(dir.file("full.h5")), part(dir.file("cut.h5"));
  const auto a = full.read_doubles("/hidden"), b = part.read_doubles("/hidden");
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  BOOST_REQUIRE_EQUAL(a.size(), 8u * 2u * 48u);
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i] == b[i]);
}

BOOST_AUTO_TEST_CASE(measures_match_the_float64_reference) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  EMBEDLAB_FIXTURE(ref_path, "layer_geometry/tiny-gpt2-sample.reference.json");
  std::ifstream in(ref_path);
  const auto ref = nlohmann::json::parse(in);
  TempDir dir;
  const auto r = run_command(fmt::format("{} {} --results '{}' --quiet {} --set measures.pairs=4000",
                                         bin("run_experiment"), source("configs/layer_geometry.ini"),
                                         dir.file("results"), tiny_set(model, tok, source("corpora/sample.txt"))),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string run = only_run_dir(dir.file("results"), "layer_geometry");
  io::H5ResultReader h5((fs::path(run) / "results.h5").string());
  BOOST_TEST(h5.read_doubles("/anisotropy_pairs").size() == 2u * ref["pairs"].get<std::size_t>());
  const auto check = [&](const std::string& ds, const std::string& key, double tol) {
    const auto got = h5.read_doubles("/layers/" + ds);
    const auto& want = ref[key];
    BOOST_REQUIRE_MESSAGE(got.size() == want.size(), ds);
    for (std::size_t l = 0; l < got.size(); ++l) {
      if (want[l].is_null()) {
        BOOST_TEST(std::isnan(got[l]));
        continue;
      }
      BOOST_TEST_CONTEXT(ds << " layer " << l) { BOOST_TEST(std::abs(got[l] - want[l].get<double>()) < tol); }
    }
  };
  check("anisotropy", "anisotropy", Tol<float>::eps);
  check("anisotropy_se", "anisotropy_se", Tol<float>::eps);
  check("self_similarity", "self_similarity", Tol<float>::eps);
  check("intra_sentence", "intra_sentence", Tol<float>::eps);
  check("mev", "mev", Tol<float>::eps);
  check("mean_norm", "mean_norm", 1e-7);
  check("next_layer_cosine", "next_layer_cosine", Tol<float>::eps);
  check("isoscore", "isoscore", 1e-4);
  const auto cka = h5.read_doubles("/layers/layer_similarity");
  const std::size_t K = ref["layers"].size();
  BOOST_REQUIRE_EQUAL(cka.size(), K * K);
  for (std::size_t a = 0; a < K; ++a) {
    BOOST_TEST(cka[a * K + a] == 1.0, tt::tolerance(1e-12));
    for (std::size_t b = 0; b < K; ++b)
      BOOST_TEST(std::abs(cka[a * K + b] - ref["layer_similarity"][a][b].get<double>()) < Tol<float>::eps);
  }
  const auto path = h5.read_doubles("/tokens/path_length");
  BOOST_REQUIRE_EQUAL(path.size(), ref["path_length"].size());
  for (std::size_t j = 0; j < path.size(); ++j)
    BOOST_TEST(std::abs(path[j] - ref["path_length"][j].get<double>()) < 1e-6 * (1 + path[j]));
  const auto self_adj = h5.read_doubles("/layers/self_similarity_adjusted");
  const auto aniso = h5.read_doubles("/layers/anisotropy"), self = h5.read_doubles("/layers/self_similarity");
  for (std::size_t l = 0; l < K; ++l) BOOST_TEST(self_adj[l] == self[l] - aniso[l], tt::tolerance(1e-12));
  // layer 0 = wte + wpe: its anisotropy is the mean cosine of those embedding rows for the drawn pairs
  BOOST_TEST(std::abs(aniso[0] - ref["layer0_from_embeddings"].get<double>()) < 1e-6);
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("| layer | anisotropy ± se | self-sim |") != std::string::npos);
}

// measures.cka_tokens: the layer x layer CKA over a seeded sample of occurrences equals a float64
// NumPy CKA over the same occurrences (read from /cka_occurrences) of an `embedlab hidden` dump, and
// differs from the all-occurrence value; cka_tokens = 0 is every occurrence and the exact value.
BOOST_AUTO_TEST_CASE(cka_on_a_sample_matches_numpy_on_the_same_sample_and_zero_is_exact) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  TempDir dir;
  const std::string corpus = source("corpora/sample.txt"), dump = dir.file("h.h5");
  auto r = run_command(fmt::format("{} hidden --model '{}' --tokenizer '{}' --corpus '{}' --out '{}'", bin("embedlab"),
                                   model, tok, corpus, dump),
                       dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<std::string> runs;
  for (const char* k : {"64", "0"}) {
    const std::string results = dir.file(std::string("results-") + k);
    r = run_command(fmt::format("{} {} --results '{}' --quiet {} --set measures.pairs=200 --set report.plots=false "
                                "--set measures.cka_tokens={}",
                                bin("run_experiment"), source("configs/layer_geometry.ini"), results,
                                tiny_set(model, tok, corpus), k),
                    dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    runs.push_back((fs::path(only_run_dir(results, "layer_geometry")) / "results.h5").string());
  }
  const std::string py = dir.file("cka.py");
  write_text(py,
             "import sys, h5py, numpy as np\n"
             "def cka(X, Y):\n"
             "    Xc, Yc = X - X.mean(0), Y - Y.mean(0)\n"
             "    return np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))\n"
             "d = h5py.File(sys.argv[1], 'r')\n"
             "H = d['/hidden'][()].astype(np.float64)  # tokens, layers, C\n"
             "n, K = H.shape[0], H.shape[1]\n"
             "ref = lambda rows: np.array([[cka(H[rows, a], H[rows, b]) for b in range(K)] for a in range(K)])\n"
             "full = ref(np.arange(n))\n"
             "for path, k in ((sys.argv[2], 64), (sys.argv[3], 0)):\n"
             "    f = h5py.File(path, 'r')\n"
             "    assert (f['/tokens/token_id'][()] == d['/token_ids'][()]).all()\n"
             "    occ = f['/cka_occurrences'][()]\n"
             "    assert f['/layers'].attrs['cka_tokens'] == k\n"
             "    if k: assert len(occ) == k and (np.diff(occ) > 0).all() and occ.min() >= 0 and occ.max() < n, occ\n"
             "    else: assert (occ == np.arange(n)).all()\n"
             "    got = f['/layers/layer_similarity'][()]\n"
             "    err = np.abs(got - ref(occ)).max()\n"
             "    assert err < 1e-8, (k, err)\n"
             "    if k: assert np.abs(got - full).max() > 1e-4, 'the sample should change the value'\n"
             "    else: assert np.abs(got - full).max() < 1e-8\n"
             "print('ok', n)\n");
  r = run_command(fmt::format("/usr/bin/python3 '{}' '{}' '{}' '{}'", py, dump, runs[0], runs[1]), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(r.out.starts_with("ok"));
}

BOOST_AUTO_TEST_CASE(identical_contexts_give_self_similarity_one) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  TempDir dir;
  std::string corpus;
  for (int i = 0; i < 6; ++i) corpus += "The river bank was quiet in the morning.\n";
  write_text(dir.file("same.txt"), corpus);
  const auto r =
      run_command(fmt::format("{} {} --results '{}' --quiet {} --set measures.pairs=200 --set report.plots=false",
                              bin("run_experiment"), source("configs/layer_geometry.ini"), dir.file("results"),
                              tiny_set(model, tok, dir.file("same.txt"))),
                  dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h5((fs::path(only_run_dir(dir.file("results"), "layer_geometry")) / "results.h5").string());
  const auto self = h5.read_doubles("/layers/self_similarity"), mev = h5.read_doubles("/layers/mev");
  BOOST_REQUIRE_EQUAL(self.size(), 3u);
  for (std::size_t l = 0; l < self.size(); ++l) {
    BOOST_TEST(self[l] == 1.0, tt::tolerance(1e-6));
    BOOST_TEST(mev[l] == 1.0, tt::tolerance(1e-6));
  }
}

// tokens.multi_token: " morning." is two tokens (" morning", "."). GPT-2 is causal, so the state of
// " morning" does not depend on what follows: with policy first, the self-similarity of the word
// " morning." equals that of the one-token word " morning" in the same sentences ending otherwise;
// with last it is the "." state's, which differs; drop leaves the word out.
BOOST_AUTO_TEST_CASE(multi_token_words_follow_the_policy) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  TempDir dir;
  const char* prefixes[] = {"We walked by the river in the", "She called her mother every",
                            "The birds sang early that",     "He read the paper in the",
                            "They left the house one cold",  "It rained all through the"};
  std::string a, b;
  for (const char* p : prefixes) {
    a += fmt::format("{} morning.\n", p);
    b += fmt::format("{} morning today\n", p);
  }
  write_text(dir.file("a.txt"), a);
  write_text(dir.file("b.txt"), b);
  auto run = [&](const std::string& corpus, const std::string& policy, const std::string& name) {
    const auto r =
        run_command(fmt::format("{} {} --results '{}' --quiet {} --set measures.pairs=200 --set report.plots=false "
                                "--set tokens.multi_token={}",
                                bin("run_experiment"), source("configs/layer_geometry.ini"), dir.file(name),
                                tiny_set(model, tok, dir.file(corpus)), policy),
                    dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return (fs::path(only_run_dir(dir.file(name), "layer_geometry")) / "results.h5").string();
  };
  // the self-similarity per layer of the word with text `word` (NaN when absent)
  auto word_self = [](const std::string& h5path, const std::string& word) {
    io::H5ResultReader h5(h5path);
    const auto text = h5.read_strings("/words/text");
    const auto per = h5.read_doubles("/layers/self_similarity_per_word");  // (layers, words) row-major
    std::vector<double> out;
    const auto it = std::find(text.begin(), text.end(), word);
    if (it == text.end()) return out;
    const std::size_t w = static_cast<std::size_t>(it - text.begin()), W = text.size();
    for (std::size_t l = 0; l < per.size() / W; ++l) out.push_back(per[l * W + w]);
    return out;
  };
  const auto first = word_self(run("a.txt", "first", "first"), " morning.");
  const auto last = word_self(run("a.txt", "last", "last"), " morning.");
  const auto mean = word_self(run("a.txt", "mean", "mean"), " morning.");
  const auto single = word_self(run("b.txt", "last", "single"), " morning");
  BOOST_REQUIRE_EQUAL(first.size(), 3u);
  BOOST_REQUIRE_EQUAL(single.size(), 3u);
  BOOST_REQUIRE_EQUAL(last.size(), 3u);
  BOOST_REQUIRE_EQUAL(mean.size(), 3u);
  bool differs = false;
  for (std::size_t l = 0; l < 3; ++l) {
    BOOST_TEST(first[l] == single[l], tt::tolerance(1e-9));
    differs = differs || std::abs(last[l] - first[l]) > 1e-6;
    BOOST_TEST(std::isfinite(mean[l]));
  }
  BOOST_TEST(differs);
  BOOST_TEST(word_self(run("a.txt", "drop", "drop"), " morning.").empty());
}

BOOST_AUTO_TEST_CASE(a_sentence_longer_than_the_context_names_its_line_unless_truncated) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  TempDir dir;
  std::string longline;
  for (int i = 0; i < 150; ++i) longline += " cat";
  write_text(dir.file("long.txt"), "The dog ran.\n\n" + longline + "\nThe cat sat.\n");
  const std::string cmd = fmt::format(
      "{} {} --results '{}' --quiet {} --set measures.pairs=100 --set report.plots=false", bin("run_experiment"),
      source("configs/layer_geometry.ini"), dir.file("results"), tiny_set(model, tok, dir.file("long.txt")));
  auto r = run_command(cmd, dir);
  BOOST_TEST(r.exit_code == 65);
  BOOST_TEST(r.err.find("line 3") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("corpus.truncate") != std::string::npos, r.err);
  const std::string cut = fmt::format(
      "{} {} --results '{}' --quiet {} --set measures.pairs=100 --set report.plots=false "
      "--set corpus.truncate=true",
      bin("run_experiment"), source("configs/layer_geometry.ini"), dir.file("cut"),
      tiny_set(model, tok, dir.file("long.txt")));
  r = run_command(cut, dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h5((fs::path(only_run_dir(dir.file("cut"), "layer_geometry")) / "results.h5").string());
  BOOST_TEST(h5.attr_double("/", "truncated_sentences") == 1.0);
  BOOST_TEST(h5.attr_double("/", "tokens") == 128.0 + 8.0);
}

BOOST_AUTO_TEST_SUITE_END()

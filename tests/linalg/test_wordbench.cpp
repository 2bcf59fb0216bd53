// Word benchmarks and word arithmetic against gensim 4.2 (tests/data/gensim_reference.json, written
// by scripts/gen_gensim_reference.py from the same files).
//
// test_linalg links only embedlab_linalg, so the fixtures below read the GloVe text, word2vec binary,
// pair and analogy files with minimal parsers of their own (Python's float() then a float32 cast,
// as gensim does); the io readers are tested in tests/io.
#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "linalg/normalize.hpp"
#include "linalg/wordbench.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

namespace tt = boost::test_tools;
using namespace embedlab;
using namespace embedlab::linalg;
using embedlab::test::Tol;

namespace {

struct Vocab {
  std::vector<std::string> tokens;
  arma::fmat E;  // (d, n)
};

Vocab read_glove(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE(in);
  Vocab v;
  std::vector<float> data;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tok, num;
    ls >> tok;
    v.tokens.push_back(tok);
    while (ls >> num) data.push_back(static_cast<float>(std::strtod(num.c_str(), nullptr)));
  }
  const arma::uword n = v.tokens.size(), d = data.size() / n;
  BOOST_REQUIRE_EQUAL(d * n, data.size());
  v.E = arma::fmat(data.data(), d, n);
  return v;
}

Vocab read_w2v_bin(const std::string& path) {
  const std::string bytes = test::read_file(path);
  std::size_t pos = bytes.find('\n');
  std::istringstream header(bytes.substr(0, pos));
  arma::uword n = 0, d = 0;
  header >> n >> d;
  ++pos;
  Vocab v;
  v.E.set_size(d, n);
  for (arma::uword j = 0; j < n; ++j) {
    while (bytes[pos] == '\n') ++pos;
    const std::size_t sp = bytes.find(' ', pos);
    v.tokens.push_back(bytes.substr(pos, sp - pos));
    std::memcpy(v.E.colptr(j), bytes.data() + sp + 1, d * sizeof(float));
    pos = sp + 1 + d * sizeof(float);
  }
  return v;
}

// The glove_mixed case of the generator: capitalise row j when j % 5 == 1; append, for j % 10 == 3,
// the upper-cased token with vector v[j] + 0.2 * v[(j + 1) % n] in float32.
Vocab mixed_case(const Vocab& g) {
  Vocab m = g;
  const arma::uword n = g.tokens.size();
  for (arma::uword j = 1; j < n; j += 5) m.tokens[j][0] = static_cast<char>(std::toupper(m.tokens[j][0]));
  std::vector<arma::uword> extra;
  for (arma::uword j = 3; j < n; j += 10) extra.push_back(j);
  m.E.resize(g.E.n_rows, n + extra.size());
  for (std::size_t e = 0; e < extra.size(); ++e) {
    const arma::uword j = extra[e];
    std::string up = g.tokens[j];
    for (char& c : up) c = static_cast<char>(std::toupper(c));
    m.tokens.push_back(up);
    for (arma::uword i = 0; i < g.E.n_rows; ++i) m.E(i, n + e) = g.E(i, j) + 0.2f * g.E(i, (j + 1) % n);
  }
  return m;
}

struct Pairs {
  std::vector<std::string> a, b;
  std::vector<double> gold;
};

Pairs read_pairs(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE(in);
  Pairs p;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    p.a.push_back(line.substr(0, t1));
    p.b.push_back(line.substr(t1 + 1, t2 - t1 - 1));
    p.gold.push_back(std::strtod(line.c_str() + t2 + 1, nullptr));
  }
  return p;
}

struct Questions {
  std::vector<std::array<std::string, 4>> q;
  std::vector<AnalogySpan> sections;
};

Questions read_questions(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE(in);
  Questions out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(": ", 0) == 0) {
      if (!out.sections.empty()) out.sections.back().end = out.q.size();
      out.sections.push_back({line.substr(2), out.q.size(), out.q.size()});
      continue;
    }
    std::istringstream ls(line);
    std::array<std::string, 4> w;
    ls >> w[0] >> w[1] >> w[2] >> w[3];
    out.q.push_back(w);
  }
  out.sections.back().end = out.q.size();
  return out;
}

nlohmann::json reference() {
  std::ifstream in(EMBEDLAB_SOURCE_DIR "/tests/data/gensim_reference.json");
  BOOST_REQUIRE_MESSAGE(in, "tests/data/gensim_reference.json missing (scripts/gen_gensim_reference.py)");
  return nlohmann::json::parse(in);
}

// Average ranks (scipy rankdata) and Pearson via Armadillo: an independent check of the numbers
// gensim reports from scipy; production code uses stats::pearson / stats::spearman.
arma::vec ranks(const arma::vec& x) {
  const arma::uvec order = arma::stable_sort_index(x);
  arma::vec r(x.n_elem);
  for (arma::uword i = 0; i < x.n_elem;) {
    arma::uword j = i;
    while (j + 1 < x.n_elem && x[order[j + 1]] == x[order[i]]) ++j;
    for (arma::uword k = i; k <= j; ++k) r[order[k]] = 0.5 * static_cast<double>(i + j) + 1.0;
    i = j + 1;
  }
  return r;
}
double pearson(const arma::vec& x, const arma::vec& y) { return arma::as_scalar(arma::cor(x, y)); }

const Vocab& glove() {
  static const Vocab v = read_glove(test::fixture("glove-6B-50d-subset/glove.6B.50d.subset3091.txt"));
  return v;
}

Vocab case_vocab(const std::string& name) { return name == "glove_mixed" ? mixed_case(glove()) : glove(); }

arma::fmat columns(const Vocab& v, const std::vector<std::string>& words) {
  arma::fmat W(v.E.n_rows, words.size());
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto it = std::find(v.tokens.begin(), v.tokens.end(), words[i]);
    BOOST_REQUIRE_MESSAGE(it != v.tokens.end(), words[i]);
    W.col(i) = v.E.col(it - v.tokens.begin());
  }
  return W;
}

std::vector<arma::uword> rows_of(const Vocab& v, const std::vector<std::string>& words) {
  std::vector<arma::uword> r;
  for (const auto& w : words) r.push_back(std::find(v.tokens.begin(), v.tokens.end(), w) - v.tokens.begin());
  return r;
}

void check_neighbours(const Vocab& v, const arma::fmat& U, const nlohmann::json& c, const char* key,
                      AnalogyMethod method) {
  const auto pos = c["positive"].get<std::vector<std::string>>(), neg = c["negative"].get<std::vector<std::string>>();
  std::vector<std::string> all = pos;
  all.insert(all.end(), neg.begin(), neg.end());
  const Neighbours nb = most_similar(U, columns(v, pos), columns(v, neg), rows_of(v, all), 10, method);
  BOOST_REQUIRE_EQUAL(nb.ids.size(), c[key].size());
  for (std::size_t e = 0; e < nb.ids.size(); ++e) {
    BOOST_TEST_CONTEXT(key << " " << c["positive"].dump() << " - " << c["negative"].dump() << " #" << e) {
      BOOST_TEST(v.tokens[nb.ids[e]] == c[key][e][0].get<std::string>());
      BOOST_TEST(nb.scores[e] == c[key][e][1].get<double>(), tt::tolerance(Tol<float>::sum));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wordbench)

BOOST_AUTO_TEST_CASE(upper_case_follows_python) {
  BOOST_TEST(upper_case("king") == "KING");
  BOOST_TEST(upper_case("Straße") == "STRASSE");
  BOOST_TEST(upper_case("élan") == "ÉLAN");
  BOOST_TEST(upper_case("ÿ") == "Ÿ");
  BOOST_TEST(upper_case("москва") == "МОСКВА");
  BOOST_TEST(upper_case("ёж") == "ЁЖ");
  BOOST_TEST(upper_case("σοφός") == "ΣΟΦΌΣ");
  BOOST_TEST(upper_case("हु") == "हु");
  BOOST_TEST(upper_case("a\xff"
                        "b") ==
             "A\xff"
             "B");  // invalid bytes pass through
}

BOOST_AUTO_TEST_CASE(word_index_first_occurrence_and_restrict) {
  const std::vector<std::string> tokens{"the", "King", "king", "KING", "queen", "rare"};
  const WordIndex ci(tokens, {5, true});
  BOOST_TEST(ci.restrict_rows() == 5u);
  BOOST_TEST(*ci.find("king") == 1u);
  BOOST_TEST(*ci.find("KiNg") == 1u);
  BOOST_TEST(!ci.find("rare"));  // beyond restrict_vocab
  BOOST_TEST(ci.row_key(2) == "KING");
  const WordIndex cs(tokens, {0, false});
  BOOST_TEST(*cs.find("king") == 2u);
  BOOST_TEST(*cs.find("KING") == 3u);
  BOOST_TEST(!cs.find("kinG"));
  BOOST_TEST(*cs.find("rare") == 5u);
}

BOOST_AUTO_TEST_CASE(word_pairs_match_gensim) {
  EMBEDLAB_FIXTURE(g, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  const auto ref = reference();
  for (const auto& [name, c] : ref["cases"].items()) {
    const Vocab v = case_vocab(name);
    const WordIndex index(v.tokens, {c["restrict_vocab"].get<std::uint64_t>(), true});
    for (const auto& [set, r] : c["pairs"].items()) {
      BOOST_TEST_CONTEXT(name << " " << set) {
        EMBEDLAB_FIXTURE(path, ref["files"][set].get<std::string>());
        const Pairs p = read_pairs(path);
        const WordPairScores s = score_word_pairs(v.E, index, p.a, p.b, p.gold, false, set);
        BOOST_TEST(s.total == p.a.size());
        BOOST_TEST(s.oov_ratio == r["oov_ratio"].get<double>(), tt::tolerance(Tol<double>::eps));
        BOOST_REQUIRE_EQUAL(s.cosine.n_elem, r["pairs"].size());
        arma::vec theirs(s.cosine.n_elem);
        for (arma::uword i = 0; i < s.cosine.n_elem; ++i) {
          const auto& e = r["pairs"][i];
          BOOST_TEST(upper_case(p.a[s.pair[i]]) == e[0].get<std::string>());
          BOOST_TEST(s.gold[i] == e[2].get<double>());
          theirs[i] = e[3].get<double>();
        }
        BOOST_TEST(arma::abs(s.cosine - theirs).max() <= Tol<float>::eps);
        BOOST_TEST(pearson(s.gold, s.cosine) == r["pearson"].get<double>(), tt::tolerance(Tol<float>::eps));
        BOOST_TEST(pearson(ranks(s.gold), ranks(s.cosine)) == r["spearman"].get<double>(),
                   tt::tolerance(Tol<float>::eps));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dummy4unknown_scores_unknown_pairs_zero) {
  const std::vector<std::string> tokens{"a", "b", "c"};
  const arma::fmat E = {{1, 0, 1}, {0, 1, 1}};
  const WordIndex index(tokens);
  const std::vector<std::string> a{"a", "a", "zz"}, b{"b", "c", "a"};
  const std::vector<double> gold{1, 2, 3};
  const auto skip = score_word_pairs(E, index, a, b, gold);
  BOOST_TEST(skip.cosine.n_elem == 2u);
  BOOST_TEST(skip.oov_ratio == 100.0 / 3.0, tt::tolerance(Tol<double>::eps));
  const auto dummy = score_word_pairs(E, index, a, b, gold, true);
  BOOST_TEST(dummy.cosine.n_elem == 3u);
  BOOST_TEST(dummy.cosine[2] == 0.0);
  BOOST_TEST(dummy.row_a[2] == 3u);
  BOOST_TEST(dummy.oov_ratio == 100.0 / 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(skip.cosine[1] == 1.0 / std::sqrt(2.0), tt::tolerance(Tol<float>::eps));
  const std::vector<std::string> none{"x"}, none2{"y"};
  BOOST_CHECK_THROW(score_word_pairs(E, index, none, none2, {1.0}), Error);
  BOOST_CHECK_THROW(score_word_pairs(E, index, a, b, {1.0}), Error);
}

BOOST_AUTO_TEST_CASE(analogies_match_gensim) {
  EMBEDLAB_FIXTURE(g, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  EMBEDLAB_FIXTURE(qpath, "peer-files/questions-words.txt");
  const auto ref = reference();
  const Questions qs = read_questions(qpath);
  for (const auto& [name, c] : ref["cases"].items()) {
    BOOST_TEST_CONTEXT(name) {
      const Vocab v = case_vocab(name);
      AnalogyOptions opt;
      opt.vocab.restrict_vocab = c["restrict_vocab"].get<std::uint64_t>();
      opt.query_block = 64;  // several blocks and tiles even on this small vocabulary
      opt.vocab_block = 1024;
      const WordIndex index(v.tokens, opt.vocab);
      const AnalogyResult r = evaluate_analogies(v.E, index, qs.q, qs.sections, opt);
      const auto& sec = c["analogies"]["sections"];
      BOOST_REQUIRE_EQUAL(r.sections.size() + 1, sec.size());
      for (std::size_t s = 0; s < r.sections.size(); ++s) {
        BOOST_TEST_CONTEXT(r.sections[s].name) {
          BOOST_TEST(r.sections[s].name == sec[s]["name"].get<std::string>());
          BOOST_TEST(r.sections[s].correct == sec[s]["correct"].get<std::uint64_t>());
          BOOST_TEST(r.sections[s].incorrect == sec[s]["incorrect"].get<std::uint64_t>());
        }
      }
      BOOST_TEST(r.total.name == sec.back()["name"].get<std::string>());
      BOOST_TEST(r.total.correct == sec.back()["correct"].get<std::uint64_t>());
      BOOST_TEST(r.total.incorrect == sec.back()["incorrect"].get<std::uint64_t>());
      BOOST_TEST(r.total.accuracy() == c["analogies"]["score"].get<double>(), tt::tolerance(Tol<double>::eps));
      BOOST_TEST(r.questions == qs.q.size());
      BOOST_TEST(r.oov == r.questions - r.total.correct - r.total.incorrect);
    }
  }
}

BOOST_AUTO_TEST_CASE(analogies_do_not_depend_on_workers) {
  EMBEDLAB_FIXTURE(qpath, "peer-files/questions-words.txt");
  EMBEDLAB_FIXTURE(g, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  const Questions qs = read_questions(qpath);
  const WordIndex index(glove().tokens);
  for (const AnalogyMethod m : {AnalogyMethod::cos_add, AnalogyMethod::cos_mul}) {
    AnalogyOptions opt;
    opt.method = m;
    opt.query_block = 50;
    opt.workers = 1;
    const AnalogyResult one = evaluate_analogies(glove().E, index, qs.q, qs.sections, opt);
    opt.workers = 2;
    const AnalogyResult two = evaluate_analogies(glove().E, index, qs.q, qs.sections, opt);
    BOOST_TEST(arma::all(one.outcome == two.outcome));
    BOOST_TEST(arma::all(one.predicted == two.predicted));
    BOOST_TEST(one.total.correct > 0u);
  }
}

BOOST_AUTO_TEST_CASE(most_similar_and_cosmul_match_gensim) {
  EMBEDLAB_FIXTURE(g, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  const auto ref = reference();
  const arma::fmat U = normalize_rows(glove().E).unit;
  for (const auto& c : ref["glove_most_similar"]) {
    check_neighbours(glove(), U, c, "cosadd", AnalogyMethod::cos_add);
    check_neighbours(glove(), U, c, "cosmul", AnalogyMethod::cos_mul);
  }
  BOOST_TEST(ref["glove_most_similar"][0]["cosadd"][0][0].get<std::string>() == "queen");
}

BOOST_AUTO_TEST_CASE(most_similar_on_word2vec_binary_matches_gensim) {
  EMBEDLAB_FIXTURE(path, "peer-files/euclidean_vectors.bin");
  const auto ref = reference();
  const Vocab v = read_w2v_bin(path);
  BOOST_REQUIRE_EQUAL(v.tokens.size(), 2747u);
  const arma::fmat U = normalize_rows(v.E).unit;
  for (const auto& c : ref["euclidean_most_similar"]) check_neighbours(v, U, c, "cosadd", AnalogyMethod::cos_add);
}

BOOST_AUTO_TEST_CASE(doesnt_match_matches_gensim) {
  EMBEDLAB_FIXTURE(g, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  const auto ref = reference();
  for (const auto& c : ref["glove_doesnt_match"]) {
    const auto words = c["words"].get<std::vector<std::string>>();
    const OddOneOut o = doesnt_match(columns(glove(), words), words);
    BOOST_TEST(words[o.odd] == c["answer"].get<std::string>());
  }
}

BOOST_AUTO_TEST_CASE(prediction_skips_case_variants_of_question_words) {
  // Rows: a=(1,0) b=(0,1) c=(1,1)/√2-ish; "B" (row 3) is a case variant of b, nearest to b − a + c.
  const std::vector<std::string> tokens{"a", "b", "c", "B", "d"};
  const arma::fmat E = {{1.0f, 0.0f, 1.0f, -0.1f, 0.3f}, {0.0f, 1.0f, 1.0f, 1.0f, 1.0f}};
  const std::vector<std::array<std::string, 4>> q{{"a", "b", "c", "d"}, {"a", "b", "c", "zz"}};
  const std::vector<AnalogySpan> sections{{"s", 0, 2}};
  AnalogyOptions opt;
  const WordIndex ci(tokens, opt.vocab);
  const AnalogyResult r = evaluate_analogies(E, ci, q, sections, opt);
  BOOST_TEST(r.outcome[0] == 1);  // "B" is skipped by key, "d" is next
  BOOST_TEST(r.predicted[0] == 4u);
  BOOST_TEST(r.outcome[1] == -1);
  BOOST_TEST(r.sections[0].oov == 1u);
  BOOST_TEST(r.oov_ratio == 50.0);
  opt.vocab.case_insensitive = false;
  const WordIndex cs(tokens, opt.vocab);
  const AnalogyResult r2 = evaluate_analogies(E, cs, q, sections, opt);
  BOOST_TEST(r2.predicted[0] == 3u);  // case-sensitive: "B" is another word
  BOOST_TEST(r2.outcome[0] == 0);
  opt.dummy4unknown = true;
  BOOST_TEST(evaluate_analogies(E, cs, q, sections, opt).sections[0].incorrect == 2u);
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw) {
  const arma::fmat U = arma::eye<arma::fmat>(3, 3);
  const arma::fmat none(3, 0), zero(3, 1, arma::fill::zeros);
  BOOST_CHECK_THROW(most_similar(U, none, U.col(0), {}, 3), Error);
  BOOST_CHECK_THROW(most_similar(U, U.col(0), none, {}, 0), Error);
  BOOST_CHECK_THROW(most_similar(U, zero, none, {}, 1), Error);
  BOOST_CHECK_THROW(most_similar(U, U.col(0), U.col(0), {}, 1), Error);  // cancels out
  BOOST_CHECK_THROW(doesnt_match(none), Error);
  const std::vector<std::string> tokens{"a", "b", "c"};
  const std::vector<AnalogySpan> bad{{"s", 0, 5}};
  BOOST_CHECK_THROW(evaluate_analogies(U, WordIndex(tokens), {}, bad), Error);
  // No vocabulary: every question is unknown, nothing is answered.
  const std::vector<std::array<std::string, 4>> q{{"a", "b", "c", "d"}};
  const AnalogyResult r = evaluate_analogies(arma::fmat(3, 0), WordIndex({}), q, {{"s", 0, 1}});
  BOOST_TEST(r.outcome[0] == -1);
  BOOST_TEST(r.total.accuracy() == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

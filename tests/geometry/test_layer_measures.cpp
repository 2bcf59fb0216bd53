// geometry::measure_layers: the same numbers as the measures called one by one, bit-identical for
// any worker count, and word pooling by hand.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "geometry/layer_measures.hpp"
#include "linalg/anisotropy.hpp"
#include "rsa/similarity_metrics.hpp"
#include "testing.hpp"

#include <cmath>

using namespace embedlab;
namespace cx = embedlab::linalg::contextual;
namespace geo = embedlab::geometry;

namespace {

// (layers, C, N) states over `sentences` sentences of varied length, a shared offset per layer
// (anisotropic) that grows with the layer; token ids with repeats across sentences.
struct Corpus {
  std::vector<arma::fmat> hidden;
  std::vector<std::int64_t> sentence, token;
};
Corpus make_corpus(std::size_t layers, arma::uword C, std::size_t sentences, std::uint64_t seed) {
  Rng rng(seed);
  Corpus c;
  for (std::size_t s = 0; s < sentences; ++s) {
    const std::size_t len = 1 + rng.below(60);  // sentences of one token too
    for (std::size_t t = 0; t < len; ++t) {
      c.sentence.push_back(static_cast<std::int64_t>(s));
      c.token.push_back(static_cast<std::int64_t>(rng.below(40)));
    }
  }
  const auto N = static_cast<arma::uword>(c.sentence.size());
  for (std::size_t l = 0; l < layers; ++l) {
    arma::fmat H(C, N);
    for (auto& x : H) x = static_cast<float>(rng.normal() + 0.3 * static_cast<double>(l));
    c.hidden.push_back(std::move(H));
  }
  c.hidden[1].col(3).zeros();  // a zero state: cosine 0, no direction
  return c;
}

bool same_bits(const arma::vec& a, const arma::vec& b) {
  if (a.n_elem != b.n_elem) return false;
  for (arma::uword i = 0; i < a.n_elem; ++i)
    if (!(a(i) == b(i) || (std::isnan(a(i)) && std::isnan(b(i))))) return false;
  return true;
}
bool same_bits(const arma::mat& a, const arma::mat& b) {
  return a.n_rows == b.n_rows && same_bits(arma::vec(arma::vectorise(a)), arma::vec(arma::vectorise(b)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(geometry_layer_measures)

BOOST_AUTO_TEST_CASE(equal_to_the_measures_one_by_one_and_the_same_bits_for_any_workers) {
  const Corpus c = make_corpus(4, 24, 40, test::kSeed);
  const auto N = static_cast<arma::uword>(c.sentence.size());
  BOOST_REQUIRE(N > 300);  // more than one run of columns per worker, and N ≥ C for IsoScore
  geo::WordOccurrences words;
  words.key = c.token;
  words.sentence = c.sentence;
  geo::LayerMeasureOptions o;
  o.pairs = 5000;
  o.cka_tokens = 200;
  o.min_occurrences = 3;
  o.workers = 1;
  Rng rng(7);
  const geo::LayerMeasures r = geo::measure_layers(c.hidden, c.sentence, words, o, rng);

  // the pieces, called one by one with the same draws
  Rng replay(7);
  const auto pairs = cx::draw_pairs(c.sentence, o.pairs, replay);
  BOOST_TEST(pairs.a == r.pairs.a);
  BOOST_TEST(pairs.b == r.pairs.b);
  const auto groups = cx::group_words(c.token, c.sentence, o.min_occurrences);
  BOOST_TEST(groups.word == r.groups.word);
  BOOST_REQUIRE(!groups.word.empty());
  arma::vec path(N, arma::fill::zeros);
  for (std::size_t l = 0; l < c.hidden.size(); ++l) {
    const arma::fmat& H = c.hidden[l];
    const auto pc = cx::pair_cosine(H, pairs);
    BOOST_TEST(r.anisotropy(l) == pc.mean);
    BOOST_TEST(r.anisotropy_se(l) == pc.se);
    BOOST_TEST(r.rogue_dimension[l] == static_cast<std::int64_t>(pc.contribution.index_max()));
    BOOST_TEST(same_bits(arma::vec(r.self_per_word.row(l).t()), cx::self_similarity(H, groups, c.sentence)));
    BOOST_TEST(same_bits(arma::vec(r.mev_per_word.row(l).t()), cx::max_explainable_variance(H, groups)));
    BOOST_TEST(same_bits(arma::vec(r.intra_per_sentence.row(l).t()), cx::intra_sentence(H, c.sentence)));
    BOOST_TEST(r.mean_norm(l) == arma::mean(cx::norms(H)));
    BOOST_TEST(r.isoscore(l) == linalg::iso_score(H, 1, true));
    if (l + 1 < c.hidden.size()) {
      const auto m = cx::matched(H, c.hidden[l + 1]);
      BOOST_TEST(r.next_layer_cosine(l) == arma::mean(m.cosine));
      path += m.distance;
    }
  }
  BOOST_TEST(same_bits(r.path_length, path));
  BOOST_TEST(r.cka_columns == cx::sample_columns(N, o.cka_tokens, replay));
  std::vector<arma::fmat> sampled;
  for (const auto& H : c.hidden) sampled.push_back(H.cols(arma::uvec(r.cka_columns)));
  std::vector<const arma::fmat*> spaces;
  for (const auto& H : sampled) spaces.push_back(&H);
  BOOST_TEST(same_bits(r.cka, rsa::linear_cka_matrix(spaces)));

  for (const int workers : {2, 3}) {
    o.workers = workers;
    Rng again(7);
    const geo::LayerMeasures w = geo::measure_layers(c.hidden, c.sentence, words, o, again);
    BOOST_TEST_CONTEXT("workers " << workers) {
      for (const auto& [a, b] : {std::pair{&r.anisotropy, &w.anisotropy},
                                 {&r.anisotropy_se, &w.anisotropy_se},
                                 {&r.self_similarity, &w.self_similarity},
                                 {&r.intra_sentence, &w.intra_sentence},
                                 {&r.mev, &w.mev},
                                 {&r.mean_norm, &w.mean_norm},
                                 {&r.isoscore, &w.isoscore},
                                 {&r.rogue_share, &w.rogue_share},
                                 {&r.next_layer_cosine, &w.next_layer_cosine},
                                 {&r.path_length, &w.path_length}})
        BOOST_TEST(same_bits(*a, *b));
      BOOST_TEST(same_bits(r.self_per_word, w.self_per_word));
      BOOST_TEST(same_bits(r.mev_per_word, w.mev_per_word));
      BOOST_TEST(same_bits(r.intra_per_sentence, w.intra_per_sentence));
      BOOST_TEST(same_bits(r.cka, w.cka));
    }
  }
}

BOOST_AUTO_TEST_CASE(word_states_pool_the_tokens_of_a_word) {
  const arma::fmat H = {{1.0f, 3.0f, 5.0f}, {2.0f, 4.0f, 8.0f}};
  geo::WordOccurrences w;
  w.columns = {{0, 1}, {2}};
  w.pooling = geo::Pooling::last;
  BOOST_TEST(arma::approx_equal(geo::word_states(H, w), arma::fmat{{3.0f, 5.0f}, {4.0f, 8.0f}}, "absdiff", 0.0f));
  w.pooling = geo::Pooling::first;
  BOOST_TEST(arma::approx_equal(geo::word_states(H, w), arma::fmat{{1.0f, 5.0f}, {2.0f, 8.0f}}, "absdiff", 0.0f));
  w.pooling = geo::Pooling::mean;
  BOOST_TEST(arma::approx_equal(geo::word_states(H, w), arma::fmat{{2.0f, 5.0f}, {3.0f, 8.0f}}, "absdiff", 0.0f));
  w.columns = {{0}, {3}};
  BOOST_CHECK_THROW(geo::word_states(H, w), Error);
}

BOOST_AUTO_TEST_CASE(pooled_words_are_measured_on_their_pooled_states) {
  const Corpus c = make_corpus(2, 8, 12, test::kSeed + 1);
  // words of two tokens: columns (2k, 2k+1) within a sentence when both are there, else one token
  geo::WordOccurrences words;
  words.pooling = geo::Pooling::mean;
  for (std::size_t j = 0; j < c.sentence.size();) {
    std::vector<arma::uword> cols{static_cast<arma::uword>(j)};
    if (j + 1 < c.sentence.size() && c.sentence[j + 1] == c.sentence[j])
      cols.push_back(static_cast<arma::uword>(j + 1));
    words.key.push_back(c.token[j] % 7);
    words.sentence.push_back(c.sentence[j]);
    j += cols.size();
    words.columns.push_back(std::move(cols));
  }
  geo::LayerMeasureOptions o;
  o.pairs = 100;
  o.min_occurrences = 2;
  Rng rng(3);
  const auto r = geo::measure_layers(c.hidden, c.sentence, words, o, rng);
  BOOST_REQUIRE(!r.groups.word.empty());
  for (std::size_t l = 0; l < c.hidden.size(); ++l) {
    const arma::fmat Hw = geo::word_states(c.hidden[l], words);
    BOOST_TEST(same_bits(arma::vec(r.self_per_word.row(l).t()), cx::self_similarity(Hw, r.groups, words.sentence)));
    BOOST_TEST(same_bits(arma::vec(r.mev_per_word.row(l).t()), cx::max_explainable_variance(Hw, r.groups)));
  }
  // keys that do not match the occurrences are a programming error, named
  words.key.pop_back();
  Rng again(3);
  BOOST_CHECK_THROW(geo::measure_layers(c.hidden, c.sentence, words, o, again), Error);
}

BOOST_AUTO_TEST_SUITE_END()

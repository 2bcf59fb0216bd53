// Packed feeds: several sentences in one pass (Gpt2Session::feed_packed, model::corpus_states) give
// each sentence the states of running it alone (Gpt2::forward), and the batches never mix them.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "model/corpus_states.hpp"
#include "model/gpt2.hpp"
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;

namespace {

// Largest |a − b| relative to max |b| over the matrix.
double rel_diff(const arma::fmat& a, const arma::fmat& b) {
  BOOST_REQUIRE(a.n_rows == b.n_rows && a.n_cols == b.n_cols);
  const double scale = std::max(1e-30, static_cast<double>(arma::abs(b).max()));
  return static_cast<double>(arma::abs(a - b).max()) / scale;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(packed)

BOOST_AUTO_TEST_CASE(packed_sentences_equal_each_sentence_alone) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  const model::Gpt2 m(ck);
  Rng rng(kSeed);
  // Lengths that fill the 128-position budget of tiny-gpt2 unevenly: 1-token sentences, one of the
  // full context, and a tail.
  std::vector<std::vector<int>> sentences;
  for (const int len : {5, 1, 40, 128, 7, 1, 90, 33, 3}) {
    std::vector<int> ids;
    for (int t = 0; t < len; ++t)
      ids.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(m.vocab_size()))));
    sentences.push_back(ids);
  }
  std::vector<int> layers;
  for (int l = 0; l <= m.n_layer(); ++l) layers.push_back(l);
  const auto st = model::corpus_states(m, sentences, layers, true);
  model::ForwardOptions o;
  o.keep_hidden = true;
  o.logits = model::Logits::none;
  arma::uword col = 0;
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    const auto alone = m.forward(sentences[s], o);
    const auto T = static_cast<arma::uword>(sentences[s].size());
    for (std::size_t l = 0; l < layers.size(); ++l)
      BOOST_TEST(rel_diff(st.hidden[l].cols(col, col + T - 1), alone.hidden[l]) <= Tol<float>::sum,
                 "sentence " << s << " layer " << l);
    BOOST_TEST(rel_diff(st.final_hidden.cols(col, col + T - 1), alone.final_hidden) <= Tol<float>::sum);
    for (arma::uword t = 0; t < T; ++t) {
      BOOST_TEST(st.sentence[col + t] == static_cast<std::int64_t>(s));
      BOOST_TEST(st.position[col + t] == static_cast<std::int64_t>(t));
      BOOST_TEST(st.token[col + t] == sentences[s][t]);
    }
    col += T;
  }
  BOOST_TEST(col == st.hidden[0].n_cols);
}

BOOST_AUTO_TEST_CASE(packed_feed_errors) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  const model::Gpt2 m(ck);
  model::Gpt2Session session(m, 16);
  std::vector<arma::fmat> hidden;
  const std::vector<int> ids = {1, 2, 3, 4};
  BOOST_CHECK_THROW(session.feed_packed(ids, std::vector<int>{2, 1}, &hidden), Error);  // sums to 3
  BOOST_CHECK_THROW(session.feed_packed(ids, std::vector<int>{4, 0}, &hidden), Error);  // empty sequence
  session.feed_packed(ids, std::vector<int>{3, 1}, &hidden);
  BOOST_TEST(session.position() == 0);
  BOOST_TEST(hidden.size() == static_cast<std::size_t>(m.n_layer()) + 1);
  BOOST_TEST(hidden[0].n_cols == 4u);
  session.feed(std::vector<int>{1}, model::Logits::none);
  try {
    session.feed_packed(ids, std::vector<int>{4}, &hidden);
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("a packed feed needs an empty session (got position 1)") !=
               std::string::npos);
  }
  // a sink writes in place at its offset and leaves the other columns alone; a small one is refused
  session.reset();
  const auto C = static_cast<arma::uword>(m.n_embd());
  arma::fmat last(C, 7, arma::fill::value(-1.0f));
  model::StateSink sink;
  sink.layers.assign(hidden.size(), nullptr);
  sink.layers.back() = &last;
  sink.offset = 2;
  session.feed_packed(ids, std::vector<int>{3, 1}, sink);
  BOOST_TEST(arma::approx_equal(last.cols(2, 5), hidden.back(), "absdiff", 0.0f));
  BOOST_TEST(arma::all(arma::vectorise(last.cols(0, 1)) == -1.0f));
  BOOST_TEST(arma::all(arma::vectorise(last.col(6)) == -1.0f));
  sink.offset = 4;
  try {
    session.feed_packed(ids, std::vector<int>{3, 1}, sink);
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("state sink too small") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

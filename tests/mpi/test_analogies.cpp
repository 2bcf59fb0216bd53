// The distributed analogies (linalg::evaluate_analogies) against the same call on this process
// alone (comm::self()): every field of the result bit-identical, on every rank, for whatever rank
// count mpirun gave (1..4 in CTest). Tiles of 16 questions give many tiles, uneven blocks and, for
// the short question list, more ranks than tiles; unknown words leave holes in the tiles.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "linalg/wordbench.hpp"
#include "mpi_fixture.hpp"
#include "testing.hpp"

#include <fmt/format.h>

#include <cstring>
#include <random>

using namespace embedlab;

namespace {

template <class M>
bool same_bits(const M& a, const M& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols &&
         (a.n_elem == 0 || std::memcmp(a.memptr(), b.memptr(), a.n_elem * sizeof(typename M::elem_type)) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_counts(const linalg::AnalogySectionResult& a, const linalg::AnalogySectionResult& b) {
  return a.name == b.name && a.correct == b.correct && a.incorrect == b.incorrect && a.oov == b.oov;
}

// 3000 words × 40 dims, seeded; every third question is planted (d ≈ b − a + c), so some are
// answered correctly; one in eight names a word outside the vocabulary or past restrict_vocab.
struct Bench {
  arma::fmat E;
  std::vector<std::string> tokens;
  std::vector<std::array<std::string, 4>> questions;
  std::vector<linalg::AnalogySpan> sections;
};

Bench bench(std::size_t count) {
  constexpr arma::uword kWords = 3000, kRestrict = 2500;
  Bench b;
  arma::arma_rng::set_seed(test::kSeed);
  b.E = arma::randn<arma::fmat>(40, kWords);
  for (arma::uword j = 0; j < kWords; ++j) b.tokens.push_back(fmt::format("w{}", j));
  std::mt19937_64 rng(test::kSeed);
  std::uniform_int_distribution<arma::uword> row(0, kRestrict - 1);
  for (std::size_t i = 0; i < count; ++i) {
    std::array<arma::uword, 4> r{row(rng), row(rng), row(rng), row(rng)};
    if (i % 3 == 0) b.E.col(r[3]) = b.E.col(r[1]) - b.E.col(r[0]) + b.E.col(r[2]) + 0.05f * arma::randn<arma::fvec>(40);
    std::array<std::string, 4> q;
    for (int w = 0; w < 4; ++w) q[w] = fmt::format("W{}", r[w]);  // found case-insensitively
    if (i % 8 == 5) q[i % 4] = "unknown";
    if (i % 8 == 7) q[3 - i % 4] = fmt::format("w{}", kRestrict + i % 500);  // past restrict_vocab
    b.questions.push_back(q);
  }
  const std::size_t cuts[] = {0, count / 7, count / 7, count / 2, count};  // one section empty
  for (std::size_t s = 0; s + 1 < std::size(cuts); ++s)
    b.sections.push_back({fmt::format("section {}", s), cuts[s], cuts[s + 1]});
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed_analogies)

BOOST_AUTO_TEST_CASE(analogies_are_bit_identical_to_the_serial_run) {
  const auto& world = comm::world();
  // 300 questions: ~17 tiles of 16 answerable ones; 20: 1 or 2 tiles (fewer than ranks); 0: none.
  for (const std::size_t count : {300u, 20u, 0u}) {
    const Bench b = bench(count);
    linalg::AnalogyOptions o;
    o.vocab.restrict_vocab = 2500;
    const linalg::WordIndex index(b.tokens, o.vocab);
    o.query_block = 16;
    o.vocab_block = 700;  // vocabulary tiles too, the last one partial
    for (const auto method : {linalg::AnalogyMethod::cos_add, linalg::AnalogyMethod::cos_mul}) {
      for (const bool dummy : {false, true}) {
        o.method = method;
        o.dummy4unknown = dummy;
        o.comm = &comm::self();
        o.workers = 2;
        const linalg::AnalogyResult serial = linalg::evaluate_analogies(b.E, index, b.questions, b.sections, o);
        o.comm = &world;
        o.workers = 1;
        const linalg::AnalogyResult dist = linalg::evaluate_analogies(b.E, index, b.questions, b.sections, o);
        const std::string label = fmt::format("{} questions, {}, dummy4unknown {}, rank {} of {}", count,
                                              linalg::to_string(method), dummy, world.rank(), world.size());
        BOOST_TEST_CONTEXT(label) {
          if (count == 300) {  // the reference answers something, right and wrong, and skips some
            BOOST_TEST(serial.total.correct > 10u);
            BOOST_TEST(serial.total.incorrect > 10u);
            BOOST_TEST(serial.oov > 10u);
          }
          BOOST_REQUIRE_EQUAL(dist.sections.size(), serial.sections.size());
          for (std::size_t s = 0; s < serial.sections.size(); ++s)
            BOOST_TEST(same_counts(dist.sections[s], serial.sections[s]), "section " << s);
          BOOST_TEST(same_counts(dist.total, serial.total));
          BOOST_TEST(dist.questions == serial.questions);
          BOOST_TEST(dist.oov == serial.oov);
          BOOST_TEST(same_bits(dist.oov_ratio, serial.oov_ratio));
          BOOST_TEST(same_bits(dist.outcome, serial.outcome));
          BOOST_TEST(same_bits(dist.predicted, serial.predicted));
          BOOST_TEST(same_bits(dist.predicted_score, serial.predicted_score));  // NaN where none, bit for bit
          BOOST_TEST(same_bits(dist.rows, serial.rows));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

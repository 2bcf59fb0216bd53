// Word-pair and analogy benchmark files: the real files of gensim's test suite, and one crafted
// input per way a line can be bad (each a one-line error with the line number).
#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "io/benchmarks.hpp"

#include <filesystem>
#include <string>

using namespace embedlab;
using namespace embedlab::io;

namespace {

// The message of the Error `fn` throws, and that its code is `code`.
template <class Fn>
std::string error_of(Fn&& fn, Exit code = Exit::data) {
  try {
    fn();
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code));
    const std::string msg = e.what();
    BOOST_TEST(msg.find('\n') == std::string::npos);
    return msg;
  }
  BOOST_FAIL("no error thrown");
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(benchmarks)

BOOST_AUTO_TEST_CASE(reads_wordsim353_and_simlex999) {
  EMBEDLAB_FIXTURE(ws, "peer-files/wordsim353.tsv");
  EMBEDLAB_FIXTURE(sl, "peer-files/simlex999.txt");
  const WordPairSet w = read_word_pairs(ws);
  BOOST_TEST(w.size() == 353u);
  BOOST_TEST(w.a[0] == "love");
  BOOST_TEST(w.b[0] == "sex");
  BOOST_TEST(w.score[0] == 6.77);
  BOOST_TEST(w.line[0] == 3u);  // two comment lines first
  BOOST_TEST(w.a[2] == "tiger");
  BOOST_TEST(w.b[2] == "tiger");
  BOOST_TEST(w.score[2] == 10.0);
  const WordPairSet s = read_word_pairs(sl);
  BOOST_TEST(s.size() == 999u);
  BOOST_TEST(s.a[1] == "smart");
  BOOST_TEST(s.score[1] == 9.2);
}

BOOST_AUTO_TEST_CASE(reads_questions_words) {
  EMBEDLAB_FIXTURE(path, "peer-files/questions-words.txt");
  const AnalogySet q = read_analogies(path);
  BOOST_TEST(q.questions.size() == 19544u);
  BOOST_TEST(q.sections.size() == 14u);
  BOOST_TEST(q.sections[0].name == "capital-common-countries");
  BOOST_TEST(q.sections[0].begin == 0u);
  BOOST_TEST(q.sections[0].line == 1u);
  BOOST_TEST(q.sections.back().name == "gram9-plural-verbs");
  BOOST_TEST(q.sections.back().end == q.questions.size());
  for (std::size_t s = 1; s < q.sections.size(); ++s) BOOST_TEST(q.sections[s].begin == q.sections[s - 1].end);
  BOOST_TEST(q.questions[0][0] == "Athens");
  BOOST_TEST(q.questions[0][3] == "Iraq");
  BOOST_TEST(q.line[0] == 2u);
}

BOOST_AUTO_TEST_CASE(pair_lines_comments_blank_and_crlf) {
  const WordPairSet p = parse_word_pairs("# header\r\n\r\nold\tnew\t 1.5 \r\n  \nA b\tc\t-2e-1", "x.tsv");
  BOOST_TEST(p.size() == 2u);
  BOOST_TEST(p.a[0] == "old");
  BOOST_TEST(p.b[0] == "new");
  BOOST_TEST(p.score[0] == 1.5);
  BOOST_TEST(p.a[1] == "A b");  // words are verbatim (gensim splits on the delimiter only)
  BOOST_TEST(p.score[1] == -0.2);
  BOOST_TEST(p.line[1] == 5u);
  const WordPairSet c = parse_word_pairs("a,b,3\n", "x.csv", ',');
  BOOST_TEST(c.b[0] == "b");
}

BOOST_AUTO_TEST_CASE(bad_pair_lines_name_the_line) {
  auto msg = error_of([] { parse_word_pairs("a\tb\t1\na\tb\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "p.tsv: line 2: expected word1<TAB>word2<TAB>score (got 2 fields"));
  msg = error_of([] { parse_word_pairs("a\tb\t1\tx\n", "p.tsv"); });
  BOOST_TEST((contains(msg, "line 1") && contains(msg, "got 4 fields")));
  msg = error_of([] { parse_word_pairs("# c\na\tb\tzz\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "p.tsv: line 2: score is not a finite number"));
  msg = error_of([] { parse_word_pairs("a\tb\tnan\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "not a finite number"));
  msg = error_of([] { parse_word_pairs("a\tb\t1e999\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "not a finite number"));
  msg = error_of([] { parse_word_pairs("a\tb\t1.5x\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "line 1"));
  msg = error_of([] { parse_word_pairs("\tb\t1\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "empty word"));
  msg = error_of([] { parse_word_pairs("ok\tb\t1\nb\xff\tc\t2\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "p.tsv: line 2: invalid UTF-8"));
  msg = error_of([] { parse_word_pairs("# only a comment\n\n", "p.tsv"); });
  BOOST_TEST(contains(msg, "no word pairs"));
  msg = error_of([] { parse_word_pairs("", "p.tsv"); });
  BOOST_TEST(contains(msg, "no word pairs"));
}

BOOST_AUTO_TEST_CASE(analogy_sections_and_blank_lines) {
  const AnalogySet a = parse_analogies(": one\na b c d\n\n:  two  \r\n: : three\ne f g h\n", "q.txt");
  BOOST_TEST(a.sections.size() == 3u);
  BOOST_TEST(a.sections[0].name == "one");
  BOOST_TEST(a.sections[1].name == "two");
  BOOST_TEST(a.sections[1].begin == a.sections[1].end);  // an empty section is kept
  BOOST_TEST(a.sections[2].name == "three");
  BOOST_TEST(a.sections[2].line == 5u);
  BOOST_TEST(a.questions.size() == 2u);
  BOOST_TEST(a.questions[1][2] == "g");
  BOOST_TEST(a.line[1] == 6u);
}

BOOST_AUTO_TEST_CASE(bad_analogy_lines_name_the_line) {
  auto msg = error_of([] { parse_analogies(": s\na b c\n", "q.txt"); });
  BOOST_TEST(contains(msg, "q.txt: line 2: expected 4 words 'a b c d' (got 3"));
  msg = error_of([] { parse_analogies(": s\na b c d e\n", "q.txt"); });
  BOOST_TEST(contains(msg, "got 5"));
  msg = error_of([] { parse_analogies("a b c d\n: s\n", "q.txt"); });
  BOOST_TEST(contains(msg, "q.txt: line 1: question before the first ': section' header"));
  msg = error_of([] { parse_analogies("\n\n", "q.txt"); });
  BOOST_TEST(contains(msg, "no ': section' header"));
  msg = error_of([] { parse_analogies(":nospace\n", "q.txt"); });
  BOOST_TEST(contains(msg, "line 1"));
  msg = error_of([] { parse_analogies(": s\na b c \xc3\n", "q.txt"); });
  BOOST_TEST(contains(msg, "line 2: invalid UTF-8"));
}

BOOST_AUTO_TEST_CASE(missing_and_oversized_files) {
  test::TempDir dir;
  const std::string missing = dir.file("nope.tsv");
  auto msg = error_of([&] { read_word_pairs(missing); }, Exit::no_input);
  BOOST_TEST(contains(msg, "nope.tsv"));
  error_of([&] { read_analogies(missing); }, Exit::no_input);
  const std::string f = dir.file("p.tsv");
  test::write_file(f, "x\ty\t3\n");
  BOOST_TEST(read_word_pairs(f).path == f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shipped)

// benchmarks/ ships the word benchmarks (the default of configs/word_benchmarks.ini): the same bytes
// as the vendored fixtures, whose hashes tests/data/README.md lists.
BOOST_AUTO_TEST_CASE(shipped_benchmarks_are_the_fixtures) {
  for (const char* f : {"wordsim353.tsv", "simlex999.txt", "questions-words.txt"}) {
    const std::filesystem::path shipped = std::filesystem::path(EMBEDLAB_SOURCE_DIR) / "benchmarks" / f;
    BOOST_TEST_REQUIRE(std::filesystem::exists(shipped), shipped << " is missing");
    BOOST_TEST(embedlab::test::read_file(shipped.string()) ==
                   embedlab::test::read_file(embedlab::test::fixture(std::string("peer-files/") + f)),
               f);
  }
  const std::string ini =
      embedlab::test::read_file((std::filesystem::path(EMBEDLAB_SOURCE_DIR) / "configs/word_benchmarks.ini").string());
  BOOST_TEST(ini.find("\nword_pairs = benchmarks/wordsim353.tsv, benchmarks/simlex999.txt\n") != std::string::npos);
  BOOST_TEST(ini.find("\nanalogies = benchmarks/questions-words.txt\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

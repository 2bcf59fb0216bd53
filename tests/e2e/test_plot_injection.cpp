// End to end: words that are shell and gnuplot commands go through a real experiment (token_similarity:
// heatmap tick labels, tables, neighbours) and are drawn and tabulated, never run.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"

#include <fmt/format.h>

#include <filesystem>

using namespace embedlab::test;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(plot_injection_e2e)

BOOST_AUTO_TEST_CASE(command_words_are_plotted_and_tabulated_literally) {
  TempDir dir;
  // Tokens hold no space (word2vec text splits on it); $IFS gives the shell its space.
  const auto f = [&](int i) { return dir.file(fmt::format("RAN{}", i)); };
  const std::vector<std::string> words = {fmt::format("`touch$IFS{}`", f(1)),
                                          fmt::format("$(touch$IFS{})", f(2)),
                                          fmt::format("system('touch$IFS{}')", f(3)),
                                          "a|b",
                                          "<b>bold</b>",
                                          "plain"};
  std::string vec = fmt::format("{} 3\n", words.size());
  for (std::size_t i = 0; i < words.size(); ++i)
    vec += fmt::format("{} {} {} {}\n", words[i], 1.0 + double(i), 0.5 * double(i * i % 5) - 1, 0.25 * double(i));
  write_file(dir.file("vectors.txt"), vec);

  std::string list, pairs;
  for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
  pairs = words[0] + ":" + words[1] + ", " + words[3] + ":" + words[4];
  write_file(dir.file("inject.ini"),
             fmt::format("[experiment]\nname = token_similarity\nseed = 42\n[embeddings]\n"
                         "path = {}\nformat = word2vec\n[words]\nlist = {}\npairs = {}\n"
                         "[tokens]\noov = skip\n[neighbours]\nk = 2\n[clusters]\nk = 2\n[report]\nplots = true\n",
                         dir.file("vectors.txt"), list, pairs));
  const std::string results = dir.file("results");
  const auto r = run_command(
      fmt::format("{} '{}' --results '{}' --quiet", bin("run_experiment"), dir.file("inject.ini"), results), dir);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  const std::string run = only_run_dir(results, "token_similarity");
  BOOST_TEST_REQUIRE(!run.empty());
  for (int i = 1; i <= 3; ++i) BOOST_TEST(!fs::exists(f(i)), "word " << i << " ran a command");

  // The plots were drawn, with the words as tick labels.
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(run)) pngs += e.path().extension() == ".png" ? 1 : 0;
  BOOST_TEST(pngs >= 1);
  BOOST_TEST(fs::exists(fs::path(run) / "similarity.png"));

  // report.md shows the words literally: the pipe escaped, no HTML tag, the backquotes escaped.
  const std::string md = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(md.find("a\\|b") != std::string::npos);
  BOOST_TEST(md.find("&lt;b>bold&lt;/b>") != std::string::npos);
  // Outside fenced code blocks (the verbatim config is one, where Markdown shows HTML as text).
  std::string prose;
  bool fenced = false;
  for (std::size_t at = 0; at < md.size();) {
    const std::size_t end = std::min(md.find('\n', at), md.size());
    const std::string line = md.substr(at, end - at);
    if (line.starts_with("```"))
      fenced = !fenced;
    else if (!fenced)
      prose += line + "\n";
    at = end + 1;
  }
  BOOST_TEST(prose.find("<b>") == std::string::npos);
  BOOST_TEST(md.find("not drawn") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

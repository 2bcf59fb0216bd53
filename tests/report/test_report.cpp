// Plot labels and report text from user data: shown literally, never executed or interpreted.
#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "report/report.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using embedlab::report::Markdown;
using embedlab::report::Plotter;

namespace {

// Every way a string could make gnuplot (or a shell behind it) run something, each touching its
// own file under `dir` if it ever ran.
std::vector<std::string> payloads(const embedlab::test::TempDir& dir) {
  const auto f = [&](int i) { return dir.file(fmt::format("PWNED{}", i)); };
  return {
      fmt::format("`touch {}`", f(1)),
      fmt::format("$(touch {})", f(2)),
      fmt::format("system(\"touch {}\")", f(3)),
      fmt::format("\" . system(\"touch {}\") . \"", f(4)),
      fmt::format("' . system('touch {}') . '", f(5)),
      fmt::format("x\n!touch {}\n", f(6)),
      fmt::format("x\"\nsystem(\"touch {}\")\n\"", f(7)),
      fmt::format("x'\n! touch {}\n'", f(8)),
      fmt::format("\\\" `touch {}` \\", f(9)),
      fmt::format("@x `touch {}` {{}}^_&", f(10)),
      "tab\there, quote \" and ' and \\ end\\",
      "",
      "#comment-like",
      "ünïcödé ✓",
      std::string("bad utf8 \xff\xfe") + "\x01",
  };
}

void require_nothing_ran(const embedlab::test::TempDir& dir) {
  for (int i = 1; i <= 10; ++i)
    BOOST_TEST(!fs::exists(dir.file(fmt::format("PWNED{}", i))), "payload " << i << " ran a command");
}

// Runs gnuplot on `script` in `dir` (argv, no shell).
int run_gnuplot(const fs::path& dir, const std::string& script) {
  const fs::path gp = dir / "probe.gp";
  embedlab::test::write_file(gp.string(), script);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    std::freopen("/dev/null", "w", stderr);
    ::execlp("gnuplot", "gnuplot", "probe.gp", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_safety)

BOOST_AUTO_TEST_CASE(visible_text_escapes_control_bytes_only) {
  using embedlab::report::visible_text;
  BOOST_TEST(visible_text("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  BOOST_TEST(visible_text(std::string("\x01\x7f", 2)) == "\\x01\\x7f");
  BOOST_TEST(visible_text("\xc3\xa9 ok") == "\xc3\xa9 ok");    // é kept
  BOOST_TEST(visible_text("\xc3 x") == "\\xc3 x");             // truncated sequence
  BOOST_TEST(visible_text("`$(x)` \"'\\") == "`$(x)` \"'\\");  // printable ASCII unchanged
  BOOST_TEST(visible_text(std::string("a\0b", 3)) == "a\\x00b");
}

// The strings file read back by the installed gnuplot gives exactly the visible text, and nothing
// in it runs.
BOOST_AUTO_TEST_CASE(strings_file_round_trips_through_gnuplot) {
  BOOST_TEST_REQUIRE(embedlab::report::gnuplot_available(), "gnuplot is missing (scripts/setup.sh installs it)");
  embedlab::test::TempDir tmp;
  const auto strings = payloads(tmp);
  embedlab::test::write_file(tmp.file("s.str"), embedlab::report::gnuplot_strings_file(strings));
  const std::string script =
      embedlab::report::gnuplot_strings_preamble("s.str", strings.size()) +
      fmt::format("set print 'out.txt'\ndo for [i=1:{}] {{ print '[' . S[i] . ']' }}\n", strings.size());
  BOOST_TEST_REQUIRE(run_gnuplot(tmp.path(), script) == 0);
  const auto got = lines_of(embedlab::test::read_file(tmp.file("out.txt")));
  BOOST_TEST_REQUIRE(got.size() == strings.size());
  for (std::size_t i = 0; i < strings.size(); ++i)
    BOOST_TEST(got[i] == fmt::format("[{}]", embedlab::report::visible_text(strings[i])), "string " << i);
  require_nothing_ran(tmp);
}

// Every plot kind, with the payloads as title, axis labels, series labels, tick labels and names.
BOOST_AUTO_TEST_CASE(plots_draw_and_run_nothing) {
  BOOST_TEST_REQUIRE(embedlab::report::gnuplot_available(), "gnuplot is missing (scripts/setup.sh installs it)");
  embedlab::test::TempDir tmp;
  const auto p = payloads(tmp);
  const fs::path plots = tmp.path() / "plots with 'quote' and `tick`";
  fs::create_directories(plots);
  Plotter plotter(plots.string(), true);
  BOOST_TEST_REQUIRE(plotter.available());

  embedlab::report::PlotSpec spec;
  spec.title = p[0] + p[3] + p[5];
  spec.xlabel = p[1] + p[6];
  spec.ylabel = p[2] + p[7];
  for (std::size_t i = 0; i < p.size(); ++i)
    spec.series.push_back({p[i], {0.0, 1.0, 2.0}, {double(i), double(i) + 1, double(i) * 2}, "linespoints"});
  spec.series.push_back({"bad style", {0.0, 1.0}, {0.0, 1.0}, "lines; system('touch x')"});
  const std::string line = plotter.line_plot("line", spec);
  BOOST_TEST(line == "line.png");
  BOOST_TEST(fs::file_size(plots / "line.png") > 1000u);

  arma::mat m(p.size(), p.size(), arma::fill::randu);
  const std::string heat = plotter.heatmap("heat", p[0] + p[4] + p[8] + p[9], m, p, 0, 1);
  BOOST_TEST(heat == "heat.png");
  BOOST_TEST(fs::file_size(plots / "heat.png") > 1000u);

  // A name is a file name in the script: '<' or '|' would read from or write to a command.
  const std::string odd = plotter.line_plot("<touch " + tmp.file("PWNED1") + "|x'y", spec);
  BOOST_TEST(odd.find_first_of("<|' /") == std::string::npos);
  BOOST_TEST(fs::exists(plots / odd));

  // No intermediate file is left behind, and nothing ran.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(plots)) left.push_back(e.path().filename().string());
  BOOST_TEST(left.size() == 3u);
  require_nothing_ran(tmp);
  BOOST_TEST(plotter.note().empty());
}

BOOST_AUTO_TEST_CASE(table_cells_show_text_literally) {
  Markdown md;
  md.table({"token", "score"}, {{"a|b", "1"},
                                {"<script>alert(1)</script>", "2"},
                                {"line1\nline2\r", "3"},
                                {"`code` and \\| and & and **bold**", "4"}});
  const auto lines = lines_of(md.text());
  // header, rule, 4 rows and the blank line after the table: no row broken by a newline
  BOOST_TEST_REQUIRE(lines.size() == 7u);
  BOOST_TEST(lines[6].empty());
  BOOST_TEST(lines[2] == "| a\\|b | 1 |");
  BOOST_TEST(lines[3] == "| &lt;script>alert(1)&lt;/script> | 2 |");
  BOOST_TEST(lines[4] == "| line1\\\\nline2\\\\r | 3 |");
  BOOST_TEST(lines[5] == "| \\`code\\` and \\\\\\| and &amp; and **bold** | 4 |");
  // Each row has exactly three unescaped pipes (the cell borders).
  for (std::size_t r = 2; r < 6; ++r) {
    int pipes = 0;
    for (std::size_t i = 0; i < lines[r].size(); ++i)
      if (lines[r][i] == '|' && (i == 0 || lines[r][i - 1] != '\\')) ++pipes;
    BOOST_TEST(pipes == 3, "row " << r);
  }
}

BOOST_AUTO_TEST_CASE(prose_passes_no_html_and_code_cannot_escape_its_fence) {
  Markdown md;
  md.heading(2, "Prompt 1: <img src=x onerror=alert(1)>\nnext");
  md.paragraph("see " + embedlab::report::literal("`E` & <b>bold</b>"));
  md.code("```\n<not html>\n````");
  const std::string& t = md.text();
  BOOST_TEST(t.find("<img") == std::string::npos);
  BOOST_TEST(t.find("<b>") == std::string::npos);
  BOOST_TEST(t.find("## Prompt 1: &lt;img src=x onerror=alert(1)>\\nnext\n") == 0u);
  BOOST_TEST(t.find("see \\`E\\` &amp; &lt;b\\>bold&lt;\\/b\\>") != std::string::npos);
  BOOST_TEST(t.find("`````\n```\n<not html>\n````\n`````\n") != std::string::npos);
  BOOST_TEST(embedlab::report::literal("*a* `b` [c](d) <e>") == "\\*a\\* \\`b\\` \\[c\\]\\(d\\) &lt;e\\>");
}

BOOST_AUTO_TEST_SUITE_END()

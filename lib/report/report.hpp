#pragma once
// report.md builder and PNG plots through gnuplot (Debian gnuplot-nox). If gnuplot is absent the
// report still renders and says so where each plot would be.
//
// Safety of user text (tokens, words, prompts, file names): gnuplot runs `backquoted` text, system()
// and @macros found in its script, so no user text is ever written into a script. Titles, axis,
// series and tick labels go into a strings data file that the script reads with strcol() into an
// array (data is never evaluated); the script holds only fixed text, numbers and file names made of
// [A-Za-z0-9_-], and gnuplot runs in the plot directory (no path in the script), with noenhanced
// text. In report.md, table cells show their text literally (| \ ` escaped, no HTML, control bytes
// as \n \t \xNN); headings, paragraphs and bullets keep Markdown but never pass HTML.
#include <armadillo>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedlab::report {

// Number formatting shared by every table: 4 significant decimals, scientific when tiny or huge.
std::string num(double v, int precision = 4);

// Control bytes and invalid UTF-8 as visible escapes (\n, \t, \r, \xNN); valid UTF-8 unchanged.
std::string visible_text(std::string_view s);
// Text shown literally in Markdown prose: visible_text() with every ASCII punctuation character
// backslash-escaped and <, >, & as entities (for tokens inside headings and paragraphs).
std::string literal(const std::string& s);
// The strings data file a plot script reads (line i: "i<TAB>text", text escaped for gnuplot's
// string-field reader), and the script lines that read it into the array S[1..count].
std::string gnuplot_strings_file(const std::vector<std::string>& strings);
std::string gnuplot_strings_preamble(const std::string& strings_file, std::size_t count);

class Markdown {
 public:
  void heading(int level, const std::string& text);
  void paragraph(const std::string& text);
  void bullet(const std::string& text);
  void code(const std::string& text, const std::string& lang = "");
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // An image (path relative to the report) with a caption, or the note why it is missing.
  void image(const std::string& rel_path, const std::string& caption, const std::string& missing_note = "");
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Wall time of an experiment's consecutive stages, for its report: lap(stage) charges the time
// since the previous lap (or construction) to `stage`.
class Laps {
 public:
  Laps();
  void lap(std::string stage);
  const std::vector<std::pair<std::string, double>>& stages() const { return stages_; }
  // A "Where the time went" table: stage, seconds, share of the total.
  void table(Markdown& md) const;

 private:
  std::vector<std::pair<std::string, double>> stages_;
  double last_;
};

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::string style = "lines";  // lines | points | linespoints | boxes | steps
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  std::vector<Series> series;
  int width = 900, height = 560;
  bool integer_x = false;  // x takes whole values only (layers, positions): no fractional tics
};

// Where plots go and whether they are drawn (the [report] stage).
class Plotter {
 public:
  Plotter(std::string dir, bool enabled);
  // Draws spec into <dir>/<name>.png; returns the file name on success, "" when not drawn
  // (disabled or gnuplot missing; `note()` says why).
  std::string line_plot(const std::string& name, const PlotSpec& spec);
  // Heatmap of a matrix (rows top to bottom), optional tick labels (used when ≤ 40 labels).
  std::string heatmap(const std::string& name, const std::string& title, const arma::mat& m,
                      const std::vector<std::string>& labels = {}, double zmin = -1, double zmax = 1);
  const std::string& note() const { return note_; }
  bool available() const { return available_; }
  // Adds the plot (or the reason it is missing) to the report.
  void embed(Markdown& md, const std::string& file, const std::string& caption) const;

 private:
  std::string run_gnuplot(const std::string& name, const std::string& script, const std::string& data,
                          const std::vector<std::string>& strings);
  std::string dir_;
  bool available_ = false;
  std::string note_;
};

bool gnuplot_available();

}  // namespace embedlab::report

#include "report/report.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

extern char** environ;

namespace embedlab::report {

std::string num(double v, int precision) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e6)) return fmt::format("{:.{}e}", v, precision - 1);
  return fmt::format("{:.{}f}", v, precision);
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], 0 when it is not one.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size() || (len == 2 && c < 0xC2)) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

// No HTML from user text: '<' and '&' as entities.
void append_html_safe(std::string& out, char c) {
  if (c == '<')
    out += "&lt;";
  else if (c == '&')
    out += "&amp;";
  else
    out += c;
}

// Table cells show user text literally: the cell cannot be broken (| and newlines), no HTML, no code
// span or backslash escape taken from the text. Emphasis (**…**) stays, as experiments use it.
std::string cell(const std::string& s) {
  std::string out;
  for (const char c : visible_text(s)) {
    if (c == '|' || c == '\\' || c == '`')
      out += '\\', out += c;
    else
      append_html_safe(out, c);
  }
  return out;
}

// Headings, paragraphs, bullets and captions: Markdown stays, HTML does not.
std::string html_safe(const std::string& s) {
  std::string out;
  for (const char c : s) append_html_safe(out, c);
  return out;
}

// A plot or file name: letters, digits, '_' and '-' only (it becomes a file name in a gnuplot
// script, where a leading '<' or '|' would run a command).
std::string safe_name(const std::string& name) {
  std::string out;
  for (const char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? std::string("plot") : out;
}

const char* safe_style(const std::string& style) {
  for (const char* s : {"lines", "points", "linespoints", "boxes", "steps", "impulses"})
    if (style == s) return s;
  return "lines";
}

}  // namespace

std::string visible_text(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const std::size_t len = utf8_len(s, i); len > 0) {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
    }
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20 || c >= 0x7F)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
    ++i;
  }
  return out;
}

std::string literal(const std::string& s) {
  std::string out;
  for (const char c : visible_text(s)) {
    if (c == '<' || c == '&')
      append_html_safe(out, c);
    else if (std::ispunct(static_cast<unsigned char>(c)))
      out += '\\', out += c;  // CommonMark: any ASCII punctuation may be backslash-escaped
    else
      out += c;
  }
  return out;
}

void Markdown::heading(int level, const std::string& text) {
  // One line: a newline in the text would end the heading.
  std::string one_line;
  for (const char c : text)
    one_line += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
  text_ += std::string(level, '#') + " " + html_safe(one_line) + "\n\n";
}
// Paragraphs and bullets are the writer's Markdown (and HTML: the provenance <details> block); user
// text inside them goes through literal().
void Markdown::paragraph(const std::string& text) { text_ += text + "\n\n"; }
void Markdown::bullet(const std::string& text) { text_ += "- " + text + "\n"; }
void Markdown::code(const std::string& text, const std::string& lang) {
  // The fence is longer than any run of backquotes inside, so the text cannot close it.
  std::size_t run = 0, longest = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  text_ += fence + lang + "\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n") + fence + "\n\n";
}
void Markdown::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& h : header) {
    out += ' ';
    out += cell(h);
    out += " |";
  }
  out += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& r : rows) {
    out += "|";
    for (std::size_t i = 0; i < header.size(); ++i) {
      out += ' ';
      if (i < r.size()) out += cell(r[i]);
      out += " |";
    }
    out += "\n";
  }
  text_ += out + "\n";
}
void Markdown::image(const std::string& rel_path, const std::string& caption, const std::string& missing_note) {
  const std::string cap = literal(caption);
  if (rel_path.empty()) {
    text_ += fmt::format("*{} — plot not drawn: {}*\n\n", cap, html_safe(missing_note));
    return;
  }
  text_ += fmt::format("![{}]({})\n\n*{}*\n\n", cap, rel_path, cap);
}

bool gnuplot_available() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((dir + "/gnuplot").c_str(), X_OK) == 0) return true;
  return false;
}

Plotter::Plotter(std::string dir, bool enabled) : dir_(std::filesystem::absolute(dir).string()) {
  if (!enabled) {
    note_ = "plots are disabled ([report] plots = false)";
  } else if (!gnuplot_available()) {
    note_ = "gnuplot is not installed (apt-get install gnuplot-nox)";
  } else {
    available_ = true;
  }
}

void Plotter::embed(Markdown& md, const std::string& file, const std::string& caption) const {
  md.image(file, caption, note_);
}

std::string gnuplot_strings_file(const std::vector<std::string>& strings) {
  // gnuplot reads a string field up to the next tab or '"' and then decodes backslash escapes
  // (\\ and octal \042), so '\' and '"' are written escaped; visible_text() has already turned every
  // control byte (tab, newline …) into visible text. Each line starts with its 1-based index, so no
  // line is blank (a blank line would end the data block) or starts with '#' (a comment).
  std::string out;
  for (std::size_t i = 0; i < strings.size(); ++i) {
    out += fmt::format("{}\t", i + 1);
    for (const char c : visible_text(strings[i])) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\042";
      else
        out += c;
    }
    out += '\n';
  }
  return out;
}

std::string gnuplot_strings_preamble(const std::string& strings_file, std::size_t count) {
  // `stats` evaluates only our own expression; strcol() returns the field as a string value, which
  // gnuplot never scans for backquotes, macros (@) or system(): those apply to script text only.
  return fmt::format(
      "set datafile separator \"\\t\"\narray S[{}]\nstats '{}' using (S[int($1)] = strcol(2), 0) nooutput\n"
      "set datafile separator whitespace\n",
      std::max<std::size_t>(count, 1), strings_file);
}

std::string Plotter::run_gnuplot(const std::string& name, const std::string& script, const std::string& data,
                                 const std::vector<std::string>& strings) {
  if (!available_) return "";
  namespace fs = std::filesystem;
  // Every user-controlled string (titles, axis labels, series and tick labels) is in <name>.str, read
  // by gnuplot as data into the array S; the script is fixed text, numbers and file names made of
  // [A-Za-z0-9_-]. gnuplot runs in the plot directory, so no path appears in the script either.
  const fs::path dir(dir_);
  const std::string png = name + ".png", tmp_png = name + ".png.tmp", script_name = name + ".gp";
  write_file_atomic((dir / (name + ".str")).string(), gnuplot_strings_file(strings));
  write_file_atomic((dir / (name + ".dat")).string(), data);
  write_file_atomic((dir / script_name).string(), fmt::format("set output '{}'\n", tmp_png) +
                                                      gnuplot_strings_preamble(name + ".str", strings.size()) + script);
  const int slot = register_temp((dir / tmp_png).string());
  pid_t pid = 0;
  const char* argv[] = {"gnuplot", script_name.c_str(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&fa, dir_.c_str());
  const int rc = posix_spawnp(&pid, "gnuplot", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  const bool ok = rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                  fs::exists(dir / tmp_png);
  std::error_code ec;
  if (ok) fs::rename(dir / tmp_png, dir / png, ec);
  if (!ok || ec) fs::remove(dir / tmp_png, ec);
  unregister_temp(slot);
  fs::remove(dir / script_name, ec);
  fs::remove(dir / (name + ".dat"), ec);
  fs::remove(dir / (name + ".str"), ec);
  if (!ok || ec) {
    note_ = "gnuplot failed";
    return "";
  }
  return png;
}

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Laps::Laps() : last_(now_seconds()) {}

void Laps::lap(std::string stage) {
  const double t = now_seconds();
  stages_.emplace_back(std::move(stage), t - last_);
  last_ = t;
}

void Laps::table(Markdown& md) const {
  double total = 0;
  for (const auto& [stage, s] : stages_) total += s;
  std::vector<std::vector<std::string>> rows;
  for (const auto& [stage, s] : stages_)
    rows.push_back({stage, fmt::format("{:.2f}", s), fmt::format("{:.0f}%", total > 0 ? 100 * s / total : 0.0)});
  rows.push_back({"total", fmt::format("{:.2f}", total), "100%"});
  md.heading(2, "Where the time went");
  md.table({"stage", "seconds", "share"}, rows);
}

std::string Plotter::line_plot(const std::string& raw_name, const PlotSpec& spec) {
  const std::string name = safe_name(raw_name);
  std::string data, plot;
  std::vector<std::string> strings = {spec.title, spec.xlabel, spec.ylabel};  // S[1..3]
  for (std::size_t s = 0; s < spec.series.size(); ++s) {
    const auto& ser = spec.series[s];
    for (std::size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
      data += fmt::format("{:.9g} {:.9g}\n", ser.x[i], ser.y[i]);
    data += "\n\n";  // gnuplot data block separator (index s)
    strings.push_back(ser.label);
    plot += fmt::format("{}'{}.dat' index {} using 1:2 with {} title S[{}]", s ? ", " : "plot ", name, s,
                        safe_style(ser.style), strings.size());
  }
  std::string script = fmt::format(
      "set terminal pngcairo size {},{} noenhanced\nset title S[1] noenhanced\nset xlabel S[2] noenhanced\n"
      "set ylabel S[3] noenhanced\nset key noenhanced\nset grid\nset key top right\n",
      spec.width, spec.height);
  if (spec.logx) script += "set logscale x\n";
  if (spec.logy) script += "set logscale y\n";
  if (spec.integer_x) {
    double xmax = 0;
    for (const auto& ser : spec.series)
      for (const double x : ser.x) xmax = std::max(xmax, std::abs(x));
    script += xmax <= 24 ? "set xtics 1\n" : "set format x '%.0f'\n";
  }
  script += "set style fill solid 0.5\n" + plot + "\n";
  return run_gnuplot(name, script, data, strings);
}

std::string Plotter::heatmap(const std::string& raw_name, const std::string& title, const arma::mat& m,
                             const std::vector<std::string>& labels, double zmin, double zmax) {
  const std::string name = safe_name(raw_name);
  std::string data;
  for (arma::uword i = 0; i < m.n_rows; ++i) {
    for (arma::uword j = 0; j < m.n_cols; ++j) data += fmt::format("{}{:.6g}", j ? " " : "", m(i, j));
    data += "\n";
  }
  std::vector<std::string> strings = {title};  // S[1]; the tick labels follow
  std::string script = fmt::format(
      "set terminal pngcairo size 800,720 noenhanced\nset title S[1] noenhanced\nset palette defined (-1 'blue', 0 "
      "'white', 1 'red')\nset cbrange [{:.9g}:{:.9g}]\nset xrange [-0.5:{}]\nset yrange [{}:-0.5]\n",
      zmin, zmax, static_cast<double>(m.n_cols) - 0.5, static_cast<double>(m.n_rows) - 0.5);
  if (!labels.empty() && labels.size() <= 40) {
    std::string tics;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      strings.push_back(labels[i]);
      tics += fmt::format("{}S[{}] {}", i ? ", " : "", strings.size(), i);
    }
    script += "set xtics (" + tics + ") rotate by 60 right noenhanced\nset ytics (" + tics + ") noenhanced\n";
  }
  script += "plot '" + name + ".dat' matrix with image notitle\n";
  return run_gnuplot(name, script, data, strings);
}

}  // namespace embedlab::report

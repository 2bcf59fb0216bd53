#include "report/report.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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
// Table cells must not break the Markdown table.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}
}  // namespace

void Markdown::heading(int level, const std::string& text) { text_ += std::string(level, '#') + " " + text + "\n\n"; }
void Markdown::paragraph(const std::string& text) { text_ += text + "\n\n"; }
void Markdown::bullet(const std::string& text) { text_ += "- " + text + "\n"; }
void Markdown::code(const std::string& text, const std::string& lang) {
  text_ += "```" + lang + "\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n") + "```\n\n";
}
void Markdown::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& h : header) out += " " + cell(h) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& r : rows) {
    out += "|";
    for (std::size_t i = 0; i < header.size(); ++i) out += " " + (i < r.size() ? cell(r[i]) : std::string()) + " |";
    out += "\n";
  }
  text_ += out + "\n";
}
void Markdown::image(const std::string& rel_path, const std::string& caption, const std::string& missing_note) {
  if (rel_path.empty()) {
    text_ += fmt::format("*{} — plot not drawn: {}*\n\n", caption, missing_note);
    return;
  }
  text_ += fmt::format("![{}]({})\n\n*{}*\n\n", caption, rel_path, caption);
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

std::string Plotter::run_gnuplot(const std::string& name, const std::string& script, const std::string& data) {
  if (!available_) return "";
  namespace fs = std::filesystem;
  const std::string png = name + ".png";
  const std::string data_path = (fs::path(dir_) / (name + ".dat")).string();
  const std::string script_path = (fs::path(dir_) / (name + ".gp")).string();
  const std::string tmp_png = (fs::path(dir_) / (name + ".png.tmp")).string();
  write_file_atomic(data_path, data);
  write_file_atomic(script_path, fmt::format("set output '{}'\n{}", tmp_png, script));
  const int slot = register_temp(tmp_png);
  pid_t pid = 0;
  const char* argv[] = {"gnuplot", script_path.c_str(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawnp(&pid, "gnuplot", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  const bool ok = rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                  fs::exists(tmp_png);
  std::error_code ec;
  if (ok) fs::rename(tmp_png, fs::path(dir_) / png, ec);
  if (!ok || ec) fs::remove(tmp_png, ec);
  unregister_temp(slot);
  fs::remove(script_path, ec);
  fs::remove(data_path, ec);
  if (!ok) {
    note_ = "gnuplot failed";
    return "";
  }
  return png;
}

namespace {
std::string quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return "\"" + out + "\"";
}
}  // namespace

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

std::string Plotter::line_plot(const std::string& name, const PlotSpec& spec) {
  std::string data, plot;
  for (std::size_t s = 0; s < spec.series.size(); ++s) {
    const auto& ser = spec.series[s];
    for (std::size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
      data += fmt::format("{:.9g} {:.9g}\n", ser.x[i], ser.y[i]);
    data += "\n\n";  // gnuplot data block separator (index s)
    plot += fmt::format("{}'{}.dat' index {} using 1:2 with {} title {}", s ? ", " : "plot ", name, s, ser.style,
                        quote(ser.label));
  }
  std::string script = fmt::format(
      "set terminal pngcairo size {},{} noenhanced\nset title {}\nset xlabel {}\nset ylabel {}\nset grid\nset key "
      "top right\n",
      spec.width, spec.height, quote(spec.title), quote(spec.xlabel), quote(spec.ylabel));
  if (spec.logx) script += "set logscale x\n";
  if (spec.logy) script += "set logscale y\n";
  if (spec.integer_x) {
    double xmax = 0;
    for (const auto& ser : spec.series)
      for (const double x : ser.x) xmax = std::max(xmax, std::abs(x));
    script += xmax <= 24 ? "set xtics 1\n" : "set format x '%.0f'\n";
  }
  script += "set style fill solid 0.5\ncd '" + dir_ + "'\n" + plot + "\n";
  return run_gnuplot(name, script, data);
}

std::string Plotter::heatmap(const std::string& name, const std::string& title, const arma::mat& m,
                             const std::vector<std::string>& labels, double zmin, double zmax) {
  std::string data;
  for (arma::uword i = 0; i < m.n_rows; ++i) {
    for (arma::uword j = 0; j < m.n_cols; ++j) data += fmt::format("{}{:.6g}", j ? " " : "", m(i, j));
    data += "\n";
  }
  std::string script = fmt::format(
      "set terminal pngcairo size 800,720 noenhanced\nset title {}\nset palette defined (-1 'blue', 0 'white', 1 "
      "'red')\nset cbrange [{}:{}]\nset yrange [] reverse\nset xrange [-0.5:{}]\nset yrange [{}:-0.5]\n",
      quote(title), zmin, zmax, static_cast<double>(m.n_cols) - 0.5, static_cast<double>(m.n_rows) - 0.5);
  if (!labels.empty() && labels.size() <= 40) {
    std::string tics;
    for (std::size_t i = 0; i < labels.size(); ++i) tics += fmt::format("{}{} {}", i ? ", " : "", quote(labels[i]), i);
    script += "set xtics (" + tics + ") rotate by 60 right\nset ytics (" + tics + ")\n";
  }
  script += "cd '" + dir_ + "'\nplot '" + name + ".dat' matrix with image notitle\n";
  return run_gnuplot(name, script, data);
}

}  // namespace embedlab::report

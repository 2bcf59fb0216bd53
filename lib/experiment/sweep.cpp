#include "experiment/sweep.hpp"

#include "comm/comm.hpp"
#include "core/atomic_file.hpp"
#include "core/provenance.hpp"
#include "core/sha256.hpp"
#include "io/h5_results.hpp"
#include "report/report.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace embedlab::experiment::sweep {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::stringstream ss(text);
  while (std::getline(ss, item, sep)) out.push_back(trim(item));
  if (!text.empty() && text.back() == sep) out.push_back("");
  return out;
}

// One value through the key's declaration (type, range, allowed set), as the config reader does.
std::optional<std::string> check_value(const KeyDecl& d, const std::string& v) {
  switch (d.type) {
    case KeyType::integer: {
      std::int64_t x = 0;
      return parse_value(d, v, x);
    }
    case KeyType::real: {
      double x = 0;
      return parse_value(d, v, x);
    }
    case KeyType::boolean: {
      bool x = false;
      return parse_value(d, v, x);
    }
    case KeyType::string:
    case KeyType::path: {
      std::string x;
      if (auto e = parse_value(d, v, x)) return e;
      if (d.input_path && !x.empty() && !fs::exists(x)) return fmt::format("input not found (got '{}')", x);
      return std::nullopt;
    }
    case KeyType::int_list: {
      std::vector<std::int64_t> x;
      return parse_value(d, v, x);
    }
    case KeyType::real_list: {
      std::vector<double> x;
      return parse_value(d, v, x);
    }
    case KeyType::string_list: {
      std::vector<std::string> x;
      return parse_value(d, v, x);
    }
  }
  return std::nullopt;
}

bool numeric(KeyType t) { return t == KeyType::integer || t == KeyType::real; }

const KeyDecl* find_key(const std::vector<KeyDecl>& keys, const std::string& name) {
  for (const auto& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

// File names made of [A-Za-z0-9_-] only (the plot script may hold nothing else).
std::string safe_name(const std::string& s) {
  std::string out;
  for (const char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An exclusive POSIX record lock on a file (works across processes and, with lockd, over NFS).
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(Exit::cant_create, path.string(), "", std::string("cannot open lock: ") + std::strerror(errno));
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (::fcntl(fd_, F_SETLKW, &fl) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        fail(Exit::io, path.string(), "", std::string("cannot lock: ") + std::strerror(errno));
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// --- the sweep's definition ------------------------------------------------------------------

struct Plan {
  std::string experiment, config_path, config_sha256, base_config, seed;
  std::vector<std::string> sets;
  std::vector<Axis> axes;
  std::vector<const KeyDecl*> decls;  // one per axis
  std::vector<Point> points;
  std::vector<Headline> headlines;
  std::string id;
  fs::path dir;
  bool plots_enabled = true;
};

const KeyDecl* find_decl(const Plan& plan, const std::string& key) {
  for (std::size_t a = 0; a < plan.axes.size(); ++a)
    if (plan.axes[a].key == key) return plan.decls[a];
  return nullptr;
}

std::string point_label(const Plan& plan, const Point& p) {
  std::string out;
  for (std::size_t a = 0; a < plan.axes.size(); ++a)
    out += fmt::format("{}{}={}", a ? ", " : "", plan.axes[a].key, p.values[a]);
  return out;
}

json plan_json(const Plan& plan) {
  json j;
  j["format"] = "embedlab sweep 1";
  j["sweep_id"] = plan.id;
  j["experiment"] = plan.experiment;
  j["config"] = plan.config_path;
  j["config_sha256"] = plan.config_sha256;
  j["seed_override"] = plan.seed;
  j["sets"] = plan.sets;
  j["base_config"] = plan.base_config;
  j["axes"] = json::array();
  for (const auto& a : plan.axes) j["axes"].push_back({{"key", a.key}, {"values", a.values}});
  j["points"] = json::array();
  for (const auto& p : plan.points) j["points"].push_back({{"id", p.id}, {"values", p.values}});
  return j;
}

// The id: a hash of what decides the results — the experiment, the resolved base config without
// the swept keys (comments and key order do not matter), --seed and the axes in order.
std::string sweep_id(const Plan& plan) {
  std::string in =
      fmt::format("embedlab sweep 1\nexperiment={}\nseed={}\n{}", plan.experiment, plan.seed, plan.base_config);
  for (const auto& a : plan.axes) {
    in += "\naxis " + a.key;
    for (const auto& v : a.values) in += '\x1f' + v;
  }
  return sha256_hex(in).substr(0, 12);
}

// --- point records ----------------------------------------------------------------------------

struct Record {
  std::string status = "PENDING";  // PENDING (no record), COMPLETED, FAILED
  std::string run_id, error, finished, host;
  int exit_code = -1;
  double seconds = kNaN;
  std::map<std::string, double> headlines;
  std::vector<std::string> notes;  // headlines that could not be read
};

json record_json(const Plan& plan, const Point& p, const Record& r) {
  json j;
  j["point"] = p.id;
  j["index"] = p.index;
  json values = json::object();
  for (std::size_t a = 0; a < plan.axes.size(); ++a) values[plan.axes[a].key] = p.values[a];
  j["values"] = values;
  j["status"] = r.status;
  j["run_id"] = r.run_id;
  j["exit_code"] = r.exit_code;
  j["error"] = r.error;
  j["seconds"] = r.seconds;
  j["finished"] = r.finished;
  j["host"] = r.host;
  json h = json::object();
  for (const auto& hl : plan.headlines) {
    const auto it = r.headlines.find(hl.name);
    const double v = it == r.headlines.end() ? kNaN : it->second;
    if (std::isfinite(v))
      h[hl.name] = v;
    else
      h[hl.name] = nullptr;  // JSON has no NaN
  }
  j["headlines"] = h;
  j["headline_notes"] = r.notes;
  return j;
}

std::optional<Record> parse_record(const std::string& text) {
  try {
    const auto j = json::parse(text);
    Record r;
    r.status = j.at("status").get<std::string>();
    if (r.status != "COMPLETED" && r.status != "FAILED") return std::nullopt;
    r.run_id = j.value("run_id", "");
    r.error = j.value("error", "");
    r.finished = j.value("finished", "");
    r.host = j.value("host", "");
    r.exit_code = j.value("exit_code", -1);
    r.seconds = j.contains("seconds") && j["seconds"].is_number() ? j["seconds"].get<double>() : kNaN;
    if (j.contains("headlines"))
      for (const auto& [k, v] : j["headlines"].items()) r.headlines[k] = v.is_number() ? v.get<double>() : kNaN;
    if (j.contains("headline_notes")) r.notes = j["headline_notes"].get<std::vector<std::string>>();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

fs::path record_path(const Plan& plan, const Point& p) { return plan.dir / "points" / (p.id + ".json"); }

std::map<std::string, Record> read_records(const Plan& plan) {
  std::map<std::string, Record> out;
  for (const auto& p : plan.points) {
    const fs::path f = record_path(plan, p);
    std::error_code ec;
    if (!fs::exists(f, ec)) continue;
    if (auto r = parse_record(read_text(f))) out[p.id] = *r;
  }
  return out;
}

// A recorded COMPLETED point is done only while its run directory still says COMPLETED.
bool still_completed(const RunOptions& o, const Plan& plan, const Record& r) {
  if (r.status != "COMPLETED" || r.run_id.empty()) return false;
  const fs::path run_json = fs::path(o.results_dir) / plan.experiment / r.run_id / "run.json";
  try {
    return json::parse(read_text(run_json)).value("status", "") == "COMPLETED";
  } catch (const std::exception&) {
    return false;
  }
}

// --- the summary ------------------------------------------------------------------------------

struct PlotRequest {
  std::size_t axis = 0;
  std::string headline;
};

void write_summary(const Plan& plan, const std::map<std::string, Record>& records,
                   const std::vector<PlotRequest>& plots) {
  const std::size_t P = plan.points.size();
  std::vector<std::string> ids, status, run_ids, errors;
  std::vector<std::int64_t> index, exit_codes;
  std::vector<double> seconds;
  std::size_t completed = 0, failed = 0;
  std::vector<const Record*> rec(P, nullptr);
  static const Record pending;
  for (std::size_t i = 0; i < P; ++i) {
    const auto it = records.find(plan.points[i].id);
    rec[i] = it == records.end() ? &pending : &it->second;
    const Record& r = *rec[i];
    ids.push_back(plan.points[i].id);
    index.push_back(static_cast<std::int64_t>(i));
    status.push_back(r.status);
    run_ids.push_back(r.run_id);
    errors.push_back(r.error);
    exit_codes.push_back(r.exit_code);
    seconds.push_back(r.seconds);
    completed += r.status == "COMPLETED";
    failed += r.status == "FAILED";
  }
  const std::size_t remaining = P - completed - failed;
  const auto headline = [&](std::size_t i, const std::string& name) {
    const auto it = rec[i]->headlines.find(name);
    return rec[i]->status == "COMPLETED" && it != rec[i]->headlines.end() ? it->second : kNaN;
  };

  io::H5ResultWriter h5((plan.dir / "sweep.h5").string());
  h5.attr("/", "sweep_id", plan.id);
  h5.attr("/", "experiment", plan.experiment);
  h5.attr("/", "config", plan.config_path);
  h5.attr("/", "config_sha256", plan.config_sha256);
  h5.attr("/", "base_config", plan.base_config);
  h5.attr("/", "points", static_cast<std::int64_t>(P));
  h5.attr("/", "completed", static_cast<std::int64_t>(completed));
  h5.attr("/", "failed", static_cast<std::int64_t>(failed));
  h5.attr("/", "pending", static_cast<std::int64_t>(remaining));
  h5.attr("/", "updated_utc", utc_now_iso8601());
  std::vector<std::string> axis_keys;
  for (const auto& a : plan.axes) axis_keys.push_back(a.key);
  h5.write("/axes", axis_keys, {"1", "the swept keys, in grid order (the last varies fastest)"});
  h5.write("/points/index", index, {"1", "index of the point in grid order"});
  h5.write("/points/id", ids, {"1", "point id (points/<id>.json in the sweep directory)"});
  h5.write("/points/status", status, {"1", "COMPLETED, FAILED or PENDING (not run yet, or killed)"});
  h5.write("/points/run_id", run_ids, {"1", "the point's run directory under results/<experiment>/ (empty: none)"});
  h5.write("/points/exit_code", exit_codes, {"1", "exit code of the point's run (-1: pending)"});
  h5.write("/points/error", errors, {"1", "the one-line error of a failed point (empty otherwise)"});
  h5.write("/points/seconds", seconds, {"s", "wall time of the point's run (NaN: pending)"});
  for (std::size_t a = 0; a < plan.axes.size(); ++a) {
    const KeyDecl& d = *plan.decls[a];
    const std::string path = "/parameters/" + d.name;
    const io::DatasetInfo info{"1", fmt::format("value of {} at each point ({})", d.name, type_name(d.type))};
    if (d.type == KeyType::integer) {
      std::vector<std::int64_t> v;
      for (const auto& p : plan.points) v.push_back(std::stoll(trim(p.values[a])));
      h5.write(path, v, info);
    } else if (d.type == KeyType::real) {
      std::vector<double> v;
      for (const auto& p : plan.points) v.push_back(std::stod(trim(p.values[a])));
      h5.write(path, v, info);
    } else {
      std::vector<std::string> v;
      for (const auto& p : plan.points) v.push_back(p.values[a]);
      h5.write(path, v, info);
    }
  }
  for (const auto& hl : plan.headlines) {
    std::vector<double> v;
    for (std::size_t i = 0; i < P; ++i) v.push_back(headline(i, hl.name));
    const std::string path = "/headlines/" + hl.name;
    h5.write(path, v, {"1", fmt::format("{} (from {}; NaN: not completed or absent)", hl.description, hl.source)});
    h5.attr(path, "source", hl.source);
  }
  h5.commit();

  report::Markdown md;
  md.heading(1, fmt::format("Sweep {} — {}", plan.id, plan.experiment));
  md.paragraph(
      fmt::format("Config {} (sha256 `{}`), {} points: {} completed, {} failed, {} pending; updated {}. "
                  "Running the same command again skips the completed points and runs the others; "
                  "each point is an ordinary run in `results/{}/<run>/`.",
                  report::literal(plan.config_path), plan.config_sha256.substr(0, 12), P, completed, failed, remaining,
                  utc_now_iso8601(), plan.experiment));
  std::vector<std::vector<std::string>> axis_rows;
  for (const auto& a : plan.axes) {
    std::string vals;
    for (const auto& v : a.values) vals += (vals.empty() ? "" : "; ") + v;
    axis_rows.push_back({a.key, type_name(find_decl(plan, a.key)->type), vals});
  }
  md.table({"swept key", "type", "values (grid order)"}, axis_rows);
  std::vector<std::string> header = {"point"};
  for (const auto& a : plan.axes) header.push_back(a.key);
  header.push_back("status");
  header.push_back("run");
  for (const auto& hl : plan.headlines) header.push_back(hl.name);
  header.push_back("seconds");
  header.push_back("error");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < P; ++i) {
    std::vector<std::string> row = {plan.points[i].id};
    for (const auto& v : plan.points[i].values) row.push_back(v);
    row.push_back(rec[i]->status);
    row.push_back(rec[i]->run_id);
    for (const auto& hl : plan.headlines) {
      const double v = headline(i, hl.name);
      row.push_back(std::isfinite(v) ? report::num(v) : "");
    }
    row.push_back(std::isfinite(rec[i]->seconds) ? fmt::format("{:.2f}", rec[i]->seconds) : "");
    row.push_back(rec[i]->error);
    rows.push_back(std::move(row));
  }
  md.table(header, rows);
  if (!plan.headlines.empty()) {
    std::vector<std::vector<std::string>> hrows;
    for (const auto& hl : plan.headlines) hrows.push_back({hl.name, hl.source, hl.description});
    md.heading(2, "Headline scalars");
    md.table({"headline", "read from results.h5", "meaning"}, hrows);
  }
  report::Plotter plotter(plan.dir.string(), plan.plots_enabled);
  for (const auto& req : plots) {
    const Axis& axis = plan.axes[req.axis];
    // One series per combination of the other axes' values.
    std::map<std::string, report::Series> series;
    std::vector<std::string> order;
    for (std::size_t i = 0; i < P; ++i) {
      const double y = headline(i, req.headline);
      if (!std::isfinite(y)) continue;
      std::string label;
      for (std::size_t a = 0; a < plan.axes.size(); ++a)
        if (a != req.axis)
          label += fmt::format("{}{}={}", label.empty() ? "" : ", ", plan.axes[a].key, plan.points[i].values[a]);
      if (label.empty()) label = req.headline;
      if (!series.count(label)) {
        order.push_back(label);
        series[label] = report::Series{label, {}, {}, "linespoints"};
      }
      series[label].x.push_back(std::stod(trim(plan.points[i].values[req.axis])));
      series[label].y.push_back(y);
    }
    const std::string caption = fmt::format("{} against {}", req.headline, axis.key);
    if (order.empty()) {
      md.paragraph(report::literal(caption) + ": no completed point has a value yet.");
      continue;
    }
    report::PlotSpec spec;
    spec.title = fmt::format("sweep {}: {}", plan.id, caption);
    spec.xlabel = axis.key;
    spec.ylabel = req.headline;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& label : order) {
      auto s = series[label];
      std::vector<std::size_t> idx(s.x.size());
      for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = k;
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
      report::Series sorted{s.label, {}, {}, s.style};
      for (const auto k : idx) {
        sorted.x.push_back(s.x[k]);
        sorted.y.push_back(s.y[k]);
        lo = std::min(lo, s.x[k]);
        hi = std::max(hi, s.x[k]);
      }
      spec.series.push_back(std::move(sorted));
    }
    spec.logx = lo > 0 && hi / lo >= 100;
    const std::string file = plotter.line_plot(safe_name("plot_" + axis.key + "_" + req.headline), spec);
    plotter.embed(md, file, caption);
  }
  // Headlines a run did not write (a section the config turned off): counted, not repeated per point.
  std::map<std::string, std::pair<std::size_t, std::string>> notes;
  for (std::size_t i = 0; i < P; ++i)
    for (const auto& n : rec[i]->notes) {
      auto& [count, first] = notes[n];
      if (count++ == 0) first = plan.points[i].id;
    }
  if (!notes.empty()) {
    md.heading(2, "Notes");
    for (const auto& [n, c] : notes)
      md.bullet(
          report::literal(fmt::format("{} (at {} point{}, first {})", n, c.first, c.first == 1 ? "" : "s", c.second)));
  }
  write_file_atomic((plan.dir / "SUMMARY.md").string(), md.text());
}

}  // namespace

// --- grid -------------------------------------------------------------------------------------

Axis parse_axis(const std::string& arg) {
  const auto eq = arg.find('=');
  Axis a;
  a.key = eq == std::string::npos ? "" : trim(arg.substr(0, eq));
  if (eq == std::string::npos || a.key.empty() || a.key.find('.') == std::string::npos)
    throw Error(Exit::usage, fmt::format("--sweep: malformed (got '{}', expected section.key=v1,v2,...)", arg));
  const std::string rest = arg.substr(eq + 1);
  a.values = split(rest, rest.find(';') != std::string::npos ? ';' : ',');
  if (trim(rest).empty())
    throw Error(Exit::usage, fmt::format("--sweep {}: no values (got '{}', expected {}=v1,v2,...)", a.key, arg, a.key));
  return a;
}

void validate_axes(const std::vector<Axis>& axes, const std::vector<KeyDecl>& keys) {
  std::vector<std::string> problems, names;
  for (const auto& k : keys) names.push_back(k.name);
  std::set<std::string> seen;
  for (const auto& a : axes) {
    const KeyDecl* d = find_key(keys, a.key);
    if (!d) {
      const std::string near = nearest_key(a.key, names);
      problems.push_back(fmt::format("--sweep {}: unknown key{}", a.key,
                                     near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
      continue;
    }
    if (!seen.insert(a.key).second) {
      problems.push_back(fmt::format("--sweep {}: swept twice (give all its values in one --sweep)", a.key));
      continue;
    }
    if (d->name == "experiment.name") {
      problems.push_back("--sweep experiment.name: cannot be swept (one sweep runs one experiment)");
      continue;
    }
    std::set<std::string> values;
    for (const auto& v : a.values) {
      if (v.empty()) {
        problems.push_back(fmt::format("--sweep {}: empty value in the list (got '{}')", a.key, v));
      } else if (auto err = check_value(*d, v)) {
        problems.push_back(fmt::format("--sweep {}: {}", a.key, *err));
      } else if (!values.insert(v).second) {
        problems.push_back(fmt::format("--sweep {}: value given twice (got '{}')", a.key, v));
      }
    }
  }
  if (!problems.empty()) throw ConfigError(problems);
}

std::vector<Point> expand(const std::vector<Axis>& axes) {
  std::size_t total = axes.empty() ? 0 : 1;
  for (const auto& a : axes) total *= a.values.size();
  const std::size_t width = std::to_string(total > 0 ? total - 1 : 0).size();
  std::vector<Point> out;
  out.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    Point p;
    p.index = i;
    p.id = fmt::format("p{:0{}}", i, width);
    p.values.resize(axes.size());
    std::size_t rest = i;
    for (std::size_t a = axes.size(); a-- > 0;) {  // the last axis varies fastest
      p.values[a] = axes[a].values[rest % axes[a].values.size()];
      rest /= axes[a].values.size();
    }
    out.push_back(std::move(p));
  }
  return out;
}

// --- shares -----------------------------------------------------------------------------------

namespace {
std::optional<long long> to_int(const std::string& s) {
  const std::string t = trim(s);
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  return v;
}
}  // namespace

Share parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto i = slash == std::string::npos ? std::nullopt : to_int(text.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : to_int(text.substr(slash + 1));
  if (!i || !n || *n < 1 || *i < 1 || *i > *n)
    throw Error(Exit::usage, fmt::format("--shard: malformed (got '{}', expected I/N with 1 ≤ I ≤ N)", text));
  return {static_cast<std::size_t>(*i - 1), static_cast<std::size_t>(*n)};
}

std::optional<Share> shard_from_env(const std::function<const char*(const char*)>& getenv) {
  if (!getenv) return std::nullopt;
  const char* count = getenv("SLURM_ARRAY_TASK_COUNT");
  if (!count) return std::nullopt;
  const auto get = [&](const char* name, long long fallback) -> long long {
    const char* v = getenv(name);
    if (!v) return fallback;
    const auto x = to_int(v);
    if (!x) throw Error(Exit::usage, fmt::format("{}: not an integer (got '{}')", name, v));
    return *x;
  };
  const long long n = get("SLURM_ARRAY_TASK_COUNT", 0), id = get("SLURM_ARRAY_TASK_ID", -1),
                  min = get("SLURM_ARRAY_TASK_MIN", 0), step = get("SLURM_ARRAY_TASK_STEP", 1);
  if (!getenv("SLURM_ARRAY_TASK_ID"))
    throw Error(Exit::usage, "SLURM_ARRAY_TASK_COUNT is set but SLURM_ARRAY_TASK_ID is not (or pass --shard I/N)");
  if (n < 1 || step < 1 || id < min || (id - min) % step != 0 || (id - min) / step >= n)
    throw Error(Exit::usage,
                fmt::format("Slurm job array: task {} is outside the array (got SLURM_ARRAY_TASK_ID={}, _MIN={}, "
                            "_STEP={}, _COUNT={}; expected MIN + k·STEP with 0 ≤ k < COUNT; or pass --shard I/N)",
                            id, id, min, step, n));
  return Share{static_cast<std::size_t>((id - min) / step), static_cast<std::size_t>(n)};
}

Share split(Share share, int rank, int size) {
  return {share.index + static_cast<std::size_t>(rank) * share.count, share.count * static_cast<std::size_t>(size)};
}

// --- headlines --------------------------------------------------------------------------------

double read_headline(const io::H5ResultReader& r, const std::string& source) {
  const auto bad = [&](const std::string& what) -> double {
    throw Error(Exit::data, fmt::format("headline {}: {}", source, what));
  };
  for (const char* fn : {"mean", "min", "max", "sum"}) {
    const std::string open = std::string(fn) + "(";
    if (source.starts_with(open) && source.ends_with(")")) {
      const std::string path = source.substr(open.size(), source.size() - open.size() - 1);
      if (!r.exists(path)) return bad("no such dataset");
      const auto v = r.read_doubles(path);
      if (v.empty()) return bad("empty dataset");
      double acc = std::string(fn) == "min" ? v[0] : std::string(fn) == "max" ? v[0] : 0.0;
      for (const double x : v) {
        if (std::string(fn) == "min")
          acc = std::isnan(x) ? x : std::min(acc, x);
        else if (std::string(fn) == "max")
          acc = std::isnan(x) ? x : std::max(acc, x);
        else
          acc += x;
        if (std::isnan(acc)) return acc;
      }
      return std::string(fn) == "mean" ? acc / static_cast<double>(v.size()) : acc;
    }
  }
  if (const auto at = source.find('@'); at != std::string::npos) {
    const std::string object = source.substr(0, at), name = source.substr(at + 1);
    if (!r.exists(object)) return bad("no such object");
    return r.attr_double(object, name);
  }
  std::string path = source;
  std::optional<long long> index;
  if (source.ends_with("]")) {
    const auto lb = source.rfind('[');
    if (lb == std::string::npos) return bad("malformed (expected /path[i])");
    index = to_int(source.substr(lb + 1, source.size() - lb - 2));
    if (!index) return bad("malformed index (expected an integer)");
    path = source.substr(0, lb);
  }
  if (!r.exists(path)) return bad("no such dataset");
  const auto v = r.read_doubles(path);
  if (!index) {
    if (v.size() != 1) return bad(fmt::format("not a single value ({} elements; give an index)", v.size()));
    return v[0];
  }
  const long long n = static_cast<long long>(v.size()), i = *index < 0 ? n + *index : *index;
  if (i < 0 || i >= n) return bad(fmt::format("index out of range (got {}, expected {} elements)", *index, n));
  return v[static_cast<std::size_t>(i)];
}

// --- the sweep --------------------------------------------------------------------------------

Outcome run(const Registry& registry, const HeadlineTable& headline_table, const Options& o) {
  if (o.sweeps.empty()) throw Error(Exit::usage, "--sweep: no axis given");
  // The job's communicator, copied: comm::Alone makes world() this process alone during each point.
  const comm::Comm job = comm::world();
  Plan plan;
  plan.config_path = o.run.config_path;
  plan.sets = o.run.sets;
  plan.seed = o.run.seed ? std::to_string(*o.run.seed) : "";
  for (const auto& s : o.sweeps) plan.axes.push_back(parse_axis(s));

  // The declared keys, from the experiment named by the base config; when the base config cannot
  // name one, the runner's own validation says why (exit 78).
  std::vector<std::string> problems;
  RawConfig raw = read_ini(o.run.config_path, problems);
  apply_overrides(raw, o.run.sets, problems);
  const auto name_it = raw.entries.find("experiment.name");
  std::unique_ptr<Experiment> exp =
      name_it == raw.entries.end() ? nullptr : make_experiment(registry, name_it->second.value);
  if (!problems.empty() || !exp) {
    check_config(registry, o.run);  // throws the usual ConfigError
    throw ConfigError(problems);
  }
  plan.experiment = exp->name();
  std::vector<KeyDecl> keys = pipeline_keys(exp->embeddings_stage());
  for (const auto& k : exp->keys()) keys.push_back(k);
  validate_axes(plan.axes, keys);
  for (const auto& a : plan.axes) {
    plan.decls.push_back(find_key(keys, a.key));
    for (const auto& s : o.run.sets)
      if (trim(s.substr(0, s.find('='))) == a.key)
        problems.push_back(fmt::format("--sweep {}: also given by --set (got '{}'; drop one)", a.key, s));
  }
  if (!problems.empty()) throw ConfigError(problems);
  plan.points = expand(plan.axes);
  if (const auto it = headline_table.find(plan.experiment); it != headline_table.end()) plan.headlines = it->second;

  // --sweep-plot key:headline, or by default the first headline against the first numeric axis.
  std::vector<PlotRequest> plots;
  for (const auto& spec : o.plots) {
    const auto colon = spec.find(':');
    const std::string key = colon == std::string::npos ? "" : trim(spec.substr(0, colon)),
                      hl = colon == std::string::npos ? "" : trim(spec.substr(colon + 1));
    std::string axes_list, headline_list;
    for (std::size_t a = 0; a < plan.axes.size(); ++a)
      if (numeric(plan.decls[a]->type)) axes_list += (axes_list.empty() ? "" : "|") + plan.axes[a].key;
    for (const auto& h : plan.headlines) headline_list += (headline_list.empty() ? "" : "|") + h.name;
    if (colon == std::string::npos)
      throw Error(Exit::usage, fmt::format("--sweep-plot: malformed (got '{}', expected key:headline)", spec));
    std::optional<std::size_t> axis;
    for (std::size_t a = 0; a < plan.axes.size(); ++a)
      if (plan.axes[a].key == key && numeric(plan.decls[a]->type)) axis = a;
    if (!axis)
      throw Error(Exit::usage, fmt::format("--sweep-plot {}: not a numeric swept key (got '{}', expected one of {})",
                                           spec, key, axes_list.empty() ? "(none)" : axes_list));
    if (std::none_of(plan.headlines.begin(), plan.headlines.end(), [&](const Headline& h) { return h.name == hl; }))
      throw Error(Exit::usage,
                  fmt::format("--sweep-plot {}: unknown headline of {} (got '{}', expected one of {})", spec,
                              plan.experiment, hl, headline_list.empty() ? "(none)" : headline_list));
    plots.push_back({*axis, hl});
  }
  if (o.plots.empty() && !plan.headlines.empty())
    for (std::size_t a = 0; a < plan.axes.size(); ++a)
      if (numeric(plan.decls[a]->type)) {
        plots.push_back({a, plan.headlines.front().name});
        break;
      }

  // Every point validated (keys, cross-key rules, inputs, the memory guard) before any runs.
  std::vector<std::vector<std::string>> point_problems;
  for (const auto& p : plan.points) {
    RunOptions po = o.run;
    for (std::size_t a = 0; a < plan.axes.size(); ++a) po.sets.push_back(plan.axes[a].key + "=" + p.values[a]);
    try {
      check_config(registry, po);
    } catch (const ConfigError& e) {
      point_problems.push_back(e.problems());
      for (const auto& line : e.problems())
        problems.push_back(fmt::format("sweep point {} ({}): {}", p.id, point_label(plan, p), line));
    }
  }
  if (!problems.empty()) {
    // A problem every point shares is the base config's: said once, without a point.
    std::vector<std::string> shared;
    if (point_problems.size() == plan.points.size())
      for (const auto& line : point_problems.front())
        if (std::all_of(point_problems.begin(), point_problems.end(), [&](const std::vector<std::string>& v) {
              return std::find(v.begin(), v.end(), line) != v.end();
            }))
          shared.push_back(line);
    std::vector<std::string> out = shared;
    for (const auto& line : problems)
      if (std::none_of(shared.begin(), shared.end(), [&](const std::string& s) { return line.ends_with(": " + s); }))
        out.push_back(line);
    throw ConfigError(out);
  }

  // The id and the directory.
  plan.config_sha256 = sha256_hex(raw.text);
  std::vector<KeyDecl> fixed;
  for (const auto& k : keys)
    if (std::none_of(plan.axes.begin(), plan.axes.end(), [&](const Axis& a) { return a.key == k.name; }))
      fixed.push_back(k);
  plan.base_config = render_ini(fixed, raw);
  if (const auto pl = raw.entries.find("report.plots"); pl != raw.entries.end()) {
    bool b = true;
    KeyDecl d;
    if (!parse_value(d, pl->second.value, b)) plan.plots_enabled = b;
  }
  plan.id = sweep_id(plan);
  plan.dir = fs::path(o.run.results_dir) / plan.experiment / ("sweep-" + plan.id);

  Share share{0, 1};
  if (o.shard)
    share = parse_shard(*o.shard);
  else if (auto env = shard_from_env(o.getenv))
    share = *env;

  const Share mine = split(share, job.rank(), job.size());  // this rank's points of the share
  Outcome out;
  out.points = plan.points.size();
  if (o.run.dry_run) {
    if (!job.root()) return out;
    fmt::print("# sweep {} of {} ({} points, share {}/{}): {}\n", plan.id, plan.experiment, plan.points.size(),
               share.index + 1, share.count, plan.dir.string());
    const auto records = read_records(plan);
    for (const auto& p : plan.points) {
      const auto it = records.find(p.id);
      fmt::print("{}  {}  {}{}{}\n", p.id, point_label(plan, p), it == records.end() ? "PENDING" : it->second.status,
                 share.has(p.index) ? "" : "  (another share)",
                 job.distributed() && share.has(p.index)
                     ? fmt::format("  (rank {})", (p.index / share.count) % static_cast<std::size_t>(job.size()))
                     : "");
    }
    std::fflush(stdout);
    return out;
  }

  // The sweep directory and its definition (the same bytes from every shard and rank); a failure
  // on any rank ends every rank with the same message.
  job.agree([&] {
    std::error_code ec;
    if (fs::exists(o.run.results_dir, ec) && !fs::is_directory(o.run.results_dir, ec))
      fail(Exit::cant_create, o.run.results_dir, "", "results path is not a directory");
    fs::create_directories(plan.dir / "points", ec);
    if (ec || !fs::is_directory(plan.dir / "points"))
      fail(Exit::cant_create, plan.dir.string(), "", "cannot create the sweep directory: " + ec.message());
    {
      const std::string def = plan_json(plan).dump(2) + "\n";
      const fs::path def_path = plan.dir / "sweep.json";
      FileLock lock(plan.dir / ".lock");
      if (!fs::exists(def_path, ec)) {
        write_file_atomic(def_path.string(), def);
      } else if (read_text(def_path) != def) {
        fail(Exit::cant_create, def_path.string(), "",
             "a different sweep has this id (sweep.json differs; move the directory away)");
      }
    }
  });

  const std::string host = hostname_string();
  const auto before = read_records(plan);
  const std::string who = job.distributed() ? fmt::format(" rank {}", job.rank()) : "";
  json ran_here = json::object();  // point id → record, for rank 0's merge
  for (const auto& p : plan.points) {
    if (!mine.has(p.index)) continue;
    if (const auto it = before.find(p.id); it != before.end() && still_completed(o.run, plan, it->second)) {
      ++out.skipped;
      ++out.completed;
      if (!o.run.quiet)
        fmt::print("sweep {}{}: {} {}: COMPLETED before, skipped\n", plan.id, who, p.id, point_label(plan, p));
      continue;
    }
    RunOptions po = o.run;
    for (std::size_t a = 0; a < plan.axes.size(); ++a) po.sets.push_back(plan.axes[a].key + "=" + p.values[a]);
    std::string run_dir;
    po.on_run_dir = [&](const std::string& d) { run_dir = d; };
    Record r;
    r.host = host;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const comm::Alone alone;  // the point runs whole on this rank, as a serial run
      run_dir = experiment::run(registry, po).run_dir;
      r.status = "COMPLETED";
      r.exit_code = 0;
      io::H5ResultReader h5((fs::path(run_dir) / "results.h5").string());
      for (const auto& hl : plan.headlines) {
        try {
          r.headlines[hl.name] = read_headline(h5, hl.source);
        } catch (const Error& e) {
          r.headlines[hl.name] = kNaN;
          r.notes.push_back(fmt::format("{}: not read: {}", hl.name, e.what()));
        }
      }
    } catch (const ConfigError& e) {
      r.status = "FAILED";
      r.exit_code = e.exit_code();
      std::string all;
      for (const auto& line : e.problems()) all += (all.empty() ? "" : "; ") + line;
      r.error = all;
    } catch (const Error& e) {
      r.status = "FAILED";
      r.exit_code = e.exit_code();
      r.error = e.what();
    } catch (const std::exception& e) {
      r.status = "FAILED";
      r.exit_code = 70;
      r.error = std::string("internal: ") + e.what();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.finished = utc_now_iso8601();
    r.run_id = run_dir.empty() ? "" : fs::path(run_dir).filename().string();
    const json rj = record_json(plan, p, r);
    write_file_atomic(record_path(plan, p).string(), rj.dump(2) + "\n");
    ran_here[p.id] = rj;
    ++out.ran;
    if (r.status == "COMPLETED") {
      ++out.completed;
    } else {
      ++out.failed;
      if (out.exit_code == 0) out.exit_code = r.exit_code;
    }
    if (!o.run.quiet)
      fmt::print("sweep {}{}: {} {}: {}{} ({:.2f} s){}\n", plan.id, who, p.id, point_label(plan, p), r.status,
                 r.run_id.empty() ? "" : " run " + r.run_id, r.seconds, r.error.empty() ? "" : ": " + r.error);
    std::fflush(stdout);
  }

  // The merge: every record present, under the lock, so the last shard to finish writes the full
  // table. Under mpirun the ranks' records come to rank 0 by a gather (no reliance on another node's
  // view of the shared file system), which merges them over the records on disk.
  std::map<std::string, Record> gathered;
  if (job.distributed()) {
    json mine_json = {{"records", ran_here},
                      {"ran", out.ran},
                      {"completed", out.completed},
                      {"failed", out.failed},
                      {"skipped", out.skipped}};
    const std::string text = mine_json.dump();
    const auto all = job.gather(comm::Bytes(text.begin(), text.end()), 0);
    if (job.root()) {
      out = Outcome{};
      out.points = plan.points.size();
      for (const auto& b : all) {
        const auto j = json::parse(std::string(b.begin(), b.end()));
        for (const auto& [id, rj] : j["records"].items())
          if (auto r = parse_record(rj.dump())) gathered[id] = *r;
        out.ran += j["ran"].get<std::size_t>();
        out.completed += j["completed"].get<std::size_t>();
        out.failed += j["failed"].get<std::size_t>();
        out.skipped += j["skipped"].get<std::size_t>();
      }
      for (const auto& p : plan.points)  // the first failure in grid order, over every rank
        if (const auto it = gathered.find(p.id); it != gathered.end() && it->second.status == "FAILED") {
          out.exit_code = it->second.exit_code;
          break;
        }
    }
  }
  if (job.root()) {
    FileLock lock(plan.dir / ".lock");
    auto records = read_records(plan);
    for (const auto& [id, r] : gathered) records[id] = r;
    write_summary(plan, records, plots);
  }
  out.dir = plan.dir.string();
  return out;
}

}  // namespace embedlab::experiment::sweep

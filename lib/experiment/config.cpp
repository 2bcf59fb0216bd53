#include "experiment/config.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace embedlab::experiment {

namespace po = boost::program_options;

std::string type_name(KeyType t) {
  switch (t) {
    case KeyType::integer:
      return "integer";
    case KeyType::real:
      return "real";
    case KeyType::boolean:
      return "bool";
    case KeyType::string:
      return "string";
    case KeyType::path:
      return "path";
    case KeyType::int_list:
      return "list of integers";
    case KeyType::real_list:
      return "list of reals";
    case KeyType::string_list:
      return "list of strings";
  }
  return "?";
}

std::string KeyDecl::constraint() const {
  std::string out;
  if (!allowed.empty()) {
    out = "one of ";
    for (std::size_t i = 0; i < allowed.size(); ++i) out += (i ? "|" : "") + allowed[i];
  }
  if (lo && hi)
    out += fmt::format("{} ≤ x ≤ {}", *lo, *hi);
  else if (lo)
    out += fmt::format("x ≥ {}", *lo);
  else if (hi)
    out += fmt::format("x ≤ {}", *hi);
  if (!empty_list_ok) out += out.empty() ? "non-empty" : ", non-empty";
  return out;
}

namespace {

std::string join_problems(const std::vector<std::string>& p) {
  std::string out;
  for (std::size_t i = 0; i < p.size(); ++i) out += (i ? "\n" : "") + p[i];
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (trim(text).empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(trim(item));
  return out;
}

std::optional<std::string> check_range(const KeyDecl& d, double v, const std::string& text) {
  if ((d.lo && v < *d.lo) || (d.hi && v > *d.hi))
    return fmt::format("value out of range (got {}, expected {})", text, d.constraint());
  return std::nullopt;
}

std::optional<std::string> parse_int(const KeyDecl& d, const std::string& raw, std::int64_t& out) {
  const std::string text = trim(raw);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return fmt::format("wrong type (got '{}', expected an integer)", text);
  if (auto e = check_range(d, static_cast<double>(v), text)) return e;
  out = v;
  return std::nullopt;
}

std::optional<std::string> parse_real(const KeyDecl& d, const std::string& raw, double& out) {
  const std::string text = trim(raw);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
    return fmt::format("wrong type (got '{}', expected a finite real number)", text);
  if (auto e = check_range(d, v, text)) return e;
  out = v;
  return std::nullopt;
}

std::optional<std::string> check_allowed(const KeyDecl& d, const std::string& v) {
  if (d.allowed.empty() || std::find(d.allowed.begin(), d.allowed.end(), v) != d.allowed.end()) return std::nullopt;
  return fmt::format("value not allowed (got '{}', expected {})", v, d.constraint());
}

template <class E, class F>
std::optional<std::string> parse_list(const KeyDecl& d, const std::string& text, std::vector<E>& out, F one) {
  std::vector<E> v;
  for (const auto& item : split_list(text)) {
    E e{};
    if (auto err = one(item, e)) return err;
    v.push_back(std::move(e));
  }
  if (v.empty() && !d.empty_list_ok) return "empty list (expected at least one value)";
  out = std::move(v);
  return std::nullopt;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : Error(Exit::config, join_problems(problems)), problems_(std::move(problems)) {}

std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::int64_t& out) {
  return parse_int(d, text, out);
}
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, double& out) {
  return parse_real(d, text, out);
}
std::optional<std::string> parse_value(const KeyDecl&, const std::string& raw, bool& out) {
  const std::string t = trim(raw);
  if (t == "true" || t == "yes" || t == "on" || t == "1")
    out = true;
  else if (t == "false" || t == "no" || t == "off" || t == "0")
    out = false;
  else
    return fmt::format("wrong type (got '{}', expected true or false)", t);
  return std::nullopt;
}
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& raw, std::string& out) {
  const std::string t = trim(raw);
  if (auto e = check_allowed(d, t)) return e;
  out = t;
  return std::nullopt;
}
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<std::int64_t>& out) {
  return parse_list(d, text, out, [&](const std::string& item, std::int64_t& e) {
    auto err = parse_int(d, item, e);
    if (err && err->starts_with("wrong type"))
      return std::optional<std::string>(
          fmt::format("wrong type (got '{}', expected a comma-separated list of integers)", trim(text)));
    return err;
  });
}
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<double>& out) {
  return parse_list(d, text, out, [&](const std::string& item, double& e) {
    auto err = parse_real(d, item, e);
    if (err && err->starts_with("wrong type"))
      return std::optional<std::string>(
          fmt::format("wrong type (got '{}', expected a comma-separated list of reals)", trim(text)));
    return err;
  });
}
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<std::string>& out) {
  return parse_list(d, text, out, [&](const std::string& item, std::string& e) -> std::optional<std::string> {
    if (item.empty()) return fmt::format("empty item in list (got '{}')", trim(text));
    if (auto err = check_allowed(d, item)) return err;
    e = item;
    return std::nullopt;
  });
}

RawConfig read_ini(const std::string& path, std::vector<std::string>& problems) {
  RawConfig raw;
  raw.path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Exit::no_input, fmt::format("{}: cannot open config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  raw.text = ss.str();

  // Our line index: section, key → line; syntax the Boost parser would reject or silently mangle.
  std::map<std::string, int> line_of;
  std::map<std::string, std::string> scanned;  // first value of each key (used when Boost is not asked)
  std::string section;
  std::istringstream lines(raw.text);
  std::string line;
  int no = 0;
  bool syntax_ok = true;
  while (std::getline(lines, line)) {
    ++no;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t.back() != ']' || t.size() < 3) {
        problems.push_back(fmt::format("{}:{}: malformed section header (got '{}', expected [name])", path, no, t));
        syntax_ok = false;
      } else {
        section = trim(t.substr(1, t.size() - 2));
      }
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos) {
      problems.push_back(fmt::format("{}:{}: line without '=' (got '{}', expected key = value)", path, no, t));
      syntax_ok = false;
      continue;
    }
    const std::string key = (section.empty() ? "" : section + ".") + trim(t.substr(0, eq));
    const std::string value = t.substr(eq + 1);
    if (trim(t.substr(0, eq)).empty()) {
      problems.push_back(fmt::format("{}:{}: empty key name (got '{}')", path, no, t));
      syntax_ok = false;
      continue;
    }
    if (value.find('#') != std::string::npos) {
      problems.push_back(fmt::format(
          "{}:{}: {}: '#' inside a value (got '{}'; the INI reader would cut the value there, put comments on their "
          "own line)",
          path, no, key, trim(value)));
      syntax_ok = false;
      line_of.emplace(key, no);
      continue;
    }
    scanned.emplace(key, trim(value));
    if (auto [it, fresh] = line_of.emplace(key, no); !fresh) {
      problems.push_back(fmt::format("{}:{}: {}: duplicate key (first set on line {})", path, no, key, it->second));
      syntax_ok = false;
    }
  }
  if (!syntax_ok) {
    // Keep validating what did parse, so every problem of the file is reported at once.
    for (const auto& [key, value] : scanned) raw.entries[key] = {value, fmt::format("{}:{}", path, line_of[key])};
    return raw;
  }

  // The values themselves come from Boost.Program_options' INI parser.
  std::istringstream body(raw.text);
  try {
    const po::options_description none;
    const auto parsed = po::parse_config_file(body, none, /*allow_unregistered=*/true);
    for (const auto& opt : parsed.options) {
      const std::string value = opt.value.empty() ? std::string() : trim(opt.value.front());
      const auto it = line_of.find(opt.string_key);
      raw.entries[opt.string_key] = {value, fmt::format("{}:{}", path, it == line_of.end() ? 0 : it->second)};
    }
  } catch (const po::error& e) {
    problems.push_back(fmt::format("{}: {}", path, e.what()));
  }
  return raw;
}

void apply_overrides(RawConfig& raw, const std::vector<std::string>& sets, std::vector<std::string>& problems) {
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(s.substr(0, eq));
    if (eq == std::string::npos || key.empty() || key.find('.') == std::string::npos) {
      problems.push_back(fmt::format("--set: malformed override (got '{}', expected section.key=value)", s));
      continue;
    }
    raw.entries[key] = {trim(s.substr(eq + 1)), "--set"};
  }
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    // Compare whole keys and key names without the section, so a key in the wrong section is found.
    const auto tail = [](const std::string& k) { return k.substr(k.find('.') + 1); };
    const std::size_t dist = std::min(edit_distance(key, c), edit_distance(tail(key), tail(c)) + 1);
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  return best_d <= std::max<std::size_t>(3, key.size() / 3) ? best : std::string();
}

std::string render_ini(const std::vector<KeyDecl>& keys, const RawConfig& raw) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  std::vector<std::string> order;
  for (const auto& d : keys) {
    const auto dot = d.name.find('.');
    const std::string sec = d.name.substr(0, dot), name = d.name.substr(dot + 1);
    if (!sections.count(sec)) order.push_back(sec);
    const auto it = raw.entries.find(d.name);
    sections[sec].emplace_back(name, it != raw.entries.end() ? it->second.value : d.default_value);
  }
  std::string out;
  for (const auto& sec : order) {
    out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", sec);
    for (const auto& [k, v] : sections[sec]) out += fmt::format("{} = {}\n", k, v);
  }
  return out;
}

}  // namespace embedlab::experiment

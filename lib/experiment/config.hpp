#pragma once
// Declarative INI configs: each experiment declares its keys once (type, default, help, range or
// allowed set) in a Schema bound to its typed config struct; `--help-config` and the README table
// are generated from the same declaration. All problems are collected and reported at once.
#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::experiment {

enum class KeyType { integer, real, boolean, string, path, int_list, real_list, string_list };
std::string type_name(KeyType t);

struct KeyDecl {
  std::string name;  // "section.key"
  KeyType type = KeyType::string;
  std::string default_value;  // textual form; for a required key, empty
  std::string help;
  bool is_required = false;
  bool input_path = false;  // a path that must exist (checked by --dry-run and before running)
  std::vector<std::string> allowed;
  std::optional<double> lo, hi;  // inclusive bounds on numbers / list elements
  bool empty_list_ok = true;

  KeyDecl& required() {
    is_required = true;
    return *this;
  }
  KeyDecl& input() {
    input_path = true;
    return *this;
  }
  KeyDecl& min(double v) {
    lo = v;
    return *this;
  }
  KeyDecl& max(double v) {
    hi = v;
    return *this;
  }
  KeyDecl& range(double a, double b) {
    lo = a;
    hi = b;
    return *this;
  }
  KeyDecl& one_of(std::vector<std::string> v) {
    allowed = std::move(v);
    return *this;
  }
  KeyDecl& non_empty() {
    empty_list_ok = false;
    return *this;
  }
  std::string constraint() const;  // "1 ≤ x ≤ 10", "one of a|b", "" …
};

// The raw INI after syntax checks: "section.key" → value with its origin.
struct RawEntry {
  std::string value;
  std::string origin;  // "file.ini:12" or "--set"
};
struct RawConfig {
  std::string path;
  std::string text;  // verbatim
  std::map<std::string, RawEntry> entries;
};

// Collected problems; thrown once as a whole (exit 78), one line per problem.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Reads an INI file through Boost.Program_options plus a line index of our own (Boost reports no
// line numbers and truncates values at '#'). Syntax problems are appended to `problems`.
RawConfig read_ini(const std::string& path, std::vector<std::string>& problems);
// Applies `section.key=value` overrides (origin "--set").
void apply_overrides(RawConfig& raw, const std::vector<std::string>& sets, std::vector<std::string>& problems);

// Parsing of one textual value into a typed member, with the declaration's checks. Returns an
// error text ("wrong type (got 'abc', expected ...)") or nothing.
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::int64_t& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, double& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, bool& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::string& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<std::int64_t>& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<double>& out);
std::optional<std::string> parse_value(const KeyDecl& d, const std::string& text, std::vector<std::string>& out);

template <class M>
constexpr KeyType key_type_of() {
  if constexpr (std::is_same_v<M, std::int64_t>)
    return KeyType::integer;
  else if constexpr (std::is_same_v<M, double>)
    return KeyType::real;
  else if constexpr (std::is_same_v<M, bool>)
    return KeyType::boolean;
  else if constexpr (std::is_same_v<M, std::string>)
    return KeyType::string;
  else if constexpr (std::is_same_v<M, std::vector<std::int64_t>>)
    return KeyType::int_list;
  else if constexpr (std::is_same_v<M, std::vector<double>>)
    return KeyType::real_list;
  else {
    static_assert(std::is_same_v<M, std::vector<std::string>>, "unsupported config member type");
    return KeyType::string_list;
  }
}

// The keys of one config struct T, each bound to a member.
template <class T>
class Schema {
 public:
  template <class M>
  KeyDecl& key(std::string name, M T::*member, std::string default_value, std::string help) {
    KeyDecl d;
    d.name = std::move(name);
    d.type = key_type_of<M>();
    d.default_value = std::move(default_value);
    d.help = std::move(help);
    decls_.push_back(std::move(d));
    setters_.push_back([member](const KeyDecl& decl, T& cfg, const std::string& text) {
      return parse_value(decl, text, cfg.*member);
    });
    return decls_.back();
  }
  // A path key (type path, string member).
  KeyDecl& path(std::string name, std::string T::*member, std::string default_value, std::string help) {
    KeyDecl& d = key(std::move(name), member, std::move(default_value), std::move(help));
    d.type = KeyType::path;
    return d;
  }

  // A rule a key's type cannot express (the grammar of a list's items, a bound that depends on
  // another key): fn returns an error text or nothing. Checks run once every key is set, skip keys
  // that already failed to parse, and report like a type error (origin: key: text), so --dry-run
  // rejects the config before anything is loaded.
  void check(const std::string& name, std::function<std::optional<std::string>(const T&)> fn) {
    checks_.emplace_back(name, std::move(fn));
  }

  const std::vector<KeyDecl>& keys() const { return decls_; }

  // Fills `cfg` from defaults and `raw`; appends one problem per bad key. Consumed keys are
  // removed from `unused`.
  void apply(const RawConfig& raw, T& cfg, std::vector<std::string>& problems, std::vector<std::string>& unused) const {
    std::vector<std::string> failed;
    for (std::size_t i = 0; i < decls_.size(); ++i) {
      const KeyDecl& d = decls_[i];
      const auto it = raw.entries.find(d.name);
      std::erase(unused, d.name);
      const std::size_t before = problems.size();
      if (it == raw.entries.end()) {
        if (d.is_required)
          problems.push_back(fmt::format("{}: {}: missing required key ({})", raw.path, d.name, d.help));
        else if (auto err = setters_[i](d, cfg, d.default_value))
          problems.push_back(fmt::format("{}: {}: bad default: {}", raw.path, d.name, *err));
      } else if (auto err = setters_[i](d, cfg, it->second.value)) {
        problems.push_back(fmt::format("{}: {}: {}", it->second.origin, d.name, *err));
      }
      if (problems.size() != before) failed.push_back(d.name);
    }
    for (const auto& [name, fn] : checks_) {
      if (std::find(failed.begin(), failed.end(), name) != failed.end()) continue;
      if (auto err = fn(cfg)) {
        const auto it = raw.entries.find(name);
        problems.push_back(
            fmt::format("{}: {}: {}", it == raw.entries.end() ? raw.path : it->second.origin, name, *err));
      }
    }
  }

 private:
  std::vector<KeyDecl> decls_;
  std::vector<std::function<std::optional<std::string>(const KeyDecl&, T&, const std::string&)>> setters_;
  std::vector<std::pair<std::string, std::function<std::optional<std::string>(const T&)>>> checks_;
};

// The nearest declared key by edit distance (for "did you mean").
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);
// The resolved config as INI text (every declared key with its effective value).
std::string render_ini(const std::vector<KeyDecl>& keys, const RawConfig& raw);

}  // namespace embedlab::experiment

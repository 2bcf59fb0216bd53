#pragma once
// Strict JSON for every file format embedlab reads (safetensors headers, config.json, index files,
// npy headers, tokenizer files): valid UTF-8, no key twice in one object (nlohmann's own DOM parser
// would silently keep the last), and every failure one data error naming the file.
#include "core/utf8.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab {

// Parses JSON text into a DOM; a syntax error, invalid UTF-8 or a repeated key is a data error
// naming `file` and `where`.
nlohmann::json parse_json_strict(std::string_view text, const std::string& file, const std::string& where);
// The same, a repeated key keeping its last value.
nlohmann::json parse_json_lenient(std::string_view text, const std::string& file, const std::string& where);

// The SAX handler parse_json_strict runs: builds the DOM and refuses repeated keys (or, with
// `refuse_duplicates` false, keeps the last value as serde's maps do). A reader that
// takes some values over itself (a tokenizer's 128k-entry vocabulary, say) derives from it, handles
// those events and passes the others on; `depth()` is the number of open containers.
class JsonDomSax {
 public:
  JsonDomSax(std::string file, std::string where, bool refuse_duplicates = true)
      : file_(std::move(file)), where_(std::move(where)), refuse_duplicates_(refuse_duplicates) {}

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(std::int64_t v) { return add(v); }
  bool number_unsigned(std::uint64_t v) { return add(v); }
  bool number_float(double v, const std::string&) { return add(v); }
  bool string(std::string& v) { return add(std::move(v)); }
  bool binary(nlohmann::json::binary_t& v) { return add(std::move(v)); }
  bool start_object(std::size_t);
  bool key(std::string& k);
  bool end_object();
  bool start_array(std::size_t);
  bool end_array();
  [[noreturn]] bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e);

  std::size_t depth() const { return open_.size(); }
  const std::string& file() const { return file_; }
  // A data error naming the file and `where` (the root's place in the file, often "").
  [[noreturn]] void fail(const std::string& what) const;
  nlohmann::json take() { return std::move(root_); }
  // How many members replaced an earlier one of the same key (only without refuse_duplicates).
  std::size_t repeated_keys() const { return repeated_; }

 private:
  nlohmann::json* add(nlohmann::json&& v);

  std::string file_, where_;
  bool refuse_duplicates_;
  nlohmann::json root_;
  std::vector<nlohmann::json*> open_;  // the open containers, innermost last
  std::string key_;                    // the key of the next member of the innermost object
  std::size_t repeated_ = 0;
};

// Runs `sax` over `text` (checked as UTF-8 first), with strict syntax.
template <class Sax>
void sax_parse_strict(std::string_view text, Sax& sax) {
  if (const auto bad = invalid_utf8_offset(text); bad != std::string_view::npos)
    sax.fail("not valid UTF-8 (byte " + std::to_string(bad) + " of the JSON text)");
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
}

}  // namespace embedlab

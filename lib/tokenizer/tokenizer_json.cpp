#include "tokenizer/tokenizer_json.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "tokenizer/tokenizer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace embedlab::tok {

namespace {

// tokenizer.json into a DOM, except model.vocab and model.merges, whose entries go straight into
// `tables` (the DOM then holds them empty): Llama-3's 128k tokens and 280k merges would otherwise
// be 400k JSON values built only to be copied out. A repeated key keeps its last value, as serde's
// maps do.
class TokenizerSax : public JsonDomSax {
 public:
  TokenizerSax(const std::string& file, ModelTables& tables) : JsonDomSax(file, "", false), tables_(tables) {}

  bool null() { return zone_ == Zone::none ? JsonDomSax::null() : entry(nullptr); }
  bool boolean(bool v) { return zone_ == Zone::none ? JsonDomSax::boolean(v) : entry(v); }
  bool number_integer(std::int64_t v) {
    if (zone_ == Zone::vocab) return vocab_id(v);
    return zone_ == Zone::none ? JsonDomSax::number_integer(v) : entry(v);
  }
  bool number_unsigned(std::uint64_t v) {
    if (zone_ == Zone::vocab) return vocab_id(static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX)));
    return zone_ == Zone::none ? JsonDomSax::number_unsigned(v) : entry(v);
  }
  bool number_float(double v, const std::string& s) {
    return zone_ == Zone::none ? JsonDomSax::number_float(v, s) : entry(v);
  }
  bool string(std::string& v) {
    if (zone_ == Zone::merges) return merge_string(v);
    if (zone_ == Zone::pair) {
      pair_.push_back(std::move(v));
      return true;
    }
    return zone_ == Zone::none ? JsonDomSax::string(v) : entry(std::move(v));
  }
  bool binary(nlohmann::json::binary_t& v) { return zone_ == Zone::none ? JsonDomSax::binary(v) : entry(v); }
  bool key(std::string& k) {
    if (zone_ == Zone::vocab) {
      vocab_key_ = std::move(k);
      return true;
    }
    if (depth() <= 2) keys_[depth()] = k;
    return JsonDomSax::key(k);
  }
  bool start_object(std::size_t n) {
    if (zone_ != Zone::none) return entry(nlohmann::json::object());
    JsonDomSax::start_object(n);
    return opened("vocab", Zone::vocab, tables_.has_vocab);
  }
  bool start_array(std::size_t n) {
    if (zone_ == Zone::merges) {
      zone_ = Zone::pair;
      pair_ = nlohmann::json::array();
      return true;
    }
    if (zone_ != Zone::none) return entry(nlohmann::json::array());
    JsonDomSax::start_array(n);
    return opened("merges", Zone::merges, tables_.has_merges);
  }
  bool end_object() {
    if (zone_ == Zone::vocab) zone_ = Zone::none;
    return JsonDomSax::end_object();
  }
  bool end_array() {
    if (zone_ == Zone::pair) {
      const bool ok = pair_.size() == 2 && pair_[0].is_string() && pair_[1].is_string();
      if (!ok) merge_error(pair_.dump());
      tables_.merges.emplace_back(std::move(pair_[0].get_ref<std::string&>()),
                                  std::move(pair_[1].get_ref<std::string&>()));
      zone_ = Zone::merges;
      return true;
    }
    if (zone_ == Zone::merges) zone_ = Zone::none;
    return JsonDomSax::end_array();
  }

 private:
  enum class Zone { none, vocab, merges, pair };  // pair: inside a merge given as ["a", "b"]

  // A container was just opened. It has no key yet (so an array's elements never match a key of an
  // earlier object); when it is root.model.<key>, its entries are `zone`'s and go into the tables.
  bool opened(const char* key, Zone zone, bool& captured) {
    if (depth() < keys_.size()) keys_[depth()].clear();
    if (depth() == 3 && keys_[1] == "model" && keys_[2] == key) {
      zone_ = zone;
      captured = true;
    }
    return true;
  }
  bool vocab_id(std::int64_t id) {
    tables_.vocab.emplace_back(std::move(vocab_key_), id);
    return true;
  }
  // Any other value inside the vocabulary or the merges: the error naming the entry.
  bool entry(const nlohmann::json& v) {
    if (zone_ == Zone::vocab)
      data_error(file(), fmt::format("model.vocab[{}]", quote_bytes(vocab_key_)),
                 fmt::format("id is not an integer (got {})", v.is_structured() ? v.type_name() : v.dump()));
    if (zone_ == Zone::pair && !v.is_structured()) {
      pair_.push_back(v);
      return true;
    }
    merge_error(v.is_structured() ? v.type_name() : v.dump());
  }
  bool merge_string(const std::string& m) {
    const auto sp = m.find(' ');
    if (sp == std::string::npos)
      data_error(file(), fmt::format("model.merges[{}]", tables_.merges.size()),
                 fmt::format("expected \"a b\" (got {})", quote_bytes(m)));
    tables_.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    return true;
  }
  [[noreturn]] void merge_error(const std::string& got) const {
    data_error(file(), fmt::format("model.merges[{}]", tables_.merges.size()),
               fmt::format("expected \"a b\" or [\"a\", \"b\"] (got {})", got));
  }

  ModelTables& tables_;
  std::array<std::string, 3> keys_;  // keys_[d]: the key last read in the object at depth d
  Zone zone_ = Zone::none;
  std::string vocab_key_;
  nlohmann::json pair_;
};

// --- the fast reader -----------------------------------------------------------------------------

namespace od = simdjson::ondemand;

// Thrown when the fast reader meets anything it leaves to the exact one.
struct GiveUp {};

template <class T>
T get(simdjson::simdjson_result<T>&& r) {
  T v;
  if (std::move(r).get(v) != simdjson::SUCCESS) throw GiveUp{};
  return v;
}

// A value's own JSON text, parsed by nlohmann as the exact reader would (a repeated key keeps its
// last value); any failure gives up, so that the exact reader reports it with its position.
nlohmann::json value_json(od::value v, const std::string& file, bool& repeated_key) {
  std::string_view raw;
  switch (get(v.type())) {
    case od::json_type::object:
      raw = get(get(v.get_object()).raw_json());
      break;
    case od::json_type::array:
      raw = get(get(v.get_array()).raw_json());
      break;
    default:
      // Consumed by its own getter: the enclosing iteration then checks the separator after it
      // (skipping an unread scalar does not: `{"a": "b": 1}` would pass).
      raw = v.raw_json_token();
      switch (get(v.type())) {
        case od::json_type::string:
          get(v.get_string());
          break;
        case od::json_type::number:
          get(v.get_number());
          break;
        case od::json_type::boolean:
          get(v.get_bool());
          break;
        default:
          if (!get(v.is_null())) throw GiveUp{};
      }
  }
  try {
    JsonDomSax sax(file, "", false);
    sax_parse_strict(raw, sax);
    if (sax.repeated_keys()) repeated_key = true;
    return sax.take();
  } catch (const Error&) {
    throw GiveUp{};
  }
}

// Sets out[key] (a repeated key: the last value, noted).
void put(nlohmann::json& out, std::string&& key, nlohmann::json&& v, bool& repeated_key) {
  auto& o = out.get_ref<nlohmann::json::object_t&>();
  auto [it, inserted] = o.try_emplace(std::move(key), std::move(v));
  if (!inserted) {
    repeated_key = true;
    it->second = std::move(v);  // try_emplace left v alone
  }
}

void read_vocab_object(od::object vocab, ModelTables& tables) {
  tables.vocab.reserve(get(vocab.count_fields()));  // a pass over the structure, cheaper than regrowing
  for (auto f : vocab) {
    od::field field = get(std::move(f));
    const std::string_view key = get(field.unescaped_key());
    std::int64_t id;
    if (field.value().get_int64().get(id) != simdjson::SUCCESS) throw GiveUp{};  // float, string, …: its message
    tables.vocab.emplace_back(std::string(key), id);
  }
  tables.has_vocab = true;
}

void read_merges_array(od::array merges, ModelTables& tables) {
  tables.merges.reserve(get(merges.count_elements()));
  for (auto e : merges) {
    od::value v = get(std::move(e));
    if (get(v.type()) == od::json_type::string) {
      const std::string_view s = get(v.get_string());
      const auto sp = s.find(' ');
      if (sp == std::string_view::npos) throw GiveUp{};
      tables.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      continue;
    }
    if (get(v.type()) != od::json_type::array) throw GiveUp{};
    std::array<std::string, 2> pair;
    std::size_t n = 0;
    for (auto x : get(v.get_array())) {
      od::value xv = get(std::move(x));
      if (n == 2 || get(xv.type()) != od::json_type::string) throw GiveUp{};
      pair[n++] = std::string(get(xv.get_string()));
    }
    if (n != 2) throw GiveUp{};
    tables.merges.emplace_back(std::move(pair[0]), std::move(pair[1]));
  }
  tables.has_merges = true;
}

nlohmann::json read_model_object(od::object model, ModelTables& tables, const std::string& file, bool& repeated_key) {
  nlohmann::json out = nlohmann::json::object();
  bool vocab = false, merges = false;
  for (auto f : model) {
    od::field field = get(std::move(f));
    std::string key(get(field.unescaped_key()));
    od::value v = field.value();
    if (key == "vocab" || key == "merges") {
      bool& seen = key == "vocab" ? vocab : merges;
      if (seen) throw GiveUp{};  // given twice: the exact reader's rules
      seen = true;
      const auto type = get(v.type());
      if (key == "vocab" && type == od::json_type::object) {
        read_vocab_object(get(v.get_object()), tables);
        out[key] = nlohmann::json::object();
        continue;
      }
      if (key == "merges" && type == od::json_type::array) {
        read_merges_array(get(v.get_array()), tables);
        out[key] = nlohmann::json::array();
        continue;
      }
    }
    put(out, std::move(key), value_json(v, file, repeated_key), repeated_key);
  }
  return out;
}

bool read_fast(std::string_view text, std::size_t capacity, const std::string& file, TokenizerJson& out) {
  if (capacity < text.size() + simdjson::SIMDJSON_PADDING) return false;
  try {
    od::parser parser;
    od::document doc = get(parser.iterate(simdjson::padded_string_view(text.data(), text.size(), capacity)));
    od::object root = get(doc.get_object());
    nlohmann::json j = nlohmann::json::object();
    bool model = false;
    for (auto f : root) {
      od::field field = get(std::move(f));
      std::string key(get(field.unescaped_key()));
      od::value v = field.value();
      if (key == "model") {
        if (model) throw GiveUp{};
        model = true;
        if (get(v.type()) == od::json_type::object) {
          j[key] = read_model_object(get(v.get_object()), out.tables, file, out.repeated_key);
          continue;
        }
      }
      put(j, std::move(key), value_json(v, file, out.repeated_key), out.repeated_key);
    }
    const char* rest;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) throw GiveUp{};  // something after the root
    out.root = std::move(j);
    out.fast = true;
    return true;
  } catch (const GiveUp&) {
    out = TokenizerJson{};
    return false;
  }
}

}  // namespace

std::size_t tokenizer_json_padding() { return simdjson::SIMDJSON_PADDING; }

TokenizerJson read_tokenizer_json_exact(std::string_view text, const std::string& file) {
  TokenizerJson out;
  TokenizerSax sax(file, out.tables);
  sax_parse_strict(text, sax);
  out.repeated_key = sax.repeated_keys() > 0;
  out.root = sax.take();
  return out;
}

TokenizerJson read_tokenizer_json(std::string_view text, std::size_t capacity, const std::string& file) {
  TokenizerJson out;
  if (read_fast(text, capacity, file, out)) return out;
  return read_tokenizer_json_exact(text, file);
}

}  // namespace embedlab::tok

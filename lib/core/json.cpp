#include "core/json.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

namespace embedlab {

std::size_t invalid_utf8_offset(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string_view::npos;
}

void JsonDomSax::fail(const std::string& what) const { data_error(file_, where_, what); }

bool JsonDomSax::parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) {
  fail(fmt::format("not valid JSON ({})", e.what()));
}

nlohmann::json* JsonDomSax::add(nlohmann::json&& v) {
  if (open_.empty()) {
    root_ = std::move(v);
    return &root_;
  }
  nlohmann::json& parent = *open_.back();
  if (parent.is_array()) {
    auto& a = parent.get_ref<nlohmann::json::array_t&>();
    a.push_back(std::move(v));
    return &a.back();
  }
  auto& o = parent.get_ref<nlohmann::json::object_t&>();
  auto [it, inserted] = o.try_emplace(std::move(key_), std::move(v));
  if (!inserted) {
    if (refuse_duplicates_) fail(fmt::format("duplicate key '{}' in JSON", it->first));
    it->second = std::move(v);  // try_emplace left v alone
  }
  return &it->second;
}

bool JsonDomSax::start_object(std::size_t) {
  open_.push_back(add(nlohmann::json::object()));
  return true;
}

bool JsonDomSax::start_array(std::size_t) {
  open_.push_back(add(nlohmann::json::array()));
  return true;
}

bool JsonDomSax::key(std::string& k) {
  key_ = std::move(k);
  return true;
}

bool JsonDomSax::end_object() {
  open_.pop_back();
  return true;
}

bool JsonDomSax::end_array() {
  open_.pop_back();
  return true;
}

nlohmann::json parse_json_strict(std::string_view text, const std::string& file, const std::string& where) {
  JsonDomSax sax(file, where);
  sax_parse_strict(text, sax);
  return sax.take();
}

nlohmann::json parse_json_lenient(std::string_view text, const std::string& file, const std::string& where) {
  JsonDomSax sax(file, where, false);
  sax_parse_strict(text, sax);
  return sax.take();
}

}  // namespace embedlab

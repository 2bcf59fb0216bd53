#include "core/json.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

namespace embedlab {

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
    ++repeated_;
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

namespace {

nlohmann::json parse_dom(std::string_view text, const std::string& file, const std::string& where, bool strict) {
  JsonDomSax sax(file, where, strict);
  sax_parse_strict(text, sax);
  return sax.take();
}

}  // namespace

nlohmann::json parse_json_strict(std::string_view text, const std::string& file, const std::string& where) {
  return parse_dom(text, file, where, true);
}

nlohmann::json parse_json_lenient(std::string_view text, const std::string& file, const std::string& where) {
  return parse_dom(text, file, where, false);
}

}  // namespace embedlab

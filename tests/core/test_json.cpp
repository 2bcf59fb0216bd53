// core/json: the strict SAX-built DOM every reader uses, against nlohmann's own DOM parser.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/json.hpp"

#include <string>

namespace {

std::string error_of(const std::string& text, bool strict = true) {
  try {
    strict ? (void)embedlab::parse_json_strict(text, "f.json", "hdr")
           : (void)embedlab::parse_json_lenient(text, "f.json", "hdr");
  } catch (const embedlab::Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& frag) { return s.find(frag) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(dom_equals_nlohmanns_parse) {
  const std::string text =
      R"({"a": [1, -2, 3.5, "x", null, true, [], {}, [[{"b": {"c": [false]}}]]], "é": {"n": 18446744073709551615},)"
      R"( "z": {"y": [{"k": 1}, {"k": 2}]}})";
  BOOST_TEST(embedlab::parse_json_strict(text, "f.json", "") == nlohmann::json::parse(text));
  BOOST_TEST(embedlab::parse_json_strict("7", "f.json", "") == nlohmann::json(7));
  BOOST_TEST(embedlab::parse_json_strict(R"("s")", "f.json", "") == nlohmann::json("s"));
}

BOOST_AUTO_TEST_CASE(repeated_keys) {
  const std::string e = error_of(R"({"a": 1, "b": {"c": 1, "c": 2}})");
  BOOST_TEST(has(e, "f.json"));
  BOOST_TEST(has(e, "duplicate key 'c'"), e);
  BOOST_TEST(error_of(R"({"a": {"c": 1}, "b": {"c": 2}})").empty());  // the same key in two objects
  // Lenient: the last value wins, containers included, as serde's maps and Python's json do.
  const auto j = embedlab::parse_json_lenient(R"({"a": [1, 2], "b": 0, "a": {"x": [3]}})", "f.json", "");
  BOOST_TEST(j == nlohmann::json::parse(R"({"a": {"x": [3]}, "b": 0})"));
}

BOOST_AUTO_TEST_CASE(bad_text_is_one_line_error) {
  for (const std::string bad : {"{\"a\": ", "{\"a\": 1} x", "[1,]", "", "{'a': 1}", "[1] [2]"}) {
    const std::string e = error_of(bad);
    BOOST_TEST(has(e, "f.json"), bad);
    BOOST_TEST(has(e, "not valid JSON"), e);
    BOOST_TEST(e.find('\n') == std::string::npos, e);
  }
  const std::string e = error_of("{\"a\": \"\xC3\x28\"}");
  BOOST_TEST(has(e, "not valid UTF-8 (byte 7 of the JSON text)"), e);
  BOOST_TEST(has(error_of("[\"\xED\xA0\x80\"]"), "not valid UTF-8"));  // a surrogate
  BOOST_TEST(has(error_of("[\"\xC0\xAF\"]"), "not valid UTF-8"));      // an overlong '/'
}

BOOST_AUTO_TEST_SUITE_END()

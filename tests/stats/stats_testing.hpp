#pragma once
// The scipy/numpy reference values of tests/data/stats_reference.json (scripts/gen_stats_reference.py),
// shared by the stats, rsa and clustering tests.
#include <armadillo>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

namespace embedlab::test {

inline nlohmann::json stats_reference() {
  std::ifstream in(EMBEDLAB_SOURCE_DIR "/tests/data/stats_reference.json");
  BOOST_REQUIRE_MESSAGE(in, "tests/data/stats_reference.json missing (scripts/gen_stats_reference.py)");
  return nlohmann::json::parse(in);
}

// A JSON array of numbers as a vector.
inline arma::vec json_vec(const nlohmann::json& j) { return arma::vec(j.get<std::vector<double>>()); }

// A JSON list of rows as a matrix with the same rows (items_rows of scipy's layout: row = item).
inline arma::mat json_rows(const nlohmann::json& rows) {
  const auto r = rows.get<std::vector<std::vector<double>>>();
  arma::mat M(r.size(), r.empty() ? 0 : r[0].size());
  for (std::size_t i = 0; i < r.size(); ++i) M.row(i) = arma::rowvec(r[i]);
  return M;
}

}  // namespace embedlab::test

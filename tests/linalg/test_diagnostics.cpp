// The diagnostics of lib/linalg/diagnostics.hpp against the float64 NumPy reference written by
// scripts/gen_diagnostics_reference.py (tests/data/diagnostics_reference.json): the GloVe subset and
// a synthetic matrix with duplicate rows, power-of-two multiples (identical unit rows) and zero rows
// (dropped by normalize.bad_rows = exclude). Counts and neighbour lists must be equal; values agree
// to 1e-6 (the acceptance tolerance, Tol<float>::eps).
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/normalize.hpp"
#include "linalg/topk.hpp"
#include "naive.hpp"
#include "testing.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

using namespace embedlab;
using namespace embedlab::linalg;
using embedlab::test::Tol;
using nlohmann::json;

namespace {

constexpr double kTol = Tol<float>::eps;  // 1e-6, relative to max(1, |reference|)

const json& reference() {
  static const json j = [] {
    EMBEDLAB_FIXTURE(path, "diagnostics_reference.json");
    std::ifstream in(path);
    return json::parse(in);
  }();
  return j;
}

const json& ref_case(const std::string& name) {
  for (const auto& c : reference()["cases"])
    if (c["name"] == name) return c;
  BOOST_FAIL("no reference case " << name);
  return reference();
}

bool close(double a, const json& b, double tol = kTol) {
  if (b.is_null()) return std::isnan(a);
  const double r = b.get<double>();
  return std::abs(a - r) <= tol * std::max(1.0, std::abs(r));
}

#define CHECK_CLOSE(a, b) BOOST_TEST(close((a), (b)), #a " = " << (a) << ", reference " << (b))

struct Input {
  arma::fmat U, W;  // unit rows and the raw rows they came from (kept rows only)
  arma::uvec kept;
  std::vector<std::string> tokens;
};

Input from_raw(const arma::fmat& E, std::vector<std::string> tokens = {}) {
  NormalizeOptions no;
  no.policy = BadRowPolicy::exclude;
  const Normalized nz = normalize_rows(E, no);
  Input in;
  in.U = nz.unit;
  in.W = E.cols(nz.kept);
  in.kept = nz.kept;
  in.tokens = std::move(tokens);
  return in;
}

Input glove() {
  EMBEDLAB_FIXTURE(path, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  std::ifstream f(path);
  BOOST_REQUIRE(f);
  std::vector<std::string> tokens;
  std::vector<float> data;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string tok, num;
    ls >> tok;
    tokens.push_back(tok);
    while (ls >> num) data.push_back(static_cast<float>(std::strtod(num.c_str(), nullptr)));
  }
  const arma::uword n = tokens.size(), d = data.size() / n;
  return from_raw(arma::fmat(data.data(), d, n), std::move(tokens));
}

Input synthetic(const json& c) {
  const auto& m = c["matrix"];
  arma::fmat E(m[0].size(), m.size());
  for (arma::uword i = 0; i < E.n_cols; ++i)
    for (arma::uword r = 0; r < E.n_rows; ++r) E(r, i) = m[i][r].get<float>();
  return from_raw(E);
}

// The inputs are the same float32 unit rows as the reference's (otherwise nothing below can agree).
void check_input(const Input& in, const json& c) {
  BOOST_REQUIRE_EQUAL(in.U.n_cols, c["n"].get<arma::uword>());
  BOOST_REQUIRE_EQUAL(in.U.n_rows, c["d"].get<arma::uword>());
  for (arma::uword i = 0; i < in.kept.n_elem; ++i) BOOST_REQUIRE_EQUAL(in.kept[i], c["kept"][i].get<arma::uword>());
  const std::string_view bytes(reinterpret_cast<const char*>(in.U.memptr()), in.U.n_elem * sizeof(float));
  BOOST_REQUIRE_EQUAL(sha256_hex(bytes), c["unit_sha256"].get<std::string>());
}

void check_hubness(const Hubness& h, const json& r) {
  BOOST_TEST(h.k == r["k"].get<arma::uword>());
  BOOST_REQUIRE_EQUAL(h.counts.n_elem, r["counts"].size());
  arma::uword differ = 0;
  for (arma::uword i = 0; i < h.counts.n_elem; ++i) differ += h.counts[i] != r["counts"][i].get<arma::uword>();
  BOOST_TEST(differ == 0u, differ << " rows with another N_k");
  CHECK_CLOSE(h.skewness, r["skewness"]);
  CHECK_CLOSE(h.antihub_share, r["antihub_share"]);
  CHECK_CLOSE(h.hub_share, r["hub_share"]);
  CHECK_CLOSE(h.robin_hood, r["robin_hood"]);
}

void check_rogue(const RogueDimensions& g, const json& r) {
  CHECK_CLOSE(g.mean_cosine, r["mean_cosine"]);
  BOOST_REQUIRE_EQUAL(g.contribution.n_elem, r["contribution"].size());
  for (arma::uword j = 0; j < g.contribution.n_elem; ++j) CHECK_CLOSE(g.contribution[j], r["contribution"][j]);
  BOOST_REQUIRE_EQUAL(g.dims.n_elem, 3u);
  for (arma::uword e = 0; e < 3; ++e) {
    BOOST_TEST(g.dims[e] == r["dims"][e].get<arma::uword>());
    CHECK_CLOSE(g.share[e], r["share"][e]);
  }
}

void check_all(const Input& in, const json& c, const DiagnosticsOptions& o) {
  check_input(in, c);
  const Diagnostics g = diagnostics(in.U, in.W, o);
  const arma::uword n = in.U.n_cols;
  BOOST_TEST_MESSAGE(c["name"].get<std::string>()
                     << ": " << g.knn.rescanned << " + " << g.csls_knn->rescanned << " rows rescanned");
  check_hubness(g.hubness, c["hubness"]);
  BOOST_REQUIRE(g.csls_hubness);
  check_hubness(*g.csls_hubness, c["csls_hubness"]);
  for (arma::uword i = 0; i < n; ++i) CHECK_CLOSE(g.csls_r[i], c["csls_r"][i]);
  // the first two neighbours of every row (TwoNN's) and the distances
  const auto& nb = c["neighbours_12"];
  arma::uword differ = 0;
  for (arma::uword i = 0; i < n; ++i)
    differ += g.knn.ids(i, 0) != nb[i][0].get<arma::uword>() || g.knn.ids(i, 1) != nb[i][1].get<arma::uword>();
  BOOST_TEST(differ == 0u, differ << " rows with other first/second neighbours");
  const auto& t = c["intrinsic_dimension"];
  CHECK_CLOSE(g.twonn.dimension, t["twonn"]);
  BOOST_TEST(g.twonn.rows_used == t["rows_used"].get<arma::uword>());
  BOOST_TEST(g.twonn.rows_r1_zero == t["rows_r1_zero"].get<arma::uword>());
  for (arma::uword i = 0; i < n; ++i) {
    CHECK_CLOSE(g.twonn.r1[i], t["r1"][i]);
    CHECK_CLOSE(g.twonn.r2[i], t["r2"][i]);
  }
  check_rogue(g.rogue, c["rogue_dimensions"]);
  BOOST_REQUIRE(g.rogue_standardized);
  check_rogue(*g.rogue_standardized, c["rogue_dimensions_standardized"]);
  const auto& iso = c["isotropy"];
  CHECK_CLOSE(g.isotropy.mu, iso["mu_viswanath"]);
  CHECK_CLOSE(g.iso_score, iso["isoscore"]);
  for (arma::uword i = 0; i < in.U.n_rows; ++i) {
    CHECK_CLOSE(g.isotropy.eigenvalues[i], iso["eigenvalues"][i]);
    CHECK_CLOSE(g.isotropy.log_z_plus[i], iso["log_z_plus"][i]);
    CHECK_CLOSE(g.isotropy.log_z_minus[i], iso["log_z_minus"][i]);
  }
  if (c.contains("knn_ids")) {  // full lists (synthetic cases)
    const auto k = c["k"].get<arma::uword>();
    BOOST_REQUIRE(g.csls_knn);
    for (arma::uword i = 0; i < n; ++i)
      for (arma::uword e = 0; e < k; ++e) {
        BOOST_TEST(g.knn.ids(i, e) == c["knn_ids"][i][e].get<arma::uword>(), "row " << i << " rank " << e);
        CHECK_CLOSE(g.knn.score(i, e), c["knn_cos"][i][e]);
        BOOST_TEST(g.csls_knn->ids(i, e) == c["csls_ids"][i][e].get<arma::uword>(), "csls row " << i << " rank " << e);
      }
  }
}

DiagnosticsOptions options(const json& c) {
  DiagnosticsOptions o;
  o.k = c["k"].get<arma::uword>();
  o.csls = true;
  o.standardized = true;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_diagnostics)

BOOST_AUTO_TEST_CASE(glove_subset_matches_reference) {
  const json& c = ref_case("glove_subset_k10");
  const Input in = glove();
  DiagnosticsOptions o = options(c);
  o.tile = 512;  // several tiles and a partial last one
  check_all(in, c, o);
}

BOOST_AUTO_TEST_CASE(glove_csls_neighbours_of_words) {
  const json& c = ref_case("glove_subset_k10");
  const Input in = glove();
  const Knn knn = knn_exact(in.U, {});
  const arma::vec r = csls_radius(knn, 10);
  for (const auto& [word, ref] : c["csls_neighbours"].items()) {
    const auto it = std::find(in.tokens.begin(), in.tokens.end(), word);
    BOOST_REQUIRE(it != in.tokens.end());
    const auto row = static_cast<arma::uword>(it - in.tokens.begin());
    const arma::fvec q = in.U.col(row);
    const CslsNeighbours nb = csls_neighbours(in.U, r, q, {row}, 10, 10);
    CHECK_CLOSE(nb.r_query, ref["r"]);
    BOOST_REQUIRE_EQUAL(nb.ids.size(), ref["ids"].size());
    for (std::size_t e = 0; e < nb.ids.size(); ++e) {
      BOOST_TEST(nb.ids[e] == ref["ids"][e].get<arma::uword>(), word << " rank " << e);
      CHECK_CLOSE(nb.csls[e], ref["csls"][e]);
      CHECK_CLOSE(nb.cos[e], ref["cos"][e]);
    }
  }
}

BOOST_AUTO_TEST_CASE(synthetic_with_duplicates_and_zero_rows_matches_reference) {
  for (const char* name : {"synthetic_k3", "synthetic_k10"}) {
    BOOST_TEST_CONTEXT(name) {
      const json& c = ref_case(name);
      const Input in = synthetic(c);
      BOOST_TEST(in.kept.n_elem + 2 == c["rows_in"].get<arma::uword>());  // the two zero rows are dropped
      DiagnosticsOptions o = options(c);
      o.tile = 16;
      check_all(in, c, o);
    }
  }
}

BOOST_AUTO_TEST_CASE(zero_rows_fail_under_the_default_policy) {
  const json& c = ref_case("synthetic_k3");
  const auto& m = c["matrix"];
  arma::fmat E(m[0].size(), m.size());
  for (arma::uword i = 0; i < E.n_cols; ++i)
    for (arma::uword r = 0; r < E.n_rows; ++r) E(r, i) = m[i][r].get<float>();
  BOOST_CHECK_EXCEPTION(normalize_rows(E), Error, [](const Error& e) { return e.code() == Exit::data; });
}

// With no margin and tiny tiles most rows cannot be certified from the float candidates and are
// searched again; the lists are still exactly the reference's, and identical for 1 and 2 workers.
BOOST_AUTO_TEST_CASE(rescanned_rows_give_the_same_exact_lists) {
  const json& c = ref_case("synthetic_k3");
  const Input in = synthetic(c);
  KnnOptions o;
  o.k = 3;
  o.margin = 0;
  o.tile = 16;
  o.workers = 1;
  const Knn a = knn_exact(in.U, o);
  o.workers = 2;
  const Knn b = knn_exact(in.U, o);
  BOOST_TEST(a.rescanned > 0u);
  BOOST_TEST(arma::all(arma::vectorise(a.ids == b.ids)));
  BOOST_TEST(arma::approx_equal(a.score, b.score, "absdiff", 0.0));
  for (arma::uword i = 0; i < a.ids.n_rows; ++i)
    for (arma::uword e = 0; e < 3; ++e) BOOST_TEST(a.ids(i, e) == c["knn_ids"][i][e].get<arma::uword>());
  // and the CSLS lists through the rescan
  const arma::vec r = csls_radius(a, 3);
  const Knn s = knn_exact(in.U, o, &r);
  for (arma::uword i = 0; i < s.ids.n_rows; ++i)
    for (arma::uword e = 0; e < 3; ++e) BOOST_TEST(s.ids(i, e) == c["csls_ids"][i][e].get<arma::uword>());
}

// Exact ties everywhere (±1/4 entries, dots exact in any order): the double re-ranking keeps the
// lower id among equal scores, as the naive ranking does.
BOOST_AUTO_TEST_CASE(exact_ties_go_to_the_lower_id) {
  Rng rng(test::kSeed);
  arma::fmat U(16, 200);
  for (auto& x : U) x = rng.below(2) ? 0.25f : -0.25f;
  const arma::mat C = test::naive_dots(U);
  KnnOptions o;
  o.k = 7;
  o.tile = 32;
  const Knn r = knn_exact(U, o);
  for (arma::uword i = 0; i < U.n_cols; ++i) {
    const auto ranking = test::naive_ranking(C, i);
    for (arma::uword e = 0; e < 7; ++e) {
      BOOST_TEST(r.ids(i, e) == ranking[e].id);
      BOOST_TEST(r.score(i, e) == ranking[e].cos);
    }
  }
}

// topk's CSLS option ranks by 2·cos − r_i − r_j (float), against a naive double ranking.
BOOST_AUTO_TEST_CASE(topk_csls_option_matches_naive) {
  const arma::fmat U = test::random_unit(12, 300, test::kSeed + 7);
  const arma::mat C = test::naive_dots(U);
  arma::fvec r(U.n_cols);
  Rng rng(test::kSeed + 8);
  for (auto& x : r) x = static_cast<float>(0.3 + 0.4 * rng.uniform());
  TopKOptions o;
  o.k = 5;
  o.tile = 64;
  o.csls_r = &r;
  const TopK all = topk_all(U, o);
  arma::uvec queries = {0, 17, 299, 150};
  const TopK some = topk_queries(U, queries, o);
  for (arma::uword i = 0; i < U.n_cols; ++i) {
    std::vector<std::pair<double, arma::uword>> s;
    for (arma::uword j = 0; j < U.n_cols; ++j)
      if (j != i) s.push_back({-(2.0 * std::clamp(C(i, j), -1.0, 1.0) - r[i] - r[j]), j});
    std::sort(s.begin(), s.end());
    for (arma::uword e = 0; e < 5; ++e) {
      BOOST_TEST(std::abs(all.cos(i, e) + s[e].first) <= Tol<float>::sum);  // float scores near 0: absolute
      BOOST_TEST(all.ids(i, e) == s[e].second);
    }
    for (arma::uword q = 0; q < queries.n_elem; ++q)
      if (queries[q] == i)
        for (arma::uword e = 0; e < 5; ++e) BOOST_TEST(some.ids(q, e) == s[e].second);
  }
}

// Closed forms: rogue contributions sum to the mean pairwise cosine of pair_moments; N_k of a
// "star" (one centre, the rest around it) makes the centre a hub.
BOOST_AUTO_TEST_CASE(closed_forms) {
  const arma::fmat U = test::random_unit(9, 400, test::kSeed + 3);
  const RogueDimensions g = rogue_dimensions(U);
  BOOST_TEST(g.mean_cosine == pair_moments(U).mean, boost::test_tools::tolerance(Tol<double>::loose));

  // centre e_0 and 30 rows e_0 + noise orthogonal to it in 63 dimensions: cos(centre, x) = 1/√(1 + s²)
  // beats cos(x, y) = (1 + ρ)/(1 + s²) as the noise products ρ are small against s²; with k = 1 the
  // centre is (nearly) everyone's nearest
  arma::fmat S(64, 31, arma::fill::zeros);
  Rng rng(test::kSeed + 4);
  S(0, 0) = 1;
  for (arma::uword i = 1; i < 31; ++i) {
    S(0, i) = 1;
    for (arma::uword r = 1; r < 64; ++r) S(r, i) = static_cast<float>(0.2 * rng.normal());
  }
  const arma::fmat SU = normalize_rows(S).unit;
  KnnOptions o;
  o.k = 1;
  const Hubness h = hubness(knn_exact(SU, o), 1);
  BOOST_TEST(h.counts[0] >= 20u);
  BOOST_TEST(h.hub_share > 0.0);
  BOOST_TEST(h.antihub_share > 0.5);
}

BOOST_AUTO_TEST_CASE(bad_inputs) {
  const arma::fmat U = test::random_unit(5, 10, test::kSeed);
  auto code = [](Exit c) { return [c](const Error& e) { return e.code() == c; }; };
  BOOST_CHECK_EXCEPTION(diagnostics(U.cols(0, 1), U.cols(0, 1)), Error, code(Exit::data));  // n < 3
  BOOST_CHECK_EXCEPTION(diagnostics(U, U.cols(0, 8)), Error, code(Exit::usage));            // shapes differ
  arma::fmat bad = U;
  bad(2, 3) = std::nanf("");
  BOOST_CHECK_EXCEPTION(diagnostics(bad, U), Error, code(Exit::data));
  KnnOptions k0, k1;
  k0.k = 0;
  k1.k = 1;
  BOOST_CHECK_EXCEPTION(knn_exact(U, k0), Error, code(Exit::usage));
  const Knn k = knn_exact(U, {});
  BOOST_TEST(k.ids.n_cols == 9u);  // k capped at n − 1
  BOOST_CHECK_EXCEPTION(hubness(k, 10), Error, code(Exit::usage));
  BOOST_CHECK_EXCEPTION(twonn(U, knn_exact(U, k1)), Error, code(Exit::usage));
}

BOOST_AUTO_TEST_SUITE_END()

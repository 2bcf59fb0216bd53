// token_similarity: the lesson's worked example (points 3, 4, 7, 8) on a word list — cosines of
// chosen pairs with pass/fail expectations, top-k neighbours of each word over the whole
// vocabulary, the local similarity matrix S with its eigen-decomposition S u = λ u, clusters, and
// the unit-vector identity ‖x̂ − ŷ‖² = 2 − 2 cos θ.
#include "experiments/experiments.hpp"
#include "io/word_lookup.hpp"
#include "linalg/cluster.hpp"
#include "linalg/cosine.hpp"
#include "linalg/normalize.hpp"
#include "linalg/spectra.hpp"
#include "linalg/topk.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::vector<std::string> words, pairs, expect;
  bool leading_space = true;
  std::string multi_token, oov;
  std::int64_t k = 0, clusters = 0, restarts = 0;
};

struct PairRef {
  std::string a, b;
};

PairRef parse_pair(const std::string& text) {
  const auto colon = text.find(':');
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  PairRef p;
  if (colon != std::string::npos) p = {trim(text.substr(0, colon)), trim(text.substr(colon + 1))};
  if (p.a.empty() || p.b.empty()) throw Error(Exit::config, fmt::format("'{}' is not a word pair a:b", text));
  return p;
}

struct Operand {
  bool is_pair = false;
  PairRef pair;
  double value = 0;
};

struct Expectation {
  std::string text, op;
  Operand lhs, rhs;
};

Operand parse_operand(const std::string& text) {
  Operand o;
  if (text.find(':') != std::string::npos) {
    o.is_pair = true;
    o.pair = parse_pair(text);
    return o;
  }
  std::size_t used = 0;
  try {
    o.value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text.find_first_not_of(" \t", used) != std::string::npos)
    throw Error(Exit::config, fmt::format("'{}' is neither a word pair a:b nor a number", text));
  return o;
}

Expectation parse_expectation(const std::string& text) {
  for (const char* op : {">=", "<=", ">", "<"}) {
    const auto at = text.find(op);
    if (at == std::string::npos) continue;
    Expectation e;
    e.text = text;
    e.op = op;
    e.lhs = parse_operand(text.substr(0, at));
    e.rhs = parse_operand(text.substr(at + std::string(op).size()));
    return e;
  }
  throw Error(Exit::config, fmt::format("'{}' has no comparison (expected 'a:b OP c:d' with OP > < >= <=)", text));
}

// The parsed word keys: pairs, expectations and the word set (the list, then the words of pairs and
// expectations not yet in it). Error on the first bad pair or expectation.
struct WordKeys {
  std::vector<PairRef> pairs;
  std::vector<Expectation> expects;
  std::vector<std::string> words;
};

WordKeys parse_word_keys(const Config& c) {
  WordKeys k;
  auto add = [&](const std::string& w) {
    if (std::find(k.words.begin(), k.words.end(), w) == k.words.end()) k.words.push_back(w);
  };
  for (const auto& w : c.words) add(w);
  for (const auto& p : c.pairs) {
    k.pairs.push_back(parse_pair(p));
    add(k.pairs.back().a), add(k.pairs.back().b);
  }
  for (const auto& e : c.expect) {
    k.expects.push_back(parse_expectation(e));
    for (const Operand* o : {&k.expects.back().lhs, &k.expects.back().rhs})
      if (o->is_pair) add(o->pair.a), add(o->pair.b);
  }
  return k;
}

// Each item of a list key parsed by `parse`: the first bad item's message, or nothing.
template <class Parse>
std::optional<std::string> each_item(const std::vector<std::string>& items, Parse parse) {
  for (const auto& item : items) {
    try {
      (void)parse(item);
    } catch (const Error& e) {
      return e.what();
    }
  }
  return std::nullopt;
}

void declare(Schema<Config>& s) {
  s.key("words.list", &Config::words, "cat, dog, banana, apple, king, queen, man, woman, car, truck",
        "words of the local similarity matrix (pair and expectation words are added)");
  s.key("words.pairs", &Config::pairs, "cat:dog, cat:banana, dog:banana", "word pairs a:b whose cosine is tabulated");
  s.key("words.expect", &Config::expect, "cat:dog > cat:banana, cat:dog > dog:banana",
        "expectations 'a:b OP c:d' or 'a:b OP number' with OP one of > < >= <=, shown as pass/fail");
  s.key("tokens.leading_space", &Config::leading_space, "true", experiment::kLeadingSpaceHelp);
  s.key("tokens.multi_token", &Config::multi_token, "error",
        "a word of several tokens fails, averages its pieces' unit vectors, or uses the first/last")
      .one_of({"error", "mean", "first", "last"});
  s.key("tokens.oov", &Config::oov, "error", "a word without a row fails the run or is skipped (listed)")
      .one_of({"error", "skip"});
  s.key("neighbours.k", &Config::k, "10", "nearest neighbours of each word over the whole vocabulary").range(1, 1000);
  s.key("clusters.k", &Config::clusters, "3", "clusters of the local words (spherical k-means, average linkage)")
      .range(2, 1000);
  s.key("clusters.restarts", &Config::restarts, "10", "k-means restarts (k-means++ seeding)").range(1, 1000);
  s.check("words.pairs", [](const Config& c) { return each_item(c.pairs, parse_pair); });
  s.check("words.expect", [](const Config& c) { return each_item(c.expect, parse_expectation); });
  s.check("words.list", [](const Config& c) -> std::optional<std::string> {
    std::size_t n = 0;
    try {
      n = parse_word_keys(c).words.size();
    } catch (const Error&) {
      return std::nullopt;  // a bad pair or expectation, reported by its own check
    }
    if (n < 2) return fmt::format("need at least 2 distinct words in the list, pairs and expectations (got {})", n);
    return std::nullopt;
  });
}

// Beyond E and its unit copy (the runner's): the local similarity matrix of the listed words (m×m
// float64, its eigenvectors and the clustering's copies); the neighbour search is tiled.
void memory(const Config& c, const experiment::Shapes&, std::vector<experiment::Allocation>& out) {
  const double m = static_cast<double>(c.words.size() + 2 * c.pairs.size() + 4 * c.expect.size());
  out.push_back({4 * 8 * m * m,
                 fmt::format("local similarity of up to {} words: 4 × {}×{} float64", static_cast<std::uint64_t>(m),
                             static_cast<std::uint64_t>(m), static_cast<std::uint64_t>(m)),
                 "words.list"});
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  const auto& data = *ctx.data;
  const arma::fmat& U = data.unit;

  // Every item parses and there are ≥ 2 words: the config checks ran before.
  const auto [pairs, expects, words] = parse_word_keys(c);

  const auto tok_dir = io::WordLookup::tokenizer_dir_for(data.emb.source);
  if (tok_dir)
    for (auto& f : io::WordLookup::tokenizer_files(*tok_dir)) ctx.inputs->push_back(std::move(f));
  const io::WordLookup lookup(data.emb.tokens, tok_dir);
  if (!lookup.uses_tokenizer() && data.emb.tokens.empty())
    throw Error(Exit::data,
                fmt::format("{}: the embeddings have no token strings to look words up in", data.emb.source.path));
  io::LookupPolicy policy;
  policy.word.leading_space = c.leading_space;
  policy.word.multi_token = *io::parse_multi_token(c.multi_token);
  policy.word.oov = *io::parse_oov(c.oov);
  const auto resolved = lookup.resolve(words, policy, "words.list");

  // Local vectors X (d, m) of the usable words: a row's unit vector, or the direction of the mean
  // of the pieces' vectors (multi_token = mean, io::WordLookup::mean_vector).
  // R (d, m, double) is the same from the loaded rows (the transformed vectors when a transform
  // ran), normalised by the identity check in double: the raw side of the distance identity below.
  std::vector<std::size_t> used;  // index into `words` of each local column
  std::map<std::string, arma::uword> local;
  arma::fmat X(U.n_rows, 0);
  arma::mat R(U.n_rows, 0);
  const bool raw_rows = data.transform == "none";
  for (std::size_t w = 0; w < resolved.size(); ++w) {
    if (!io::usable(resolved[w].status)) continue;
    const auto& cols = resolved[w].columns;
    if (cols.size() == 1)
      X.insert_cols(X.n_cols, U.col(cols[0]));
    else
      X.insert_cols(X.n_cols, arma::conv_to<arma::fmat>::from(io::WordLookup::mean_vector(U, cols, &data.norms)));
    R.insert_cols(R.n_cols, raw_rows ? io::WordLookup::mean_vector(data.emb.vectors, cols)
                                     : io::WordLookup::mean_vector(U, cols, &data.norms));
    local[words[w]] = X.n_cols - 1;
    used.push_back(w);
  }
  const arma::uword m = X.n_cols;
  if (m < 2)
    throw Error(Exit::data, fmt::format("words.list: only {} of {} words have a row (need 2)", m, words.size()));
  X = linalg::normalize_rows(X).unit;
  std::vector<std::string> labels;
  for (const auto w : used) {
    const auto& r = resolved[w];
    labels.push_back(r.columns.size() == 1 ? lookup.display(r.columns[0]) : words[w]);
  }

  // --- words and their token ids ----------------------------------------------------------------
  {
    std::vector<std::string> status, ids_text, tokens_text;
    std::vector<std::int64_t> flat, offsets{0}, column;
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : resolved) {
      std::string ids, toks;
      const std::vector<int> shown = lookup.uses_tokenizer() ? r.token_ids : std::vector<int>{};
      for (const int id : shown) {
        ids += fmt::format("{}{}", ids.empty() ? "" : " ", id);
        toks += fmt::format("{}{}", toks.empty() ? "" : " ", io::quote_bytes(lookup.tokenizer()->token_bytes(id)));
        flat.push_back(id);
      }
      if (!lookup.uses_tokenizer()) {
        for (const auto col : r.columns) {
          ids += fmt::format("{}{}", ids.empty() ? "" : " ", col);
          flat.push_back(static_cast<std::int64_t>(col));
        }
      }
      offsets.push_back(static_cast<std::int64_t>(flat.size()));
      column.push_back(r.columns.size() == 1 ? static_cast<std::int64_t>(r.columns[0]) : -1);
      status.push_back(io::to_string(r.status));
      ids_text.push_back(ids);
      tokens_text.push_back(toks);
      rows.push_back({r.word, ids.empty() ? "—" : ids, toks.empty() ? "—" : toks, io::to_string(r.status), r.reason});
    }
    ctx.h5->write("/words/words", words, {"1", "the words analysed: the list, then words of pairs and expectations"});
    ctx.h5->write("/words/status", status, {"1", "ok | multi_token | skipped | not_in_vocabulary | excluded_row"});
    ctx.h5->write("/words/token_ids", flat,
                  {"1",
                   "token ids of every word concatenated (tokenizer pieces; rows for direct lookup); word w "
                   "holds token_ids[offsets[w]:offsets[w+1]]"});
    ctx.h5->write("/words/offsets", offsets, {"1", "start of each word's ids in token_ids, plus the total"});
    ctx.h5->write("/words/row", column, {"1", "the matrix row of a single-row word (-1: none or several)"});
    ctx.h5->attr("/words", "lookup", lookup.uses_tokenizer() ? "gpt2 tokenizer" : "direct string lookup");
    ctx.h5->attr("/words", "leading_space", static_cast<std::int64_t>(c.leading_space));
    ctx.h5->attr("/words", "multi_token", c.multi_token);
    ctx.h5->attr("/words", "oov", c.oov);
    md.heading(2, "Words and their tokens");
    md.paragraph(lookup.uses_tokenizer()
                     ? fmt::format("Words map to GPT-2 tokens through the tokenizer: leading_space = {}, multi_token = "
                                   "{}, oov = {}.",
                                   c.leading_space, c.multi_token, c.oov)
                     : fmt::format("Words are looked up directly in the vocabulary (oov = {}).", c.oov));
    md.table({"word", lookup.uses_tokenizer() ? "token ids" : "row", "tokens", "status", "note"}, rows);
  }

  // --- local similarity matrix, pairs and expectations -------------------------------------------
  const arma::uvec all = arma::regspace<arma::uvec>(0, m - 1);
  const arma::mat S = linalg::local_cosine(X, all);
  ctx.h5->write("/local/similarity", S, {"1", "S_ij = cos(x_i, x_j) of the local words (order of /local/labels)"});
  ctx.h5->write("/local/labels", labels, {"1", "the local words (GPT-2: token bytes with the leading space)"});
  auto pair_cos = [&](const PairRef& p) -> std::optional<double> {
    const auto a = local.find(p.a), b = local.find(p.b);
    if (a == local.end() || b == local.end()) return std::nullopt;
    return S(a->second, b->second);
  };
  {
    std::vector<std::string> pa, pb;
    std::vector<double> pc;
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : pairs) {
      const auto v = pair_cos(p);
      pa.push_back(p.a);
      pb.push_back(p.b);
      pc.push_back(v.value_or(std::nan("")));
      rows.push_back({fmt::format("sim({}, {})", p.a, p.b), v ? report::num(*v) : "— (word skipped)"});
    }
    ctx.h5->write("/pairs/a", pa, {"1", "first word of each pair"});
    ctx.h5->write("/pairs/b", pb, {"1", "second word of each pair"});
    ctx.h5->write("/pairs/cosine", pc, {"1", "cos θ of each pair (NaN when a word was skipped)"});
    md.heading(2, "Pairs");
    md.table({"pair", "cos θ"}, rows);
  }
  {
    std::vector<std::string> texts;
    std::vector<double> lhs, rhs;
    std::vector<std::int64_t> pass;
    std::vector<std::vector<std::string>> rows;
    std::int64_t passed = 0, failed = 0;
    for (const auto& e : expects) {
      const auto l = e.lhs.is_pair ? pair_cos(e.lhs.pair) : std::optional<double>(e.lhs.value);
      const auto r = e.rhs.is_pair ? pair_cos(e.rhs.pair) : std::optional<double>(e.rhs.value);
      std::int64_t ok = -1;
      if (l && r) {
        const bool holds = e.op == ">" ? *l > *r : e.op == "<" ? *l < *r : e.op == ">=" ? *l >= *r : *l <= *r;
        ok = holds ? 1 : 0;
        (holds ? passed : failed) += 1;
      }
      texts.push_back(e.text);
      lhs.push_back(l.value_or(std::nan("")));
      rhs.push_back(r.value_or(std::nan("")));
      pass.push_back(ok);
      rows.push_back({e.text, l ? report::num(*l) : "—", r ? report::num(*r) : "—",
                      ok == 1   ? "pass"
                      : ok == 0 ? "**FAIL**"
                                : "n/a (word skipped)"});
    }
    if (!expects.empty()) {
      ctx.h5->write("/expectations/text", texts, {"1", "the expectation as written in the config"});
      ctx.h5->write("/expectations/lhs", lhs, {"1", "value of the left side (cos θ or the number)"});
      ctx.h5->write("/expectations/rhs", rhs, {"1", "value of the right side"});
      ctx.h5->write("/expectations/pass", pass, {"1", "1 pass, 0 fail, -1 not evaluable (a word skipped)"});
      ctx.h5->attr("/expectations", "passed", passed);
      ctx.h5->attr("/expectations", "failed", failed);
      md.heading(2, "Expectations");
      md.table({"expectation", "left", "right", "result"}, rows);
      md.paragraph(fmt::format("{} passed, {} failed.", passed, failed));
    }
  }
  md.heading(2, "Local similarity matrix S");
  {
    std::vector<std::vector<std::string>> rows;
    for (arma::uword i = 0; i < m; ++i) {
      std::vector<std::string> row{labels[i]};
      for (arma::uword j = 0; j < m; ++j) row.push_back(report::num(S(i, j), 3));
      rows.push_back(std::move(row));
    }
    std::vector<std::string> header{""};
    header.insert(header.end(), labels.begin(), labels.end());
    md.table(header, rows);
  }
  ctx.plots->embed(md, ctx.plots->heatmap("similarity", "cos θ of the local words", S, labels),
                   "The local similarity matrix S");

  // --- eigen-decomposition of S -----------------------------------------------------------------
  {
    const auto eig = linalg::eigen_symmetric(S);
    ctx.h5->write("/local/eigenvalues", eig.values, {"1", "eigenvalues λ of S, descending (S u = λ u)"});
    ctx.h5->write("/local/eigenvectors", eig.vectors, {"1", "column i: unit eigenvector of eigenvalue i"});
    ctx.h5->write("/local/explained_share", eig.shares, {"1", "λ_i / trace S"});
    md.heading(2, "Eigenvalues of S");
    std::vector<std::vector<std::string>> rows;
    double cum = 0;
    for (arma::uword i = 0; i < m; ++i) {
      cum += eig.shares[i];
      arma::uword top = 0;
      for (arma::uword j = 1; j < m; ++j)
        if (std::abs(eig.vectors(j, i)) > std::abs(eig.vectors(top, i))) top = j;
      rows.push_back({std::to_string(i + 1), report::num(eig.values[i]), report::num(eig.shares[i]), report::num(cum),
                      labels[top]});
    }
    md.table({"i", "λ_i", "share", "cumulative", "largest |u| entry"}, rows);
  }

  // --- top-k neighbours over the whole vocabulary ------------------------------------------------
  {
    // Words averaged from several pieces are not rows: they are appended as extra columns and
    // dropped from the neighbour lists.
    const arma::uword n = U.n_cols;
    std::vector<arma::uword> queries;
    arma::fmat extra(U.n_rows, 0);
    for (arma::uword i = 0; i < m; ++i) {
      const auto& r = resolved[used[i]];
      if (r.columns.size() == 1) {
        queries.push_back(r.columns[0]);
      } else {
        queries.push_back(n + extra.n_cols);
        extra.insert_cols(extra.n_cols, X.col(i));
      }
    }
    linalg::TopKOptions to;
    to.k = static_cast<arma::uword>(c.k) + extra.n_cols;
    to.workers = ctx.threads;
    const linalg::TopK top = extra.n_cols == 0
                                 ? linalg::topk_queries(U, arma::uvec(queries), to)
                                 : linalg::topk_queries(arma::join_rows(U, extra), arma::uvec(queries), to);
    const arma::uword k = std::min<arma::uword>(static_cast<arma::uword>(c.k), n - 1);
    arma::Mat<std::int64_t> ids(m, k, arma::fill::value(-1));
    arma::mat cos(m, k, arma::fill::value(std::nan("")));
    std::vector<std::string> names;
    md.heading(2, fmt::format("Top-{} neighbours over the vocabulary ({} rows)", k, n));
    std::vector<std::vector<std::string>> rows;
    for (arma::uword i = 0; i < m; ++i) {
      arma::uword got = 0;
      std::string list;
      for (arma::uword j = 0; j < top.ids.n_cols && got < k; ++j) {
        const arma::uword id = top.ids(i, j);
        if (id >= n) continue;
        ids(i, got) = static_cast<std::int64_t>(id);
        cos(i, got) = top.cos(i, j);
        list += fmt::format("{}'{}' {}", got ? ", " : "", lookup.display(id), report::num(top.cos(i, j), 3));
        ++got;
      }
      for (arma::uword j = 0; j < k; ++j)
        names.push_back(ids(i, j) >= 0 ? lookup.display(static_cast<arma::uword>(ids(i, j))) : "");
      rows.push_back({labels[i], list});
    }
    ctx.h5->write("/neighbours/ids", ids, {"1", "(words, k) rows of the k nearest neighbours, descending cosine"});
    ctx.h5->write("/neighbours/cosine", cos, {"1", "(words, k) their cosines"});
    ctx.h5->write("/neighbours/tokens", names, {"1", "(words × k, row-major) the neighbours' token strings"});
    ctx.h5->attr("/neighbours", "k", static_cast<std::int64_t>(k));
    md.table({"word", "neighbours (cos θ)"}, rows);
  }

  // --- clusters ---------------------------------------------------------------------------------
  md.heading(2, "Clusters of the local words");
  if (m < 3) {
    md.paragraph("Fewer than 3 words: no clustering (the silhouette needs 2 ≤ clusters ≤ words − 1).");
  } else {
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(c.clusters), m - 1);
    linalg::KMeansOptions ko;
    ko.k = k;
    ko.n_init = static_cast<std::size_t>(c.restarts);
    Rng rng = ctx.rng.child(1);
    const auto km = linalg::spherical_kmeans(X, ko, rng);
    const auto al = linalg::average_linkage(S, k);
    const double sk = linalg::silhouette_score(S, km.labels), sa = linalg::silhouette_score(S, al);
    std::vector<std::int64_t> lk(km.labels.begin(), km.labels.end()), la(al.begin(), al.end());
    ctx.h5->write("/clusters/kmeans", lk, {"1", "spherical k-means cluster of each local word"});
    ctx.h5->write("/clusters/average_linkage", la,
                  {"1", "average-linkage cluster of each local word (distance 1 − S)"});
    ctx.h5->attr("/clusters", "k", static_cast<std::int64_t>(k));
    ctx.h5->attr("/clusters", "silhouette_kmeans", sk);
    ctx.h5->attr("/clusters", "silhouette_average_linkage", sa);
    auto members = [&](const linalg::Labels& l) {
      std::vector<std::string> out(k);
      for (arma::uword i = 0; i < m; ++i) out[l[i]] += (out[l[i]].empty() ? "" : ", ") + labels[i];
      return out;
    };
    const auto mk = members(km.labels), ma = members(al);
    std::vector<std::vector<std::string>> rows;
    for (std::size_t g = 0; g < k; ++g) rows.push_back({std::to_string(g), mk[g], ma[g]});
    rows.push_back({"silhouette", report::num(sk), report::num(sa)});
    md.paragraph(fmt::format("k = {} (clusters.k = {}, at most words − 1).", k, c.clusters));
    md.table({"cluster", "spherical k-means", "average linkage"}, rows);
  }

  // --- ‖x̂ − ŷ‖² = 2 − 2 cos θ ------------------------------------------------------------------
  const double err = linalg::unit_distance_identity_error(X, R);
  ctx.h5->attr("/identity", "max_abs_error", err);
  ctx.h5->attr("/identity", "pairs", static_cast<std::int64_t>(m * (m - 1) / 2));
  md.heading(2, "Unit-vector distance identity");
  md.paragraph(
      fmt::format("max over the {} local pairs of | ‖x̂ − ŷ‖² − (2 − 2 cos θ) | = {}, ‖x̂ − ŷ‖² from the float "
                  "unit vectors of the analysis and cos θ from the {} in double: cosine and Euclidean "
                  "distance order pairs identically after normalisation.",
                  m * (m - 1) / 2, report::num(err), raw_rows ? "loaded rows" : "transformed vectors"));
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_token_similarity() {
  return std::make_unique<experiment::Declared<Config>>(
      "token_similarity", "cosine similarity of chosen words: pairs, expectations, neighbours, S and its spectrum",
      experiment::Stage::required, declare, run, memory);  // raw rows: the distance identity
}

}  // namespace embedlab::experiments

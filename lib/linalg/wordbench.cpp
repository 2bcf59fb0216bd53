#include "linalg/wordbench.hpp"

#include "comm/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/normalize.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace embedlab::linalg {

namespace {

void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Python's str.upper() of one code point from the two-byte UTF-8 range (U+0080..U+07FF) covered
// here; 0 means "unchanged". ß and ŉ expand and are handled by the caller.
std::uint32_t upper_cp(std::uint32_t c) {
  if (c == 0xB5) return 0x39C;                                 // µ → Μ
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 0x20;  // à..þ
  if (c == 0xFF) return 0x178;                                 // ÿ → Ÿ
  if (c == 0x131) return 'I';                                  // ı
  if (c == 0x17F) return 'S';                                  // ſ
  if (c >= 0x100 && c <= 0x137 && (c & 1)) return c - 1;       // ā..ķ
  if (c >= 0x139 && c <= 0x148 && !(c & 1)) return c - 1;      // ĺ..ň
  if (c >= 0x14A && c <= 0x177 && (c & 1)) return c - 1;       // ŋ..ŷ
  if (c >= 0x179 && c <= 0x17E && !(c & 1)) return c - 1;      // ź..ž
  if (c == 0x3C2) return 0x3A3;                                // ς → Σ
  if (c >= 0x3B1 && c <= 0x3CB) return c - 0x20;               // α..ϋ
  if (c == 0x3AC) return 0x386;                                // ά
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;               // έ ή ί
  if (c == 0x3CC) return 0x38C;                                // ό
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;               // ύ ώ
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;               // а..я
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;               // ѐ..џ
  if (c >= 0x460 && c <= 0x4FF && (c & 1) && !(c >= 0x482 && c <= 0x489) && !(c >= 0x4C1 && c <= 0x4CE))
    return c - 1;                                          // Cyrillic pairs (Ѡ..ӿ)
  if (c >= 0x4C2 && c <= 0x4CE && !(c & 1)) return c - 1;  // Ӂ..ӎ pairs
  if (c == 0x4CF) return 0x4C0;                            // ӏ → Ӏ
  return 0;
}

bool worse(float sa, arma::uword ia, float sb, arma::uword ib) { return sa < sb || (sa == sb && ia > ib); }

// The k best (score, id) of one query, kept sorted best first (k is small: gensim's topn).
class Best {
 public:
  explicit Best(arma::uword k) : k_(k) {}
  float threshold() const { return s_.size() < k_ ? -std::numeric_limits<float>::infinity() : s_.back(); }
  void offer(float s, arma::uword id) {
    if (s_.size() == k_ && !worse(s_.back(), id_.back(), s, id)) return;
    std::size_t pos = s_.size();
    if (s_.size() < k_) {
      s_.push_back(s);
      id_.push_back(id);
    }
    // Shift worse entries down; pos is where (s, id) goes.
    if (pos == s_.size()) pos = s_.size() - 1;
    while (pos > 0 && worse(s_[pos - 1], id_[pos - 1], s, id)) {
      s_[pos] = s_[pos - 1];
      id_[pos] = id_[pos - 1];
      --pos;
    }
    s_[pos] = s;
    id_[pos] = id;
  }
  Neighbours take() { return {std::move(id_), std::move(s_)}; }

 private:
  arma::uword k_;
  std::vector<float> s_;
  std::vector<arma::uword> id_;
};

// One search: `queries` queries, each with `terms` unit term columns in T (d, queries·terms): for
// cos_add one column (the mean direction), for cos_mul the positive then the negative terms.
struct Search {
  const arma::fmat& U;
  arma::uword rows;  // candidates are U[:, 0:rows)
  const arma::fmat& T;
  arma::uword queries, n_pos, n_neg;
  AnalogyMethod method;
  const std::vector<std::vector<arma::uword>>& exclude;  // (queries) rows never returned
  arma::uword k;
  arma::uword query_block, vocab_block;
  int workers;
};

arma::uword terms_per_query(const Search& s) { return s.method == AnalogyMethod::cos_add ? 1 : s.n_pos + s.n_neg; }

// Scores of tile column block C (vb, qb·t) for query `q` (local index i in the block) into best.
void feed(const Search& s, const float* C, arma::uword vb, arma::uword v0, arma::uword i, arma::uword q, Best& best,
          std::vector<float>& buf) {
  const auto& ex = s.exclude[q];
  const float* scores = nullptr;
  if (s.method == AnalogyMethod::cos_add) {
    scores = C + static_cast<std::size_t>(i) * vb;
  } else {
    // gensim most_similar_cosmul in float32: Π_pos (1 + c)/2 / (Π_neg (1 + c)/2 + 1e-6), factors in
    // the order given (numpy's prod over the list).
    const arma::uword t = s.n_pos + s.n_neg;
    const float* base = C + static_cast<std::size_t>(i) * t * vb;
    buf.resize(vb);
    for (arma::uword j = 0; j < vb; ++j) {
      float num = (1.0f + base[j]) / 2.0f;
      for (arma::uword p = 1; p < s.n_pos; ++p) num *= (1.0f + base[p * vb + j]) / 2.0f;
      float den = 1.0f;
      if (s.n_neg > 0) {
        den = (1.0f + base[s.n_pos * vb + j]) / 2.0f;
        for (arma::uword n = 1; n < s.n_neg; ++n) den *= (1.0f + base[(s.n_pos + n) * vb + j]) / 2.0f;
      }
      buf[j] = num / (den + 1e-6f);
    }
    scores = buf.data();
  }
  float thr = best.threshold();
  for (arma::uword j = 0; j < vb; ++j) {
    float v = scores[j];
    if (v < thr) continue;
    if (s.method == AnalogyMethod::cos_add) v = std::clamp(v, -1.0f, 1.0f);
    const arma::uword id = v0 + j;
    if (std::find(ex.begin(), ex.end(), id) != ex.end()) continue;
    best.offer(v, id);
    thr = best.threshold();
  }
}

std::vector<Neighbours> run_search(const Search& s) {
  const arma::uword d = s.U.n_rows, t = terms_per_query(s);
  std::vector<Neighbours> out(s.queries);
  if (s.queries == 0) return out;
  const arma::uword qb = std::max<arma::uword>(1, s.query_block), vb = std::max<arma::uword>(16, s.vocab_block);
  const arma::uword n_blocks = (s.queries + qb - 1) / qb;
  std::atomic<arma::uword> next{0};
  // Every tile is one single-threaded sgemm of fixed geometry, so results do not depend on the
  // worker count (core/threads.hpp).
  BlasSingleThread single;
  run_workers(std::min<int>(worker_count(s.workers), static_cast<int>(n_blocks)), [&](int) {
    std::vector<float> C(static_cast<std::size_t>(vb) * qb * t), buf;
    for (arma::uword blk; (blk = next.fetch_add(1)) < n_blocks;) {
      const arma::uword q0 = blk * qb, nq = std::min(qb, s.queries - q0);
      std::vector<Best> best(nq, Best(s.k));
      for (arma::uword v0 = 0; v0 < s.rows; v0 += vb) {
        const arma::uword nv = std::min(vb, s.rows - v0);
        // C (nv, nq·t) = U[:, v0:v0+nv]ᵀ · T[:, q0·t : (q0+nq)·t]
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(nv), static_cast<int>(nq * t),
                    static_cast<int>(d), 1.0f, s.U.colptr(v0), static_cast<int>(d), s.T.colptr(q0 * t),
                    static_cast<int>(d), 0.0f, C.data(), static_cast<int>(nv));
        for (arma::uword i = 0; i < nq; ++i) feed(s, C.data(), nv, v0, i, q0 + i, best[i], buf);
      }
      for (arma::uword i = 0; i < nq; ++i) out[q0 + i] = best[i].take();
    }
  });
  return out;
}

arma::fvec unit_column(const float* x, arma::uword d) {
  double ss = 0.0;
  for (arma::uword i = 0; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
  const double norm = std::sqrt(ss);
  arma::fvec u(d);
  for (arma::uword i = 0; i < d; ++i) u[i] = static_cast<float>(x[i] / norm);
  return u;
}

void check_finite_nonzero(const arma::fmat& V, const char* what) {
  for (arma::uword j = 0; j < V.n_cols; ++j) {
    if (!V.col(j).is_finite()) fail(Exit::data, what, fmt::format("column {}", j), "non-finite entries");
    if (arma::accu(arma::abs(V.col(j))) == 0.0f)
      fail(Exit::data, what, fmt::format("column {}", j), "zero vector has no direction");
  }
}

arma::fmat unit_columns(const arma::fmat& V) {
  arma::fmat U(V.n_rows, V.n_cols);
  for (arma::uword j = 0; j < V.n_cols; ++j) U.col(j) = unit_column(V.colptr(j), V.n_rows);
  return U;
}

}  // namespace

std::string upper_case(std::string_view w) {
  std::string out;
  out.reserve(w.size());
  for (std::size_t i = 0; i < w.size();) {
    const auto b = static_cast<unsigned char>(w[i]);
    if (b < 0x80) {
      out += (b >= 'a' && b <= 'z') ? static_cast<char>(b - 32) : static_cast<char>(b);
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0 && i + 1 < w.size() && (static_cast<unsigned char>(w[i + 1]) & 0xC0) == 0x80) {
      const std::uint32_t cp = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(w[i + 1]) & 0x3Fu);
      if (cp == 0xDF) {
        out += "SS";  // ß
      } else if (cp == 0x149) {
        out += "\xCA\xBCN";  // ŉ → ʼN
      } else if (const std::uint32_t u = upper_cp(cp)) {
        put_utf8(out, u);
      } else {
        out.append(w.substr(i, 2));
      }
      i += 2;
      continue;
    }
    out += static_cast<char>(b);
    ++i;
  }
  return out;
}

WordIndex::WordIndex(const std::vector<std::string>& tokens, const VocabOptions& options)
    : case_insensitive_(options.case_insensitive) {
  const std::uint64_t n = tokens.size();
  restrict_ =
      static_cast<arma::uword>(options.restrict_vocab == 0 ? n : std::min<std::uint64_t>(options.restrict_vocab, n));
  keys_.reserve(restrict_);
  map_.reserve(restrict_);
  for (arma::uword j = 0; j < restrict_; ++j) {
    keys_.push_back(key(tokens[j]));
    map_.emplace(keys_.back(), j);  // emplace keeps the first row of a key
  }
}

std::string WordIndex::key(std::string_view word) const {
  return case_insensitive_ ? upper_case(word) : std::string(word);
}

std::optional<arma::uword> WordIndex::find(std::string_view word) const {
  const auto it = map_.find(key(word));
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

WordPairScores score_word_pairs(const arma::fmat& E, const WordIndex& index, const std::vector<std::string>& a,
                                const std::vector<std::string>& b, const std::vector<double>& gold, bool dummy4unknown,
                                const std::string& source) {
  if (a.size() != b.size() || a.size() != gold.size())
    fail(Exit::usage, "score_word_pairs", "",
         fmt::format("length mismatch (got {} first words, {} second words, {} scores)", a.size(), b.size(),
                     gold.size()));
  const arma::uword n = E.n_cols, d = E.n_rows;
  std::vector<arma::uword> pair, ra, rb;
  std::vector<double> g, c;
  WordPairScores out;
  out.total = a.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto ia = index.find(a[i]), ib = index.find(b[i]);
    if (!ia || !ib) {
      ++out.oov;
      if (!dummy4unknown) continue;
      pair.push_back(i);
      ra.push_back(ia.value_or(n));
      rb.push_back(ib.value_or(n));
      g.push_back(gold[i]);
      c.push_back(0.0);
      continue;
    }
    // gensim similarity(): dot of the two float32 unit vectors; accumulated in double here and
    // rounded to float, so the value is the float32 cosine up to the last bit.
    const arma::fvec ua = unit_column(E.colptr(*ia), d), ub = unit_column(E.colptr(*ib), d);
    if (!ua.is_finite() || !ub.is_finite())
      data_error(source, fmt::format("pair {}", i + 1),
                 fmt::format("'{}' or '{}' is a zero or non-finite vector (rows {}, {})", a[i], b[i], *ia, *ib));
    double dot = 0.0;
    for (arma::uword k = 0; k < d; ++k) dot += static_cast<double>(ua[k]) * ub[k];
    pair.push_back(i);
    ra.push_back(*ia);
    rb.push_back(*ib);
    g.push_back(gold[i]);
    c.push_back(std::clamp(static_cast<double>(static_cast<float>(dot)), -1.0, 1.0));
  }
  if (g.empty())
    data_error(source, "", fmt::format("no pair has both words in the vocabulary (all {} pairs unknown)", out.total));
  out.pair = arma::uvec(pair);
  out.row_a = arma::uvec(ra);
  out.row_b = arma::uvec(rb);
  out.gold = arma::vec(g);
  out.cosine = arma::vec(c);
  const double scored = static_cast<double>(g.size());
  // gensim's formula: with dummy4unknown the unknown pairs are already among the scored ones.
  out.oov_ratio =
      static_cast<double>(out.oov) / (dummy4unknown ? scored : scored + static_cast<double>(out.oov)) * 100.0;
  return out;
}

const char* to_string(AnalogyMethod m) { return m == AnalogyMethod::cos_add ? "3cosadd" : "3cosmul"; }

arma::fvec mean_direction(const arma::fmat& positive, const arma::fmat& negative) {
  const arma::uword d = positive.n_cols ? positive.n_rows : negative.n_rows;
  if (positive.n_cols + negative.n_cols == 0) fail(Exit::usage, "mean_direction", "", "no terms");
  if (negative.n_cols && negative.n_rows != d)
    fail(Exit::usage, "mean_direction", "", fmt::format("dimension mismatch (got {} and {})", d, negative.n_rows));
  arma::vec m(d, arma::fill::zeros);
  for (arma::uword j = 0; j < positive.n_cols; ++j)
    m += arma::conv_to<arma::vec>::from(unit_column(positive.colptr(j), d));
  for (arma::uword j = 0; j < negative.n_cols; ++j)
    m -= arma::conv_to<arma::vec>::from(unit_column(negative.colptr(j), d));
  m /= static_cast<double>(positive.n_cols + negative.n_cols);
  const double norm = arma::norm(m);
  if (!(norm > 0.0)) data_error("word arithmetic", "", "the terms cancel out (zero mean vector has no direction)");
  return arma::conv_to<arma::fvec>::from(m / norm);
}

Neighbours most_similar(const arma::fmat& U, const arma::fmat& positive, const arma::fmat& negative,
                        const std::vector<arma::uword>& exclude, arma::uword k, AnalogyMethod method,
                        arma::uword restrict) {
  if (k < 1) fail(Exit::usage, "most_similar", "k", "must be at least 1 (got 0)");
  if (positive.n_cols == 0)
    fail(Exit::usage, "most_similar", "", "no positive term (gensim: cannot compute similarity with no input)");
  check_finite_nonzero(positive, "positive terms");
  check_finite_nonzero(negative, "negative terms");
  const arma::uword rows = restrict == 0 ? U.n_cols : std::min(restrict, U.n_cols);
  arma::fmat T;
  arma::uword n_pos = positive.n_cols, n_neg = negative.n_cols;
  if (method == AnalogyMethod::cos_add) {
    T = mean_direction(positive, negative);
  } else {
    T = arma::join_rows(unit_columns(positive), unit_columns(negative));
  }
  const std::vector<std::vector<arma::uword>> ex{exclude};
  const Search s{U, rows, T, 1, n_pos, n_neg, method, ex, k, 1, 16384, 1};
  return std::move(run_search(s)[0]);
}

OddOneOut doesnt_match(const arma::fmat& W, const std::vector<std::string>& words) {
  if (W.n_cols == 0) fail(Exit::usage, "doesnt_match", "", "cannot select a word from an empty list");
  check_finite_nonzero(W, "words");
  // gensim rank_by_centrality: float32 unit vectors, their mean, normalised, dotted with each.
  const arma::fmat U = unit_columns(W);
  const arma::fvec mean = mean_direction(U, arma::fmat(W.n_rows, 0));
  OddOneOut out;
  out.cosine.set_size(W.n_cols);
  for (arma::uword j = 0; j < W.n_cols; ++j) {
    double dot = 0.0;
    for (arma::uword i = 0; i < W.n_rows; ++i) dot += static_cast<double>(U(i, j)) * mean[i];
    out.cosine[j] = std::clamp(static_cast<float>(dot), -1.0f, 1.0f);
  }
  // sorted((cos, word), reverse=True)[-1]: the lowest cosine, ties by the smallest word.
  for (arma::uword j = 1; j < W.n_cols; ++j) {
    const float cj = out.cosine[j], co = out.cosine[out.odd];
    if (cj < co || (cj == co && !words.empty() && words[j] < words[out.odd])) out.odd = j;
  }
  return out;
}

double AnalogySectionResult::accuracy() const {
  const std::uint64_t answered = correct + incorrect;
  return answered == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(answered);
}

namespace {

// The answer to one answerable question (as gensim prints it).
struct Answer {
  arma::uword row;       // predicted row; n when no candidate
  float score;           // its score; NaN when none
  std::int32_t outcome;  // 1 correct, 0 incorrect
};

// Answers of the answerable questions live[l0, l1) (rows: their rows in the index), in order. The
// search tiles start at l0, so with l0 a multiple of query_block they are the serial run's tiles.
std::vector<Answer> answer(const arma::fmat& E, const WordIndex& index,
                           const std::vector<std::array<std::string, 4>>& questions,
                           const std::vector<arma::uword>& live, std::size_t l0, std::size_t l1, const arma::umat& rows,
                           const AnalogyOptions& options) {
  const arma::uword d = E.n_rows, r = index.restrict_rows();
  NormalizeOptions nopt;
  nopt.source = "evaluate_analogies";
  const arma::fmat U = r ? normalize_rows(E.cols(0, r - 1), nopt).unit : arma::fmat(d, 0);

  // Term columns, (d, questions·t): cos_add the mean direction of b − a + c (gensim's positive=[b, c],
  // negative=[a]); cos_mul the unit b, c, a.
  const bool add = options.method == AnalogyMethod::cos_add;
  const arma::uword t = add ? 1 : 3, m = l1 - l0;
  arma::fmat T(d, m * t);
  std::vector<std::vector<arma::uword>> exclude(m);
  for (std::size_t l = 0; l < m; ++l) {
    const arma::uword i = live[l0 + l], ra = rows(i, 0), rb = rows(i, 1), rc = rows(i, 2);
    if (add) {
      T.col(l) = mean_direction(arma::join_rows(U.col(rb), U.col(rc)), U.col(ra));
    } else {
      T.col(3 * l) = U.col(rb);
      T.col(3 * l + 1) = U.col(rc);
      T.col(3 * l + 2) = U.col(ra);
    }
    exclude[l] = {ra, rb, rc};
  }
  const Search s{U,
                 r,
                 T,
                 m,
                 add ? 1u : 2u,
                 add ? 0u : 1u,
                 options.method,
                 exclude,
                 options.topn,
                 options.query_block,
                 options.vocab_block,
                 options.workers};
  const std::vector<Neighbours> found = run_search(s);

  std::vector<Answer> out(m, Answer{E.n_cols, std::numeric_limits<float>::quiet_NaN(), 0});
  for (std::size_t l = 0; l < m; ++l) {
    const auto& q = questions[live[l0 + l]];
    const std::string ka = index.key(q[0]), kb = index.key(q[1]), kc = index.key(q[2]), kd = index.key(q[3]);
    // gensim: the first candidate whose key is not a question word; without one, the last
    // candidate inspected stands as the prediction.
    const Neighbours& nb = found[l];
    std::size_t pick = nb.ids.size();
    for (std::size_t e = 0; e < nb.ids.size(); ++e) {
      pick = e;
      const std::string& key = index.row_key(nb.ids[e]);
      if (key != ka && key != kb && key != kc) break;
    }
    if (pick < nb.ids.size()) out[l] = {nb.ids[pick], nb.scores[pick], index.row_key(nb.ids[pick]) == kd ? 1 : 0};
  }
  return out;
}

// Every rank's answers (the questions of its block of tiles of `block` questions, in order) →
// all answers, in question order, on every rank.
std::vector<Answer> gather_answers(const comm::Comm& comm, const std::vector<Answer>& mine, std::size_t tiles,
                                   std::size_t block) {
  std::vector<comm::Bytes> packed;
  for (std::size_t at = 0; at < mine.size(); at += block) {
    const auto first = mine.begin() + static_cast<std::ptrdiff_t>(at);
    packed.push_back(
        comm::pack(std::vector<Answer>(first, first + static_cast<std::ptrdiff_t>(std::min(block, mine.size() - at)))));
  }
  std::vector<Answer> all;
  for (const comm::Bytes& b : comm::gather_blocks(comm, packed, tiles)) {
    const auto tile = comm::unpack<Answer>(b);
    all.insert(all.end(), tile.begin(), tile.end());
  }
  return all;
}

}  // namespace

AnalogyResult evaluate_analogies(const arma::fmat& E, const WordIndex& index,
                                 const std::vector<std::array<std::string, 4>>& questions,
                                 const std::vector<AnalogySpan>& sections, const AnalogyOptions& options) {
  if (options.topn < 1) fail(Exit::usage, "evaluate_analogies", "topn", "must be at least 1 (got 0)");
  if (index.restrict_rows() > E.n_cols)
    fail(Exit::usage, "evaluate_analogies", "",
         fmt::format("index covers {} rows but the matrix has {}", index.restrict_rows(), E.n_cols));
  const arma::uword n = E.n_cols, q = questions.size();
  for (const AnalogySpan& span : sections)
    if (span.begin > span.end || span.end > q)
      fail(Exit::usage, "evaluate_analogies", span.name,
           fmt::format("section range [{}, {}) outside the {} questions", span.begin, span.end, q));
  AnalogyResult out;
  out.questions = q;
  out.outcome.set_size(q);
  out.outcome.fill(-1);
  out.predicted.set_size(q);
  out.predicted.fill(n);
  out.predicted_score.set_size(q);
  out.predicted_score.fill(std::numeric_limits<float>::quiet_NaN());
  out.rows.set_size(q, 4);
  out.rows.fill(n);

  // Answerable questions: all four words among the restricted vocabulary.
  std::vector<arma::uword> live;
  for (arma::uword i = 0; i < q; ++i) {
    bool known = true;
    for (int w = 0; w < 4; ++w) {
      const auto r = index.find(questions[i][w]);
      if (r) out.rows(i, w) = *r;
      known = known && r.has_value();
    }
    if (known) live.push_back(i);
  }

  // Fixed tiles of `block` answerable questions (the search's query tiles), in blocks over the ranks.
  const comm::Comm& comm = comm::for_kernel(options.comm);
  const std::size_t block = std::max<arma::uword>(1, options.query_block);
  const std::size_t tiles = (live.size() + block - 1) / block;
  const comm::Range mine = comm::block(comm, tiles);
  std::vector<Answer> answers;
  comm.agree([&] {
    comm::fault_point(comm, true);
    answers = answer(E, index, questions, live, std::min(live.size(), mine.begin * block),
                     std::min(live.size(), mine.end * block), out.rows, options);
  });
  if (comm.distributed()) answers = gather_answers(comm, answers, tiles, block);
  for (std::size_t l = 0; l < live.size(); ++l) {
    out.predicted[live[l]] = answers[l].row;
    out.predicted_score[live[l]] = answers[l].score;
    out.outcome[live[l]] = answers[l].outcome;
  }

  out.total.name = "Total accuracy";
  for (const AnalogySpan& span : sections) {
    AnalogySectionResult r;
    r.name = span.name;
    for (std::size_t i = span.begin; i < span.end; ++i) {
      if (out.outcome[i] == 1) {
        ++r.correct;
      } else if (out.outcome[i] == 0) {
        ++r.incorrect;
      } else {
        ++r.oov;
        if (options.dummy4unknown) ++r.incorrect;
      }
    }
    out.total.correct += r.correct;
    out.total.incorrect += r.incorrect;
    out.total.oov += r.oov;
    out.sections.push_back(std::move(r));
  }
  out.oov = q - live.size();
  out.oov_ratio = q == 0 ? 0.0 : static_cast<double>(out.oov) / static_cast<double>(q) * 100.0;
  return out;
}

}  // namespace embedlab::linalg

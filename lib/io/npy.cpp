// NumPy .npy: "\x93NUMPY", major, minor, header length (u16 LE in v1, u32 LE in v2/v3), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), } padded with
// spaces and '\n', then the array data. The dict is parsed with a tiny literal grammar here: no
// Python evaluation, and object dtypes (pickles) are refused, never loaded.
#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <set>

namespace embedlab::io {
namespace {

// A Python literal: str, bool, None, int, tuple, list or dict.
struct PyValue {
  enum class Kind { str, boolean, none, integer, tuple, list, dict } kind = Kind::none;
  std::string str;
  bool boolean = false;
  bool negative = false;
  std::uint64_t magnitude = 0;
  std::vector<PyValue> items;  // tuple, list
  // dict (string keys only). Not std::pair<std::string, PyValue>: a pair needs a complete type, and
  // clang's libstdc++ instantiation rejects it inside PyValue (the fuzz build uses clang).
  struct Entry;
  std::vector<Entry> entries;
};
struct PyValue::Entry {
  std::string key;
  PyValue value;
};

class LiteralParser {
 public:
  LiteralParser(std::string_view text, const std::string& file, std::uint64_t base)
      : s_(text), file_(file), base_(base) {}

  PyValue parse_document() {
    PyValue v = value(0);
    skip_ws();
    if (i_ != s_.size()) error("unexpected text after the header dict");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    data_error(file_, fmt::format("header byte {}", base_ + i_), what);
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    const std::size_t after = i_ + w.size();
    if (after < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[after])) || s_[after] == '_')) return false;
    i_ = after;
    return true;
  }

  PyValue value(int depth) {
    if (depth > 16) error("header literal nested too deeply");
    skip_ws();
    if (i_ >= s_.size()) error("header dict ends early");
    const char c = s_[i_];
    PyValue v;
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::str;
      v.str = string();
    } else if (c == '{') {
      v.kind = PyValue::Kind::dict;
      ++i_;
      while (!eat('}')) {
        skip_ws();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) error("dict keys must be strings");
        std::string key = string();
        if (!eat(':')) error(fmt::format("expected ':' after key '{}'", key));
        v.entries.push_back({std::move(key), value(depth + 1)});
        if (!eat(',')) {
          if (!eat('}')) error("expected ',' or '}' in dict");
          break;
        }
      }
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      v.kind = c == '(' ? PyValue::Kind::tuple : PyValue::Kind::list;
      ++i_;
      bool comma = true;
      while (!eat(close)) {
        if (!comma) error(fmt::format("expected ',' or '{}'", close));
        v.items.push_back(value(depth + 1));
        comma = eat(',');
      }
      // (n) is just n in Python, not a tuple.
      if (v.kind == PyValue::Kind::tuple && v.items.size() == 1 && !comma) {
        PyValue inner = std::move(v.items.front());
        return inner;
      }
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      v.kind = PyValue::Kind::integer;
      if (c == '-') {
        v.negative = true;
        ++i_;
      }
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) error("malformed integer");
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        const std::uint64_t d = static_cast<std::uint64_t>(s_[i_] - '0');
        if (__builtin_mul_overflow(v.magnitude, 10, &v.magnitude) ||
            __builtin_add_overflow(v.magnitude, d, &v.magnitude))
          error("integer too large");
        ++i_;
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 long, as old NumPy wrote shapes
      if (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.'))
        error("only integers are allowed here");
    } else if (word("True")) {
      v.kind = PyValue::Kind::boolean;
      v.boolean = true;
    } else if (word("False")) {
      v.kind = PyValue::Kind::boolean;
    } else if (word("None")) {
      v.kind = PyValue::Kind::none;
    } else {
      error(fmt::format("unexpected character '{}' in header dict", c));
    }
    return v;
  }

  std::string string() {
    const char quote = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\n') error("newline inside a string");
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) break;
      }
      out += s_[i_++];
    }
    if (i_ >= s_.size()) error("unterminated string");
    ++i_;
    return out;
  }

  std::string_view s_;
  const std::string& file_;
  std::uint64_t base_;
  std::size_t i_ = 0;
};

const char* kind_name(PyValue::Kind k) {
  switch (k) {
    case PyValue::Kind::str:
      return "a string";
    case PyValue::Kind::boolean:
      return "a bool";
    case PyValue::Kind::none:
      return "None";
    case PyValue::Kind::integer:
      return "an integer";
    case PyValue::Kind::tuple:
      return "a tuple";
    case PyValue::Kind::list:
      return "a list";
    case PyValue::Kind::dict:
      return "a dict";
  }
  return "?";
}

bool parse_descr(const std::string& d, FloatKind& kind, bool& big_endian) {
  if (d.size() != 3 || (d[0] != '<' && d[0] != '>') || d[1] != 'f') return false;
  big_endian = d[0] == '>';
  if (d[2] == '2')
    kind = FloatKind::f16;
  else if (d[2] == '4')
    kind = FloatKind::f32;
  else if (d[2] == '8')
    kind = FloatKind::f64;
  else
    return false;
  return true;
}

}  // namespace

NpyHeader read_npy_header(const std::string& path) {
  const BinaryFile f(path);
  NpyHeader h;
  h.file_size = f.size();
  if (f.size() < 10) data_error(path, "magic", fmt::format("file is {} bytes, too short for a .npy header", f.size()));
  unsigned char pre[12] = {};
  f.read_at(0, pre, std::min<std::uint64_t>(12, f.size()), "magic");
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) data_error(path, "magic", "not a .npy file (expected \\x93NUMPY)");
  h.major = pre[6];
  h.minor = pre[7];
  if (h.major < 1 || h.major > 3 || h.minor != 0)
    data_error(path, "version",
               fmt::format("unsupported .npy version {}.{} (expected 1.0, 2.0 or 3.0)", h.major, h.minor));
  std::uint64_t start = 10, len = load_le16(pre + 8);
  if (h.major >= 2) {
    if (f.size() < 12) data_error(path, "header length", "file ends inside the header length");
    start = 12;
    len = load_le32(pre + 8);
  }
  if (start + len > f.size())
    data_error(path, "header length", fmt::format("{} bytes runs past the end of the file ({} bytes)", len, f.size()));
  const std::string text = f.read_string_at(start, len, "header");
  if (h.major == 3) {
    if (const auto bad = invalid_utf8_offset(text); bad != std::string::npos)
      data_error(path, fmt::format("header byte {}", start + bad), "not valid UTF-8");
  }
  const PyValue dict = LiteralParser(text, path, start).parse_document();
  if (dict.kind != PyValue::Kind::dict)
    data_error(path, "header", fmt::format("must be a dict (got {})", kind_name(dict.kind)));

  std::set<std::string> seen;
  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const auto& [k, v] : dict.entries) {
    if (!seen.insert(k).second) data_error(path, "header", fmt::format("duplicate key '{}'", k));
    if (k == "descr")
      descr = &v;
    else if (k == "fortran_order")
      fortran = &v;
    else if (k == "shape")
      shape = &v;
    else
      data_error(path, "header", fmt::format("unexpected key '{}' (expected descr, fortran_order, shape)", k));
  }
  for (const auto& [name, p] : {std::pair{"descr", descr}, {"fortran_order", fortran}, {"shape", shape}})
    if (p == nullptr) data_error(path, "header", fmt::format("missing key '{}'", name));

  if (descr->kind == PyValue::Kind::list) data_error(path, "descr", "structured dtype is not supported");
  if (descr->kind != PyValue::Kind::str)
    data_error(path, "descr", fmt::format("must be a string (got {})", kind_name(descr->kind)));
  h.descr = descr->str;
  if (h.descr.find('O') != std::string::npos)
    data_error(path, "descr", fmt::format("object dtype '{}' refused (pickled data is never loaded)", h.descr));
  if (!parse_descr(h.descr, h.kind, h.big_endian))
    data_error(path, "descr", fmt::format("dtype '{}' is not supported (supported: <f4 <f8 <f2 >f4 >f8 >f2)", h.descr));

  if (fortran->kind != PyValue::Kind::boolean)
    data_error(path, "fortran_order", fmt::format("must be True or False (got {})", kind_name(fortran->kind)));
  h.fortran_order = fortran->boolean;

  if (shape->kind != PyValue::Kind::tuple)
    data_error(path, "shape", fmt::format("must be a tuple (got {})", kind_name(shape->kind)));
  for (const auto& d : shape->items) {
    if (d.kind != PyValue::Kind::integer)
      data_error(path, "shape", fmt::format("entries must be integers (got {})", kind_name(d.kind)));
    if (d.negative && d.magnitude != 0) data_error(path, "shape", fmt::format("negative dimension -{}", d.magnitude));
    h.shape.push_back(d.magnitude);
  }
  if (h.shape.size() != 2)
    data_error(path, "shape", fmt::format("rank {} (expected 2), shape {}", h.shape.size(), format_shape(h.shape)));
  if (h.shape[0] == 0) data_error(path, "shape", "zero rows (shape " + format_shape(h.shape) + ")");
  if (h.shape[1] == 0) data_error(path, "shape", "zero columns (shape " + format_shape(h.shape) + ")");

  h.data_offset = start + len;
  const std::uint64_t count = checked_mul(h.shape[0], h.shape[1], path, "shape " + format_shape(h.shape));
  const std::uint64_t bytes = checked_mul(count, float_kind_size(h.kind), path, "data size");
  const std::uint64_t have = f.size() - h.data_offset;
  if (have < bytes)
    data_error(path, "data",
               fmt::format("shorter than declared (got {} bytes, expected {} for {} {})", have, bytes,
                           format_shape(h.shape), h.descr));
  if (have > bytes)
    data_error(path, "data", fmt::format("{} trailing bytes after the array (expected {} bytes)", have - bytes, bytes));
  return h;
}

Embeddings read_npy(const std::string& path) {
  const NpyHeader h = read_npy_header(path);
  const BinaryFile f(path);
  if (f.size() != h.file_size) data_error(path, "", "file size changed while reading");
  const FloatKind kind = h.kind;
  const bool big = h.big_endian;
  const std::uint64_t n = h.shape[0], d = h.shape[1];
  Sha256 hash;
  hash.update(f.read_string_at(0, h.data_offset, "header"));
  Embeddings emb;
  if (!h.fortran_order) {
    // C order: row-major n×d is the d×n column-major matrix (column = row on disk).
    emb.vectors.set_size(d, n);
    read_floats(f, h.data_offset, n * d, kind, big, emb.vectors.memptr(), hash, nullptr, "data");
  } else {
    // Fortran order: column-major n×d on disk; transpose once to d×n.
    arma::fmat tmp(n, d);
    read_floats(f, h.data_offset, n * d, kind, big, tmp.memptr(), hash, nullptr, "data");
    emb.vectors = tmp.t();
  }
  emb.source = InputFile{path, "npy", h.descr, h.shape, hash.hex()};
  return emb;
}

}  // namespace embedlab::io

#include "tokenizer/token_index.hpp"

#include <functional>
#include <limits>
#include <stdexcept>

namespace embedlab::tok {

namespace {

std::uint64_t hash_of(std::string_view t) { return std::hash<std::string_view>{}(t); }
std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1u; }

}  // namespace

void TokenIndex::reserve(std::size_t tokens, std::size_t bytes) {
  arena_.reserve(bytes);
  std::size_t cap = 16;
  while (cap < 2 * tokens) cap *= 2;
  if (cap > slots_.size()) grow(cap);
}

std::size_t TokenIndex::probe(std::string_view token, std::uint64_t h) const {
  const std::size_t mask = slots_.size() - 1;
  const std::uint32_t tag = tag_of(h);
  std::size_t s = h & mask;
  for (; slots_[s].tag; s = (s + 1) & mask)
    if (slots_[s].tag == tag && key(slots_[s]) == token) break;
  return s;
}

void TokenIndex::grow(std::size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  for (const Slot& e : old) {
    if (!e.tag) continue;
    std::size_t s = hash_of(key(e)) & (capacity - 1);
    while (slots_[s].tag) s = (s + 1) & (capacity - 1);
    slots_[s] = e;
  }
}

TokenIndex::Slot& TokenIndex::slot(std::string_view token, std::uint64_t h, int id, bool& added) {
  if (2 * (size_ + 1) > slots_.size()) grow(slots_.empty() ? 16 : 2 * slots_.size());
  Slot& e = slots_[probe(token, h)];
  added = !e.tag;
  if (!added) return e;
  if (arena_.size() + token.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("TokenIndex: more than 4 GiB of tokens");
  e = {tag_of(h), static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(token.size()), id};
  arena_.append(token);
  ++size_;
  return e;
}

void TokenIndex::set(std::string_view token, int id) {
  bool added;
  slot(token, hash_of(token), id, added).id = id;
}

bool TokenIndex::insert(std::string_view token, int id, std::uint64_t h) {
  bool added;
  slot(token, h, id, added);
  return added;
}

std::uint64_t TokenIndex::hash(std::string_view token) { return hash_of(token); }

void TokenIndex::prefetch_hash(std::uint64_t h) const {
  if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
}

void TokenIndex::prefetch_key(std::uint64_t h) const {
  if (slots_.empty()) return;
  const Slot& e = slots_[h & (slots_.size() - 1)];
  if (e.tag == tag_of(h)) __builtin_prefetch(arena_.data() + e.offset);
}

void TokenIndex::prefetch(std::string_view token) const { prefetch_hash(hash_of(token)); }

std::optional<int> TokenIndex::find(std::string_view token, std::uint64_t h) const {
  if (slots_.empty()) return std::nullopt;
  const Slot& e = slots_[probe(token, h)];
  if (!e.tag) return std::nullopt;
  return e.id;
}

}  // namespace embedlab::tok

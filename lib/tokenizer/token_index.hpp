#pragma once
// token → id for a model's vocabulary: a flat open-addressing table (linear probing, at most half
// full) over one arena holding the tokens' bytes. Loading Llama-3 looks a token up ~1M times (the
// vocabulary and three lookups per merge); against a node-based std::unordered_map<std::string, int>
// this is one allocation instead of 128k and a few cache misses fewer per lookup.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::tok {

class TokenIndex {
 public:
  void reserve(std::size_t tokens, std::size_t bytes = 0);
  // Adds `token` with `id`, or gives an existing token the new id.
  void set(std::string_view token, int id);
  // Adds `token` with `id` unless it is there (then its id stays); true when added.
  bool insert(std::string_view token, int id) { return insert(token, id, hash(token)); }
  // The same with the token's hash already computed.
  bool insert(std::string_view token, int id, std::uint64_t h);
  std::optional<int> find(std::string_view token) const { return find(token, hash(token)); }
  // The same with the token's hash already computed (hash(token)), for lookups in a pipeline.
  std::optional<int> find(std::string_view token, std::uint64_t h) const;
  static std::uint64_t hash(std::string_view token);
  // Starts loading the slot of a token with hash h.
  void prefetch_hash(std::uint64_t h) const;
  // Starts loading the bytes of the token in that slot, when its tag says it may be the one (after
  // prefetch_hash, before find: a find then compares bytes already loaded).
  void prefetch_key(std::uint64_t h) const;
  bool contains(std::string_view token) const { return find(token).has_value(); }
  // Starts loading the slot `token` hashes to, for a find() a few lookups later.
  void prefetch(std::string_view token) const;
  std::size_t size() const { return size_; }

 private:
  // One slot holds a whole entry (16 bytes), so a lookup touches the slot and the token's bytes.
  struct Slot {
    std::uint32_t tag = 0;  // high half of the hash with the lowest bit set; 0 = empty
    std::uint32_t offset = 0, length = 0;
    int id = 0;
  };
  std::string_view key(const Slot& e) const { return {arena_.data() + e.offset, e.length}; }
  // The slot holding `token`, or the empty slot where it belongs.
  std::size_t probe(std::string_view token, std::uint64_t h) const;
  // The slot of `token`, added (with `id`) when absent; `added` says which.
  Slot& slot(std::string_view token, std::uint64_t h, int id, bool& added);
  void grow(std::size_t capacity);

  std::string arena_;
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace embedlab::tok

#pragma once
// What the GPT-2 config.json fuzz target does with one input, shared with the regression replay of the
// normal build (tests/io/test_gpt2_checkpoint.cpp): parse it in memory (no file, no set-up per input)
// and check what a parsed config promises the model. embedlab::Error is the expected outcome of a bad
// input; any other exception (or a sanitizer report) is a bug.
#include "core/error.hpp"
#include "io/gpt2_checkpoint.hpp"

#include <cmath>
#include <stdexcept>
#include <string_view>

namespace embedlab::fuzz {

inline void gpt2_config_input(std::string_view text) {
  io::Gpt2Config c;
  try {
    c = io::parse_gpt2_config(text, "config.json");
  } catch (const Error&) {
    return;
  }
  if (c.n_layer < 1 || c.n_head < 1 || c.n_embd < 1 || c.n_positions < 1 || c.vocab_size < 1 || c.n_inner < 1)
    throw std::logic_error("parsed config has a non-positive size");
  if (c.n_embd % c.n_head != 0) throw std::logic_error("parsed config: n_embd not divisible by n_head");
  if (!(c.layer_norm_epsilon > 0) || !std::isfinite(c.layer_norm_epsilon))
    throw std::logic_error("parsed config: layer_norm_epsilon not positive and finite");
  if (c.activation.empty()) throw std::logic_error("parsed config: no activation name");
  if (c.n_layer <= 256) {
    const auto t = io::gpt2_expected_tensors(c);
    if (t.size() != 4 + 12 * static_cast<std::size_t>(c.n_layer))
      throw std::logic_error("expected tensors: wrong count for n_layer");
    for (const auto& [name, shape] : t)
      for (const auto d : shape)
        if (d == 0) throw std::logic_error("expected tensors: zero dimension in " + name);
  }
}

}  // namespace embedlab::fuzz

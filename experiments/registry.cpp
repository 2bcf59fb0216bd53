// The one explicit table of experiments, by name.
#include "experiments/experiments.hpp"

namespace embedlab::experiments {

const experiment::Registry& registry() {
  // clang-format off
  static const experiment::Registry table = {
      {"random_variance", make_random_variance},
      {"word_benchmarks", make_word_benchmarks},
      {"weight_tying", make_weight_tying},
      {"softmax_sensitivity", make_softmax_sensitivity},
      {"logit_lens", make_logit_lens},
      {"token_similarity", make_token_similarity},
      {"vocab_geometry", make_vocab_geometry},
      {"rsa", make_rsa},
      {"compare", make_compare},
      {"position_embeddings", make_position_embeddings},
      {"layer_geometry", make_layer_geometry},
  };
  // clang-format on
  return table;
}

}  // namespace embedlab::experiments

// The one explicit table of experiments, by name.
#include "experiments/experiments.hpp"

namespace embedlab::experiments {

const experiment::Registry& registry() {
  static const experiment::Registry table = {
      {"random_variance", make_random_variance},
      {"weight_tying", make_weight_tying},
      {"softmax_sensitivity", make_softmax_sensitivity},
  };
  return table;
}

}  // namespace embedlab::experiments

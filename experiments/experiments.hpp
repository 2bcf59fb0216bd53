#pragma once
// Factories of the experiments; the registry table lives in experiments/registry.cpp.
#include "experiment/experiment.hpp"
#include "experiment/sweep.hpp"

#include <memory>

namespace embedlab::experiments {

// The table of every experiment, by name.
const experiment::Registry& registry();
// The headline scalars of each experiment, for sweeps (experiments/headlines.cpp).
const experiment::sweep::HeadlineTable& headlines();

std::unique_ptr<experiment::Experiment> make_random_variance();
std::unique_ptr<experiment::Experiment> make_word_benchmarks();
std::unique_ptr<experiment::Experiment> make_weight_tying();
std::unique_ptr<experiment::Experiment> make_softmax_sensitivity();
std::unique_ptr<experiment::Experiment> make_logit_lens();
std::unique_ptr<experiment::Experiment> make_token_similarity();
std::unique_ptr<experiment::Experiment> make_vocab_geometry();
std::unique_ptr<experiment::Experiment> make_rsa();
std::unique_ptr<experiment::Experiment> make_compare();
std::unique_ptr<experiment::Experiment> make_position_embeddings();
std::unique_ptr<experiment::Experiment> make_layer_geometry();

}  // namespace embedlab::experiments

// run_experiment CONFIG.ini [--set section.key=value]... [--results DIR] [--threads N] [--seed N]
//                [--max-memory SIZE] [--dry-run] [--quiet];  run_experiment --list;  run_experiment --help-config NAME;
//                run_experiment --check DIR;
//                run_experiment CONFIG.ini --sweep key=v1,v2 [--sweep key2=...] [--sweep-plot key:headline] [--shard
//                I/N]
#include "comm/comm.hpp"
#include "core/error.hpp"
#include "experiment/memory.hpp"
#include "experiment/runner.hpp"
#include "experiment/sweep.hpp"
#include "experiments/experiments.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>

namespace po = boost::program_options;
using namespace embedlab;

int main(int argc, char** argv) {
  const comm::Session mpi(argc, argv);  // rank 0 of 1 unless started by mpirun
  po::options_description opts("run_experiment CONFIG.ini [options]");
  opts.add_options()("help,h", "this help")("list", "list the experiments")("help-config", po::value<std::string>(),
                                                                            "every config key of an experiment")(
      "config-reference", "the config key tables of every experiment as Markdown (for the README)")(
      "check", po::value<std::string>(), "check a results directory: stale runs, unreadable results")(
      "set", po::value<std::vector<std::string>>()->composing(), "override a key: --set section.key=value")(
      "results", po::value<std::string>()->default_value("results"), "results directory")(
      "threads", po::value<int>(), "worker threads (OpenBLAS and embedlab kernels)")(
      "seed", po::value<std::uint64_t>(), "root seed (overrides [experiment] seed)")(
      "max-memory", po::value<std::string>(),
      "refuse a config whose largest allocation exceeds SIZE (64M, 2G, 1.5G, 512K or bytes; default: 80% of "
      "MemAvailable)")("dry-run",
                       "validate the config and inputs, print the resolved config and the memory estimate, compute "
                       "nothing")("quiet", "no progress lines")(
      "sweep", po::value<std::vector<std::string>>()->composing(),
      "run the Cartesian grid: --sweep section.key=v1,v2,... (values split on ';' when one is given), repeatable")(
      "sweep-plot", po::value<std::vector<std::string>>()->composing(),
      "sweep summary: plot a headline scalar against a numeric swept key (key:headline), repeatable")(
      "shard", po::value<std::string>(),
      "sweep: run share I of N of the points (I/N; default from SLURM_ARRAY_TASK_ID/_COUNT/_MIN)");
  po::options_description hidden;
  hidden.add_options()("config", po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "error: run_experiment: {} (see run_experiment --help)\n", e.what());
    return 64;
  }
  const auto& registry = experiments::registry();
  try {
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    if (vm.count("list")) {
      for (const auto& e : registry) fmt::print("{:<22} {}\n", e.name, e.make()->summary());
      return 0;
    }
    if (vm.count("help-config")) {
      fmt::print("{}", experiment::help_config(registry, vm["help-config"].as<std::string>()));
      return 0;
    }
    if (vm.count("config-reference")) {
      fmt::print("{}", experiment::config_reference_markdown(registry));
      return 0;
    }
    if (vm.count("check")) return experiment::check_results(vm["check"].as<std::string>()) == 0 ? 0 : 65;
    if (!vm.count("config")) {
      fmt::print(stderr, "error: run_experiment: no config file given (usage: run_experiment CONFIG.ini)\n");
      return 64;
    }
    experiment::RunOptions o;
    o.config_path = vm["config"].as<std::string>();
    if (vm.count("set")) o.sets = vm["set"].as<std::vector<std::string>>();
    o.results_dir = vm["results"].as<std::string>();
    if (vm.count("threads")) {
      const int t = vm["threads"].as<int>();
      if (t < 1 || t > 1024) {
        fmt::print(stderr, "error: run_experiment: --threads: out of range (got {}, expected 1..1024)\n", t);
        return 64;
      }
      o.threads = t;
    }
    if (vm.count("seed")) o.seed = vm["seed"].as<std::uint64_t>();
    if (vm.count("max-memory")) {
      try {
        o.max_memory = experiment::parse_size(vm["max-memory"].as<std::string>());
      } catch (const Error& e) {
        fmt::print(stderr, "error: run_experiment: {}\n", e.what());
        return 64;
      }
    }
    o.dry_run = vm.count("dry-run") > 0;
    o.quiet = vm.count("quiet") > 0;
    if (vm.count("sweep")) {
      experiment::sweep::Options so;
      so.run = o;
      so.sweeps = vm["sweep"].as<std::vector<std::string>>();
      if (vm.count("sweep-plot")) so.plots = vm["sweep-plot"].as<std::vector<std::string>>();
      if (vm.count("shard")) so.shard = vm["shard"].as<std::string>();
      so.getenv = [](const char* name) -> const char* { return std::getenv(name); };
      const auto s = experiment::sweep::run(registry, experiments::headlines(), so);
      if (!o.dry_run && !o.quiet && comm::world().root())
        fmt::print("sweep: {}/SUMMARY.md ({} points: {} ran here, {} skipped as completed, {} failed)\n", s.dir,
                   s.points, s.ran, s.skipped, s.failed);
      return s.exit_code;
    }
    if (vm.count("sweep-plot") || vm.count("shard")) {
      fmt::print(stderr, "error: run_experiment: --sweep-plot and --shard need --sweep\n");
      return 64;
    }
    const auto outcome = experiment::run(registry, o);
    if (!o.dry_run && !o.quiet && comm::world().root()) fmt::print("report: {}/report.md\n", outcome.run_dir);
    return 0;
  } catch (const experiment::ConfigError& e) {  // validation is the same on every rank: printed once
    if (comm::world().root())
      for (const auto& p : e.problems()) fmt::print(stderr, "error: {}\n", p);
    return e.exit_code();
  } catch (const comm::CollectiveError& e) {  // every rank has it: printed once
    if (comm::world().root()) fmt::print(stderr, "error: {}\n", e.what());
    return e.exit_code();
  } catch (const Error& e) {
    if (comm::world().distributed()) comm::world().abort(e.code(), e.what());  // this rank alone: end all ranks
    fmt::print(stderr, "error: {}\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    const std::string message = fmt::format("internal: {}", e.what());
    if (comm::world().distributed()) comm::world().abort(Exit::software, message);  // never leave ranks waiting
    fmt::print(stderr, "error: {}\n", message);
    return 70;
  }
}

// catimage: cost-aware routing and generation for text-to-image diffusion.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/progress.hpp"
#include "catimage/util/threads.hpp"
#include "catimage/util/version.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

int main(int argc, char** argv) {
  using namespace catimage;
  CLI::App app{"catimage — cost-aware routing for text-to-image generation"};
  app.set_version_flag("--version", kVersionString);
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  int threads = 0;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors; no progress bars");
  app.add_option("--threads", threads, "CPU threads for libtorch (default: all cores; at most the core count)")
      ->check(cli::at_least(0))
      ->check(cli::kThreadCount);
  const std::vector<std::pair<std::string, cli::Runner>> runners = {
      {"route", cli::add_route(app)},       {"eval", cli::add_eval(app)},
      {"import", cli::add_import(app)},     {"split", cli::add_split(app)},
      {"train", cli::add_train(app)},       {"predict", cli::add_predict(app)},
      {"generate", cli::add_generate(app)}, {"bench", cli::add_bench(app)},
      {"merge", cli::add_merge(app)},       {"cv", cli::add_cv(app)},
      {"score", cli::add_score(app)},       {"sweep", cli::add_sweep(app)},
      {"table", cli::add_table(app)},       {"random-weights", cli::add_random_weights(app)},
      {"adapt", cli::add_adapt(app)},       {"models", cli::add_models(app)},
      {"report", cli::add_report(app)}};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints the help, the version or the error
    return rc == 0 ? 0 : 2;      // every input error exits 2
  } catch (const Error& e) {     // an option's own parser (e.g. --shard) rejected its value
    init_logging(Verbosity::normal);
    spdlog::error("{}", e.what());
    return 2;
  }
  init_logging(quiet ? Verbosity::quiet : verbose ? Verbosity::verbose : Verbosity::normal);
  Progress::set_enabled(!quiet);
  try {
    int n = set_torch_threads(threads);
    spdlog::debug("libtorch intra-op threads: {}", n);
    for (const auto& [name, run] : runners)
      if (app.got_subcommand(name)) return run();
    return 2;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return 3;
  }
}

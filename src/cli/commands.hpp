#pragma once
// Subcommands of the `catimage` tool. Each add_* registers its options on the app and
// returns a runner to call when that subcommand was parsed.
#include <CLI/CLI.hpp>

#include <functional>

namespace catimage::cli {

using Runner = std::function<int()>;

Runner add_route(CLI::App& app);
Runner add_eval(CLI::App& app);
Runner add_import(CLI::App& app);
Runner add_train(CLI::App& app);
Runner add_split(CLI::App& app);
Runner add_predict(CLI::App& app);
Runner add_generate(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_random_weights(CLI::App& app);
Runner add_merge(CLI::App& app);
Runner add_cv(CLI::App& app);
Runner add_score(CLI::App& app);
Runner add_sweep(CLI::App& app);
Runner add_table(CLI::App& app);
Runner add_adapt(CLI::App& app);
Runner add_models(CLI::App& app);
Runner add_report(CLI::App& app);

}  // namespace catimage::cli

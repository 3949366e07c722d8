#pragma once
// Pieces shared by the subcommands: loading the config, reporting skipped lines.
#include <CLI/CLI.hpp>

#include <string>

#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage::cli {

// --config if given, else the shipped configs/default.json; families and schedulers checked
// against the runtime's registries.
CandidateSet load_config(const std::string& path);

// Per-candidate costs for training and evaluating on `table` (table order): the table's mean
// per-prompt costs when it has them and no --config is given, else the config's costs.
std::vector<double> training_costs(const QualityTable& table, const std::string& config);

// A --hyper value: a JSON object (empty string: {}); errors name the option.
json parse_hyper(const std::string& text, const std::string& option = "--hyper");

// Refuses NaN and infinities for a number option (CLI11's range checks let NaN through).
extern const CLI::Validator kFinite;

// Lower bounds of number options, saying the bound: "must be >= 1, got 0" (CLI11's
// PositiveNumber and NonNegativeNumber print the largest double, 309 digits, as the upper end).
// NaN, infinities and non-numbers are refused too ("must be a finite number >= 0, got nan").
CLI::Validator at_least(double bound);     // value >= bound
CLI::Validator greater_than(double bound);  // value > bound

// --seed: the prompt files' rule (io/seed_text): "\"-1\" is not an integer in [0, 2^64)";
// CLI11 would wrap a negative seed into an unsigned one.
extern const CLI::Validator kSeed;

// --threads: at most the machine's cores (std::thread::hardware_concurrency(); any count
// when that is unknown, 0); more only oversubscribes the CPU.
extern const CLI::Validator kThreadCount;

// The prompt file argument and its reading options (route, generate).
struct PromptInput {
  std::string path;
  PromptReadOptions read;
};
void add_prompt_input(CLI::App* c, PromptInput& in);
// Reads it and warns about each skipped line.
PromptFile read_prompt_input(const PromptInput& in);

// Warns about each skipped prompt line (the first 20, then a count).
void report_skipped(const PromptFile& pf);

}  // namespace catimage::cli

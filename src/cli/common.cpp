#include "cli/common.hpp"

#include <cmath>
#include <thread>

#include "catimage/batch/candidate_rules.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/seed_text.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace catimage::cli {

const CLI::Validator kFinite(
    [](std::string& text) -> std::string {
      try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return {};
      } catch (const std::exception&) {
      }
      return "must be a finite number, got " + text;
    },
    "FINITE");

namespace {

CLI::Validator lower_bound(double bound, bool inclusive) {
  const std::string rule = fmt::format("{} {}", inclusive ? ">=" : ">", bound);
  return CLI::Validator(
      [bound, inclusive, rule](std::string& text) -> std::string {
        double v = 0;
        try {
          std::size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size() || !std::isfinite(v)) v = std::nan("");
        } catch (const std::exception&) {
          v = std::nan("");
        }
        if (std::isnan(v)) return fmt::format("must be a finite number {}, got {}", rule, text);
        if (inclusive ? v >= bound : v > bound) return {};
        return fmt::format("must be {}, got {}", rule, text);
      },
      rule);
}

}  // namespace

CLI::Validator at_least(double bound) { return lower_bound(bound, true); }
CLI::Validator greater_than(double bound) { return lower_bound(bound, false); }

const CLI::Validator kSeed(
    [](std::string& text) -> std::string {
      if (parse_seed(text)) return {};
      return fmt::format("\"{}\" {}", text, kSeedRule);
    },
    "UINT64");

const CLI::Validator kThreadCount(
    [](std::string& text) -> std::string {
      const unsigned cores = std::thread::hardware_concurrency();
      long long n = 0;
      try {
        n = std::stoll(text);
      } catch (const std::exception&) {
        return {};  // not a number: the conversion to int says so
      }
      if (cores == 0 || n <= static_cast<long long>(cores)) return {};
      return fmt::format("{} is more than the {} cores of this machine (std::thread::hardware_concurrency()); give "
                         "at most {}, or 0 for all of them",
                         text, cores, cores);
    },
    "THREADS");

CandidateSet load_config(const std::string& path) {
  return load_candidates_or_default(path, runtime_candidate_rules());
}

std::vector<double> training_costs(const QualityTable& table, const std::string& config) {
  if (config.empty() && table.has_costs()) return table.mean_costs();
  auto cs = load_config(config);
  match_candidates(cs, table.candidates, table.source);
  std::vector<double> costs;
  for (const auto& n : table.candidates) costs.push_back(cs.candidates[cs.index(n)].cost);
  return costs;
}

json parse_hyper(const std::string& text, const std::string& option) {
  if (text.empty()) return json::object();
  json j = parse_json(text, option);
  if (!j.is_object()) fail("{} must be a JSON object, e.g. '{{\"lr\": 0.001}}'", option);
  return j;
}

void add_prompt_input(CLI::App* c, PromptInput& in) {
  c->add_option("prompts", in.path,
                "Prompt file: .txt (one per line), .jsonl, .json or .csv with a \"prompt\" field; - for stdin")
      ->required();
  c->add_option("--max-prompt-bytes", in.read.max_bytes, "Longer prompts are skipped (and reported)")
      ->check(at_least(1));
  c->add_flag("--strict", in.read.strict, "Fail on the first unusable prompt line instead of skipping it");
}

PromptFile read_prompt_input(const PromptInput& in) {
  PromptFile pf = read_prompts(in.path, in.read);
  report_skipped(pf);
  return pf;
}

void report_skipped(const PromptFile& pf) {
  std::size_t shown = 0;
  for (const auto& s : pf.skipped)
    if (shown++ < 20) spdlog::warn("{}: skipped: {}", where(pf.source, s.line), s.reason);
  if (pf.skipped.size() > 20) spdlog::warn("... and {} more skipped lines", pf.skipped.size() - 20);
}

}  // namespace catimage::cli

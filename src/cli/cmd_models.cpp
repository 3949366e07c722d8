// catimage models: what every candidate's model references resolve to here, before a job is submitted.
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "catimage/batch/model_report.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {

struct ModelsOptions {
  std::string config;
  bool json = false;
  GenerationOverrides where;
};

std::string human(double v, const char* const units[], int n, double step) {
  int u = 0;
  while (v >= step && u + 1 < n) v /= step, ++u;
  return u == 0 ? fmt::format("{:.0f}{}", v, units[0]) : fmt::format("{:.2f}{}", v, units[u]);
}

std::string params_text(std::int64_t n) {
  static const char* const u[] = {"", " K", " M", " B"};
  return human(static_cast<double>(n), u, 4, 1000);
}

std::string bytes_text(std::uintmax_t n) {
  static const char* const u[] = {" B", " KiB", " MiB", " GiB"};
  return human(static_cast<double>(n), u, 4, 1024);
}

int run(const ModelsOptions& o) {
  const CandidateSet cs = load_config(o.config);
  const std::vector<ModelReport> reports = model_reports(cs, o.where);
  std::size_t cannot = 0;
  for (const auto& r : reports) cannot += !r.runs;
  if (o.json) {
    json out = {{"config", cs.source}, {"candidates", json::array()}};
    for (const auto& r : reports) out["candidates"].push_back(r.to_json());
    std::cout << out.dump(2) << "\n";
    return cannot ? 1 : 0;
  }
  std::size_t w = 9;  // "candidate"
  for (const auto& r : reports) w = std::max(w, r.candidate.size());
  std::cout << fmt::format("{:<{}}  {:<7} {:<5} {:>10} {:>11}  {}\n", "candidate", w, "family", "dtype", "parameters",
                           "on disk", "loras");
  for (const auto& r : reports) {
    if (!r.runs) {
      std::cout << fmt::format("{:<{}}  {:<7} cannot run (below)\n", r.candidate, w, r.family);
      continue;
    }
    std::vector<std::string> loras;
    for (const auto& [file, scale] : r.loras) loras.push_back(fmt::format("{}:{}", file, scale));
    std::cout << fmt::format("{:<{}}  {:<7} {:<5} {:>10} {:>11}  {}\n", r.candidate, w, r.family, r.dtype,
                             params_text(r.parameters), bytes_text(r.bytes), loras.empty() ? "-" : join(loras, ", "));
  }
  std::cout << "\n";
  for (const auto& r : reports) {
    if (!r.runs) continue;
    for (const auto& ref : r.refs)
      std::cout << fmt::format("{}: {} {}{}\n", r.candidate, ref.role, ref.written.empty() ? "" : ref.written + " -> ",
                               ref.resolved);
  }
  for (const auto& r : reports)
    if (!r.runs) std::cout << fmt::format("{}: cannot run: {}\n", r.candidate, r.why);
  std::cout << fmt::format("{} of {} candidates can run here\n", reports.size() - cannot, reports.size());
  return cannot ? 1 : 0;
}

}  // namespace

Runner add_models(CLI::App& app) {
  auto o = std::make_shared<ModelsOptions>();
  auto* c = app.add_subcommand(
      "models",
      "For every candidate: what its model references resolve to here (a local path, else the local Hugging Face "
      "cache) or why it cannot run, its family, dtype, parameters, bytes on disk and LoRAs; reads safetensors headers "
      "only (exit 1 if any candidate cannot run)");
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  c->add_flag("--json", o->json, "One JSON document instead of the table");
  c->add_option("--device", o->where.device, "Where it would run: auto (CUDA if available), cpu, cuda or cuda:N");
  c->add_option("--dtype", o->where.dtype, "The dtype it would run in: auto, fp32, fp16 or bf16 (as generate)");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

// catimage import cems: CEMS CSVs -> quality table + candidates config.
#include <filesystem>
#include <memory>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/cems_import.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"

namespace catimage::cli {

namespace {

struct ImportOptions {
  std::string dir, metric = "clip", output, config_out;
};

int run(const ImportOptions& o) {
  CemsImport imp = import_cems(o.dir, o.metric);
  write_quality_table(o.output, imp.table);
  std::string cfg = o.config_out;
  if (cfg.empty()) {
    std::filesystem::path p(o.output);
    cfg = (p.parent_path() / (p.stem().string() + ".candidates.json")).string();
  }
  write_file_atomic(cfg, candidates_to_json(imp.config).dump(2) + "\n");
  spdlog::info("{}: {} prompts x {} candidates ({}), metric {}", o.output, imp.table.rows.size(),
               imp.table.candidates.size(), fmt::join(imp.table.candidates, ", "), o.metric);
  for (const auto& c : imp.config.candidates) spdlog::info("  {:<12} mean cost {:.4f} s/image", c.name, c.cost);
  spdlog::info("{}: candidates config", cfg);
  return 0;
}

}  // namespace

Runner add_import(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  auto* imp = app.add_subcommand("import", "Convert external per-prompt quality data to a quality table");
  imp->require_subcommand(1);
  auto* c = imp->add_subcommand("cems", "CEMS folder of <metric>_score_with_time_<MODEL>.csv files");
  c->add_option("dir", o->dir, "Folder with the CEMS CSV files")->required()->check(CLI::ExistingDirectory);
  c->add_option("-m,--metric", o->metric, "Metric: clip or nima")->check(CLI::IsMember({"clip", "nima"}));
  c->add_option("-o,--output", o->output, "Quality table to write (JSONL)")->required();
  c->add_option("--config-out", o->config_out, "Candidates config to write (default: <output stem>.candidates.json)");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

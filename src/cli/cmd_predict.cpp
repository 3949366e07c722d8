// catimage predict: write a predictor's predicted qualities as a predictions file
// (quality-table JSONL), for --predictions, inspection or combining predictors.
#include <memory>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {

struct PredictOptions {
  std::string input, predictor, output;
  bool table = false;
};

int run(const PredictOptions& o) {
  auto dir = o.predictor.empty() ? default_predictor_dir() : o.predictor;
  auto p = load_predictor(dir);
  QualityTable out;
  out.source = o.output;
  out.candidates = p->meta().candidates;
  if (o.table) {
    for (const auto& r : load_quality_table(o.input).rows) out.rows.push_back({r.id, r.prompt, {}, {}, r.line});
  } else {
    auto pf = read_prompts(o.input);
    report_skipped(pf);
    for (const auto& x : pf.prompts) out.rows.push_back({x.id, x.prompt, {}, {}, x.line});
  }
  std::vector<std::string> texts;
  for (const auto& r : out.rows) texts.push_back(r.prompt);
  Matrix q = p->predict(texts);
  for (std::size_t i = 0; i < out.rows.size(); ++i) out.rows[i].quality.assign(q.row(i), q.row(i) + q.cols);
  write_quality_table(o.output, out);
  spdlog::info("{}: predictions of {} ({}) for {} prompts", o.output, dir, p->meta().kind, out.rows.size());
  return 0;
}

}  // namespace

Runner add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  auto* c = app.add_subcommand("predict", "Write predicted qualities (a predictions JSONL) for prompts or a table");
  c->add_option("input", o->input, "Prompt file (.txt/.jsonl/.csv) or, with --table, a quality table")->required();
  c->add_flag("--table", o->table, "The input is a quality table (keeps its ids)");
  c->add_option("--predictor", o->predictor, "Predictor folder (default: the shipped one)");
  c->add_option("-o,--output", o->output, "Predictions JSONL to write")->required();
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

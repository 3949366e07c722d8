// catimage eval: paper-style quality-cost evaluation of a router on a quality table.
#include <filesystem>
#include <iostream>
#include <memory>

#include "catimage/eval/cascade_eval.hpp"
#include "catimage/eval/metrics.hpp"
#include "catimage/eval/plot.hpp"
#include "catimage/eval/report.hpp"
#include "catimage/eval/step_ladder.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/quality_source.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/routing_options.hpp"

namespace catimage::cli {

namespace {

struct EvalOptions {
  std::string table, config, outdir, title;
  PredictorSource source;
  RoutingOptions routing;
  bool json_out = false;
  std::string cascade;    // cascade predictor folder
  double score_cost = 0;  // per scored image, in the cost unit
};

int run(const EvalOptions& o) {
  if (on_metrics(o.routing))
    fail(
        "eval measures one metric's routing: for an objective on several metrics or --floor use `cv --also "
        "METRIC=TABLE` (cross-validated) or `route`");
  QualityTable t = load_quality_table(o.table);
  std::vector<double> costs;
  std::string unit = "seconds", cost_origin;
  std::vector<std::string> names = t.candidates;
  if (!o.config.empty() || !t.has_costs()) {
    CandidateSet cs = load_config(o.config);
    match_candidates(cs, t.candidates, o.table);
    names = cs.names();
    t = t.reordered(names);
    costs = cs.costs();
    unit = cs.cost_unit;
    cost_origin = cs.source;
  } else {
    costs = t.mean_costs();
    cost_origin = "mean per-prompt cost in " + o.table;
  }
  spdlog::info("{}: {} prompts, {} candidates; costs from {}", o.table, t.rows.size(), names.size(), cost_origin);

  const Matrix truth = t.quality_matrix();
  std::vector<PromptRef> refs;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    refs.push_back({t.rows[i].id, t.rows[i].prompt, where(o.table, t.rows[i].line)});
  }
  Matrix pred = predict_qualities(o.source, refs, names, o.table);
  const RoutingRequest request = routing_request(o.routing, o.source, names);
  EvalResult r = evaluate(truth, pred, costs, names, request);
  if (!o.cascade.empty()) {
    const auto cp = load_cascade_predictor(o.cascade);
    if (cp->meta().candidates != names)
      fail("{}: its candidates ({}) are not the table's ({}) in the same order", o.cascade,
           join(cp->meta().candidates, ", "), join(names, ", "));
    std::vector<std::string> prompts;
    std::vector<double> observed;
    const int first = cp->first_index();
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
      prompts.push_back(t.rows[i].prompt);
      observed.push_back(truth(i, first));
    }
    const Matrix diff = cp->predict_differences(prompts, observed);
    for (bool keep_best : {false, true})
      add_cascade_router(r, truth, diff, cp->meta().error_std, {first, o.score_cost, keep_best});
    spdlog::info("cascade from {} (first {}), scoring cost {} {} per image", o.cascade, cp->meta().first, o.score_cost,
                 unit);
  }
  std::string title = o.title.empty() ? std::filesystem::path(o.table).filename().string() : o.title;

  if (!o.outdir.empty()) {
    std::filesystem::create_directories(o.outdir);
    namespace fs = std::filesystem;
    write_file_atomic((fs::path(o.outdir) / "eval.md").string(), eval_markdown(r, title, unit));
    write_file_atomic((fs::path(o.outdir) / "curves.csv").string(), eval_curves_csv(r));
    write_file_atomic((fs::path(o.outdir) / "eval.json").string(), eval_json(r).dump(2) + "\n");
    if (plot_available())
      plot_quality_cost(r, title, unit, (fs::path(o.outdir) / "quality_cost.png").string());
    else
      spdlog::warn("built without cairo: no quality_cost.png");
    spdlog::info("wrote {}/eval.md, curves.csv, eval.json{}", o.outdir, plot_available() ? ", quality_cost.png" : "");
    // A step ladder (candidates NAME@S, from `sweep --steps`): quality against steps, as the paper's figure 1.
    const StepLadders ladders = step_ladders(t);
    if (!ladders.families.empty()) {
      write_file_atomic((fs::path(o.outdir) / "quality_steps.csv").string(), step_ladders_csv(ladders));
      if (plot_available())
        plot_quality_steps(ladders, title + ": quality against steps",
                           (fs::path(o.outdir) / "quality_steps.png").string());
      spdlog::info("wrote {}/quality_steps.csv{} ({} ladders)", o.outdir, plot_available() ? ", quality_steps.png" : "",
                   ladders.families.size());
    }
  }
  if (o.json_out)
    std::cout << eval_json(r).dump(2) << "\n";
  else
    std::cout << eval_markdown(r, title, unit);
  return 0;
}

}  // namespace

Runner add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* c = app.add_subcommand("eval", "Quality-cost evaluation of a router on a quality table");
  c->add_option("-t,--table", o->table, "Quality table (JSONL) with true qualities")->required();
  auto* pr = c->add_option("--predictor", o->source.predictor, "Trained predictor folder");
  auto* pd = c->add_option("--predictions", o->source.predictions, "JSONL of predicted qualities (by id)");
  pr->excludes(pd);
  c->add_option("-c,--config", o->config,
                "Candidates config for costs (default: the table's mean per-prompt costs, else configs/default.json)");
  add_routing_options(c, o->routing);
  c->add_flag("--json", o->json_out, "Print one JSON object on stdout instead of the Markdown table");
  c->add_option("-o,--output-dir", o->outdir, "Write eval.md, curves.csv, eval.json and quality_cost.png here");
  c->add_option("--title", o->title, "Title for the table and plot");
  c->add_option("--cascade-predictor", o->cascade,
                "Also evaluate cascade routing (generate FIRST, score it, keep or escalate) and cascade + keep-best "
                "with this cascade predictor (`train --cascade FIRST`)");
  c->add_option("--score-cost", o->score_cost,
                "Cost of scoring one image, in the cost unit (cascades pay it for FIRST, keep-best again for the "
                "second image; default 0)")
      ->check(at_least(0));
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

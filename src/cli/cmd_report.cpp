// catimage report: one static HTML page to look at a generation, sweep or cascade folder.
#include <filesystem>
#include <iostream>

#include "catimage/batch/folder_report.hpp"
#include "catimage/batch/report_page.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

namespace {

struct ReportOptions {
  std::string dir, output, routes, title;
  bool embed = false;
  int thumb = 256;
};

int run(ReportOptions& o) {
  if (o.output.empty()) o.output = (fs::path(o.dir) / "report.html").string();
  if (fs::is_directory(o.output))
    fail("-o {}: a folder; name the page's file (e.g. {}/report.html)", o.output, o.output);
  const FolderReport r = read_folder_report(o.dir, {o.routes});
  ReportPageOptions po;
  po.page = o.output;
  po.embed = o.embed;
  po.thumb = o.thumb;
  po.title = o.title;
  ReportPageStats st;
  const std::string html = render_report_page(r, po, &st);
  write_file_atomic(o.output, html);
  const fs::path page_dir = fs::absolute(o.output).parent_path().lexically_normal();
  const fs::path folder = fs::absolute(o.dir).lexically_normal();
  const auto rel = folder.lexically_relative(page_dir);
  if (!o.embed && !rel.empty() && *rel.begin() == "..")
    spdlog::info(
        "{}: images linked relative to it ({}/...): keep the page beside the folder, or --embed for one "
        "portable file",
        o.output, rel.generic_string());
  std::cout << fmt::format("{}: {} folder, {} prompts, {} images {}{}{}, metrics: {} ({:.1f} MB)\n", o.output,
                           folder_kind_name(r.kind), r.rows.size(), st.images, o.embed ? "embedded" : "linked",
                           st.missing ? fmt::format(", {} missing", st.missing) : "",
                           st.unreadable ? fmt::format(", {} unreadable", st.unreadable) : "",
                           r.metrics.empty() ? "none" : join(r.metrics, ", "), html.size() / 1e6);
  return 0;
}

}  // namespace

Runner add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* c = app.add_subcommand(
      "report",
      "One static HTML page (no server, no network) to look at a generation, sweep or cascade folder: per prompt "
      "the image(s), the chosen candidate, scores per metric, predictions, cost; sortable and filterable");
  c->add_option("folder", o->dir, "The output folder of generate / route --generate, sweep, or route --cascade")
      ->required();
  c->add_option("-o,--output", o->output,
                "The page (default FOLDER/report.html; images are linked relative to it unless --embed)");
  c->add_option("--routes", o->routes,
                "A generation folder's routes (route -o FILE; default: FOLDER/routes.jsonl when it is there)");
  auto* embed =
      c->add_flag("--embed", o->embed, "Carry the images in the page as thumbnails (data: URIs): one portable file");
  c->add_option("--thumb", o->thumb, "With --embed: the largest side of a thumbnail in pixels (default 256)")
      ->check(at_least(1))
      ->needs(embed);
  c->add_option("--title", o->title, "The page's title (default: \"catimage report: FOLDER\")");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

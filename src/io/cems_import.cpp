#include "catimage/io/cems_import.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>

#include "catimage/io/csv_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

struct Row {
  std::string prompt;
  double time, score;
  long line;
};

double parse_number(const std::string& s, const std::string& loc, const std::string& col) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos == 0 || pos != s.size() || !std::isfinite(v))
    fail("{}: column \"{}\": \"{}\" is not a finite number", loc, col, excerpt(s));
  return v;
}

// Known generation settings of the CEMS models (as the CEMS paper ran them), so the written
// config can drive `generate` once weights are given. Unknown models get family "other".
void fill_known(Candidate& c) {
  if (c.name == "SD-Turbo") {
    c.family = "sd21";
    c.steps = 1;
    c.scheduler = "euler_ancestral";
    c.guidance = 0.0;
    c.description = "stabilityai/sd-turbo, 1 step, no CFG";
  } else if (c.name == "SDXL-Turbo") {
    c.family = "sdxl";
    c.steps = 1;
    c.scheduler = "euler_ancestral";
    c.guidance = 0.0;
    c.description = "stabilityai/sdxl-turbo, 1 step, no CFG";
  } else if (c.name == "TAESD") {
    c.family = "sd15";
    c.scheduler = "ddim";
    c.description = "Stable Diffusion with the TAESD tiny decoder (madebyollin/taesd)";
  } else if (c.name == "amused") {
    c.family = "amused";
    c.scheduler = "amused";
    c.description = "amused/amused-512 (masked image model)";
  } else {
    c.family = "other";
  }
  c.width = 512;
  c.height = 512;
}

}  // namespace

CemsImport import_cems(const std::string& dir, const std::string& metric) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("{}: not a directory", dir);
  const std::string prefix = metric + "_score_with_time_";
  std::vector<std::pair<std::string, std::string>> files;  // model, path
  for (const auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + 4 && name.substr(name.size() - 4) == ".csv")
      files.emplace_back(name.substr(prefix.size(), name.size() - prefix.size() - 4), e.path().string());
  }
  if (files.empty()) fail("{}: no files named {}<MODEL>.csv (metric \"{}\")", dir, prefix, metric);
  std::sort(files.begin(), files.end());

  const std::string score_col = metric + "_score";
  std::vector<std::string> order;  // prompt ids in the first file's order
  std::vector<std::unordered_map<std::string, Row>> per_model;
  for (const auto& [model, path] : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open", path);
    CsvReader r(in, path);
    CsvTable t;
    if (!r.next(t.header)) fail("{}: empty file", path);
    int c_id = t.column("prompt_id"), c_prompt = t.column("prompt"), c_time = t.column("mean_time"),
        c_score = t.column(score_col);
    for (auto [c, n] :
         {std::pair{c_id, "prompt_id"}, {c_prompt, "prompt"}, {c_time, "mean_time"}, {c_score, score_col.c_str()}})
      if (c < 0) fail("{}:1: missing column \"{}\" (header: {})", path, n, join(t.header, ","));
    std::unordered_map<std::string, Row> rows;
    std::vector<std::string> f;
    while (r.next(f)) {
      auto loc = where(path, r.line());
      if (f.size() == 1 && f[0].empty()) continue;  // trailing blank line
      if (f.size() != t.header.size()) fail("{}: {} fields where the header has {}", loc, f.size(), t.header.size());
      const auto& id = f[c_id];
      if (id.empty()) fail("{}: empty prompt_id", loc);
      Row row{f[c_prompt], parse_number(f[c_time], loc, "mean_time"), parse_number(f[c_score], loc, score_col),
              r.line()};
      if (row.time < 0) fail("{}: negative mean_time {}", loc, row.time);
      if (!rows.emplace(id, std::move(row)).second) fail("{}: duplicate prompt_id \"{}\"", loc, id);
      if (per_model.empty()) order.push_back(id);
    }
    if (rows.empty()) fail("{}: no data rows", path);
    per_model.push_back(std::move(rows));
  }

  // Every file must hold the same prompts.
  for (std::size_t m = 1; m < files.size(); ++m) {
    for (const auto& id : order) {
      auto it = per_model[m].find(id);
      if (it == per_model[m].end())
        fail("{}: prompt_id \"{}\" (present in {}) is missing", files[m].second, id, files[0].second);
      const auto& a = per_model[0].at(id).prompt;
      if (it->second.prompt != a)
        fail("{}: prompt of \"{}\" differs from {}: \"{}\" vs \"{}\"", where(files[m].second, it->second.line), id,
             files[0].second, excerpt(it->second.prompt), excerpt(a));
    }
    if (per_model[m].size() != order.size())
      for (const auto& [id, row] : per_model[m])
        if (!per_model[0].count(id))
          fail("{}: prompt_id \"{}\" is not in {}", where(files[m].second, row.line), id, files[0].second);
  }

  CemsImport out;
  out.table.source = dir;
  for (const auto& f : files) out.table.candidates.push_back(f.first);
  std::vector<double> cost_sum(files.size(), 0.0);
  for (const auto& id : order) {
    QualityRecord rec;
    rec.id = id;
    rec.prompt = per_model[0].at(id).prompt;
    for (std::size_t m = 0; m < files.size(); ++m) {
      const auto& row = per_model[m].at(id);
      rec.quality.push_back(row.score);
      rec.cost.push_back(row.time);
      cost_sum[m] += row.time;
    }
    rec.line = per_model[0].at(id).line;
    out.table.rows.push_back(std::move(rec));
  }
  out.config.source = dir;
  out.config.cost_unit = "seconds";
  out.config.description = fmt::format(
      "Imported from CEMS ({}; metric {}). Costs: mean seconds per image over {} prompts "
      "(one GeForce RTX 2080 Ti, as published).",
      fs::path(dir).filename().string(), metric, order.size());
  for (std::size_t m = 0; m < files.size(); ++m) {
    Candidate c;
    c.name = files[m].first;
    fill_known(c);
    c.cost = cost_sum[m] / order.size();
    out.config.candidates.push_back(std::move(c));
  }
  return out;
}

}  // namespace catimage

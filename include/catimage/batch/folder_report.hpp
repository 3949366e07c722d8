#pragma once
// What an output folder holds, per prompt, for people to look at (`catimage report`; the page
// is batch/report_page). The folder's kind is read from what is there:
//   cascade     cascade.jsonl (route --generate --cascade, finished): per prompt the first image
//               and the escalation's, which one is kept, the observed score(s), the decision,
//               its cost and the predicted option qualities;
//   sweep       candidates.json (sweep): per prompt one image per candidate (the prompt's row
//               across candidates), with the candidates' costs (measured ones from
//               candidates-measured.json when `table` wrote it);
//   generation  manifest.jsonl / manifest-KofN.jsonl (generate, route --generate; also a cascade
//               folder before its plan finished): the images of each prompt id, with the routes
//               (candidate, cost, predicted qualities, guard margin and fallback) of
//               `route -o FILE` when given or found as DIR/routes.jsonl.
// Every image's scores come from the folder's score files (scores-METRIC.jsonl and the shards'
// scores-METRIC-KofN.jsonl; every metric found), each taken only when it belongs to the image
// the manifest records now (the same key); scores of regenerated images are left out and
// counted in the notes. The folder is read as it is (no lock): a report of a running job is a
// snapshot of what its logs held.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

enum class FolderKind { generation, sweep, cascade };
const char* folder_kind_name(FolderKind kind);  // "generation" | "sweep" | "cascade"

struct ReportImage {
  std::string file;  // relative to the folder, as its manifest records it ("" for a sweep's missing cell)
  std::string candidate;
  std::string role;                      // cascade: "first" or "second"; otherwise ""
  bool kept = false;                     // the prompt's image (generation) or the cascade's kept one; never in a sweep
  bool on_disk = false;                  // the file is there
  std::map<std::string, double> scores;  // metric -> score of the image the manifest records
  std::optional<double> seconds;         // measured generation time (manifest)
  json seed = nullptr;                   // as the manifest records it
};

struct ReportRow {
  std::string id, prompt;
  std::size_t order = 0;          // the prompt's position (prompt file, or the folder's records)
  std::string chosen;             // generation: the routed (or only) candidate; cascade: routed to; sweep: ""
  std::optional<double> cost;     // the routes' or the cascade's cost of the chosen option
  std::optional<bool> escalated;  // cascade
  json predicted = nullptr;       // {candidate: predicted quality} (the cascade's option qualities), or null
  // As recorded, where present: cascade observed, second_score, metrics {METRIC: {observed,
  // predicted, second_score}}, block, explored, propensity; routes margin, fallback.
  json details = json::object();
  std::vector<ReportImage> images;  // sweep: one per candidate, in the sweep's order
};

struct ReportCandidate {
  std::string name;
  std::optional<double> cost;  // config cost (sweep), measured mean (sweep after `table`), routed or option cost
  bool measured = false, estimate = false;
};

struct FolderReport {
  FolderKind kind = FolderKind::generation;
  std::string dir;
  std::vector<std::string> metrics;  // every metric of the folder's score files, sorted
  std::string cascade_metric;        // the metric of the cascade's observed scores ("" if no score file holds them)
  std::string first;                 // cascade: the first candidate
  std::string cost_unit;             // "" when the folder does not say
  std::vector<ReportCandidate> candidates;
  std::vector<ReportRow> rows;
  std::vector<std::string> read;   // the files read (relative to dir, or as given)
  std::vector<std::string> notes;  // what was left out or does not fit, one line each (also logged as warnings)
};

struct FolderReportOptions {
  std::string routes;  // a generation folder's routes (route -o FILE); "": DIR/routes.jsonl when there
};

// Fails (naming the folder, file, line and key) on a folder of none of the kinds and on
// records that are not what their writer writes.
FolderReport read_folder_report(const std::string& dir, const FolderReportOptions& o = {});

}  // namespace catimage

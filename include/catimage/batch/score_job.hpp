#pragma once
// `catimage score`: every image of an output folder (its manifests) or of a JSONL list scored
// with one or several metrics in one pass over the images (each image read once, then given to
// every metric's scorer: CLIP metrics against its prompt, NIMA alone), one JSON line per image in
// each metric's score file. Resumable like generation, per metric: a score file is a locked
// record log; an image is scored again only when its bytes, its prompt, the metric or the scorer
// changed.
#include <cstddef>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct ScoreItem {
  std::string image;  // path as it will be opened
  std::string file;   // as recorded: relative to the input folder / list, or as given
  std::string prompt;
  json origin;        // id, candidate, seed, seconds, ... of the manifest line or list entry
  std::string where;  // "file:line" of the record, for errors
};

// An output folder: the records of its manifest.jsonl and manifest-KofN.jsonl (the last line
// per file wins; a file recorded by two manifests with different keys is an error). A .jsonl
// file: lines {"image": PATH, "prompt": TEXT, ...}, PATH relative to the file's folder.
// Errors name the file and line.
std::vector<ScoreItem> read_score_items(const std::string& input);

// One metric of a job: its scorer folder and its score file.
struct ScoreTarget {
  std::string metric;  // a name of the metric registry (scoring/metrics.hpp)
  std::string scorer;  // its scorer folder
  std::string output;  // its score file (JSONL)
};

struct ScoreJobOptions {
  std::vector<ScoreTarget> targets;  // at least one; no metric or score file twice
  std::string device = "auto";
  int batch = 16;
};

struct ScoreTargetReport {
  std::string metric, output;
  std::size_t scored = 0, reused = 0, truncated = 0;
  double seconds = 0;  // reading the images it scored and its scorer's time (loading excluded)
};

struct ScoreJobReport {
  std::size_t total = 0;
  std::vector<ScoreTargetReport> targets;  // in the order of the options' targets
  double seconds = 0;                      // the whole pass (loading excluded)
};

// `--metric` names with `--scorer` folders: either one folder per metric, in the metrics' order,
// or every folder as METRIC=DIR (any order; each metric once). Outputs are left empty. Fails
// naming what does not pair.
std::vector<ScoreTarget> pair_metric_scorers(const std::vector<std::string>& metrics,
                                             const std::vector<std::string>& scorers);

ScoreJobReport run_score_job(const std::vector<ScoreItem>& items, const ScoreJobOptions& o);

// An output folder's score file: DIR/scores-METRIC.jsonl (whether or not DIR exists yet).
std::string folder_score_file(const std::string& dir, const std::string& metric);
// The default score file of an input: DIR/scores-METRIC.jsonl for a folder, LIST.scores-METRIC.jsonl for a list.
std::string default_score_file(const std::string& input, const std::string& metric);

}  // namespace catimage

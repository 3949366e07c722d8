#pragma once
// `catimage score`: every image of an output folder (its manifests) or of a JSONL list scored
// against its prompt with a CLIP-family scorer, one JSON line per image in a score file.
// Resumable like generation: the score file is a locked record log; an image is scored again
// only when its bytes, its prompt, the metric or the scorer changed.
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

struct ScoreJobOptions {
  std::string scorer;  // CLIPModel folder
  std::string metric;  // clipscore | pickscore
  std::string output;  // the score file (JSONL)
  std::string device = "auto";
  int batch = 16;
};

struct ScoreJobReport {
  std::size_t total = 0, scored = 0, reused = 0, truncated = 0;
  double seconds = 0;  // scoring time of this run (loading excluded)
};

ScoreJobReport run_score_job(const std::vector<ScoreItem>& items, const ScoreJobOptions& o);

// An output folder's score file: DIR/scores-METRIC.jsonl (whether or not DIR exists yet).
std::string folder_score_file(const std::string& dir, const std::string& metric);
// The default score file of an input: DIR/scores-METRIC.jsonl for a folder, LIST.scores-METRIC.jsonl for a list.
std::string default_score_file(const std::string& input, const std::string& metric);

}  // namespace catimage

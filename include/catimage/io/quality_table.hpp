#pragma once
// Quality table: JSONL, one prompt per line,
//   {"id": "DIFF3342", "prompt": "...", "quality": {"SD-Turbo": 34.6, ...}, "cost": {...}}
// `cost` (per-prompt cost of each candidate) is optional, and so are `"weight"` (a number > 0,
// default 1): how much the row counts when a predictor is trained on the table (the kinds
// that take row weights: registry.hpp; `adapt` weights the user's rows against the base table),
// and `"user": true`: a row of the user's own prompts (adapt's merged tables), which trains the
// predictor's user-domain feature (predicted prompts are the user's).
// Every line must name the same candidates. This is what `generate all -> score` and `import cems` produce and what
// `train` and `eval` read; a predictions file has the same form (quality = predicted).
#include <ostream>
#include <string>
#include <vector>

#include "catimage/util/matrix.hpp"

namespace catimage {

struct QualityRecord {
  std::string id;
  std::string prompt;
  std::vector<double> quality;  // one per candidate, table order
  std::vector<double> cost;     // empty when the line has no "cost"
  long line = 0;
  double weight = 1;  // training weight ("weight"; 1 when absent)
  bool user = false;  // a row of the user's own prompts ("user": true)
};

struct QualityTable {
  std::string source;
  std::string content_hash;  // FNV-1a 64 of the file's bytes (load_quality_table); "" when built in memory
  std::vector<std::string> candidates;
  std::vector<QualityRecord> rows;

  int index(const std::string& name) const;  // -1 if absent
  std::vector<double> mean_quality() const;  // weighted by the rows' weights
  bool weighted() const;                     // some row's weight is not 1
  bool has_user_rows() const;                // some row is marked "user"
  Matrix quality_matrix() const;             // rows x candidates
  bool has_costs() const;                    // at least one row has costs
  // Mean per-prompt cost of each candidate over the rows that have costs; Error if none.
  std::vector<double> mean_costs() const;
  // Returns a copy with candidates reordered to `names` (all must exist).
  QualityTable reordered(const std::vector<std::string>& names) const;
  QualityTable subset(const std::vector<std::size_t>& rows) const;
};

QualityTable load_quality_table(const std::string& path);
void write_quality_record(std::ostream& out, const std::vector<std::string>& candidates, const QualityRecord& r);
void write_quality_table(const std::string& path, const QualityTable& t);  // atomic

}  // namespace catimage

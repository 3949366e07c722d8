#pragma once
// K-fold cross-validation of predictor kinds on a quality table, the way model choices are
// made here: (repeated, seeded) folds; per fold, each arm (a kind with its hyper-parameters)
// is trained on the other folds, with a seeded share of those rows held back for the kind's
// own selection (ridge alpha, early stopping), and routed on the held-out fold, where the
// paper's figures are measured. Two arms are compared *paired*: per-fold differences on the
// same folds, their mean and standard deviation.
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/io/table_split.hpp"  // kfold_indices
#include "catimage/predictor/trainer.hpp"

namespace catimage {

struct CvArm {
  std::string label;   // e.g. the kind, or "kind {hyper}"
  TrainRequest train;  // kind, hyper, epochs, metric, costs; the seed is set per fold
};

// Cascade arms: per fold a cascade predictor (cascade_predictor.hpp) trained on the fold's
// training rows, evaluated as "cascade (FIRST)" and "cascade + keep-best (FIRST)" after the
// prompt-only arms.
struct CvCascade {
  std::string first;      // candidate name; empty: no cascade arms
  double alpha = 10;      // its ridge penalty
  double score_cost = 0;  // cost of scoring one image
};

struct CvRequest {
  std::vector<CvArm> arms;  // one or two prompt-only arms; each further arm is compared with the first
  CvCascade cascade;
  // > 0: the prompt-only arms route with the guard (router/guard.hpp) at this margin, the kept
  // candidate being the best single of the fold's training rows (as route with that predictor).
  double margin = 0;
  // Non-empty: every arm routes (and keep-best selects) on the table's metric, and is judged
  // on this table's (the same prompts and images under another metric, matched by id).
  QualityTable judge;
  // > 0: figures measured on the held-out rows whose prompt has at most this many words
  // (training is unchanged), e.g. 6 for short benchmark-style prompts.
  int test_max_words = 0;
  int folds = 5;
  int repeats = 1;
  std::uint64_t seed = 0;
  double val_fraction = 0.1;       // of each fold's training rows
  std::vector<double> costs;       // per candidate, table order
  std::vector<std::string> names;  // candidates, table order
};

// The per-fold figures, in report order: name (as in eval.json where it exists) and label.
struct CvFigure {
  const char* name;
  const char* label;
};
const std::vector<CvFigure>& cv_figures();
// Index of the figure called `name`; Error if unknown.
std::size_t cv_figure_index(const std::string& name);

struct CvFold {
  int repeat = 0, fold = 0;
  std::size_t train_rows = 0, val_rows = 0, test_rows = 0;
  std::vector<std::vector<double>> figures;  // [arm][figure]; NaN where undefined on this fold
};

struct CvResult {
  std::string table;
  std::vector<std::string> arms;  // labels
  int folds = 0, repeats = 0;
  std::uint64_t seed = 0;
  std::size_t rows = 0;
  int test_max_words = 0;
  std::string judge;         // the judging table, when not the table itself
  std::vector<CvFold> runs;  // repeats x folds, in order
};

struct FoldStats {
  double mean = 0, std = 0;  // sample standard deviation (n - 1); 0 when n < 2
  std::size_t n = 0;         // folds where the figure is defined
  std::size_t positive = 0;  // of those, folds where the value is > 0
};
FoldStats fold_stats(const std::vector<double>& values);  // NaNs skipped
// Figure `figure` of arm `arm` over the folds.
FoldStats arm_stats(const CvResult& r, std::size_t arm, std::size_t figure);
// Per-fold difference arm `arm` - arm 0 of `figure` (folds where both are defined).
FoldStats paired_stats(const CvResult& r, std::size_t figure, std::size_t arm = 1);

CvResult cross_validate(const QualityTable& table, const CvRequest& req);

std::string cv_markdown(const CvResult& r, const std::string& title);
json cv_json(const CvResult& r);

}  // namespace catimage

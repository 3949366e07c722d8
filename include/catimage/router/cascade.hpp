#pragma once
// Cascade routing: every prompt is first generated with one candidate (FIRST) and that image
// is scored; then, per prompt, the router either keeps it or pays for a second candidate.
//
// It is ordinary cost-aware routing over per-prompt options once the options are priced:
//   keep FIRST's image       quality s (observed)          cost c_first + score
//   escalate to m != FIRST   quality s + d̂_m (predicted)   cost c_first + score + c_m
//   ... with keep-best       quality s + E[max(0, d_m)]     cost c_first + score + c_m + score
// where d_m = q_m - q_first is predicted from the prompt and the observed score, and with
// keep-best the second image is scored too and the better of the two kept. With those
// (predicted quality, cost) pairs the Router solves lambda and budgets exactly, as for plain
// routing. The realised quality of an option is q_first, q_m, or max(q_first, q_m).
#include <string>
#include <vector>

#include "catimage/util/matrix.hpp"

namespace catimage {

struct CascadeOptions {
  int first = 0;           // candidate index of FIRST
  double score_cost = 0;   // cost of scoring one image, in the candidates' cost unit
  bool keep_best = false;  // score the second image too and keep the better one
  // Score the second image although the first is kept whatever it scores (a cascade that
  // learns from every escalation): its scoring is paid as with keep-best.
  bool score_second = false;
};

// Each option's cost: c_first + score_cost (+ c_m (+ score_cost with keep-best or
// score_second) for m != first).
std::vector<double> cascade_costs(const std::vector<double>& costs, const CascadeOptions& o);

// Each option's predicted quality from the observed scores of FIRST (one per prompt), the
// predicted differences d̂ (prompts x M; column first ignored) and, for keep-best, the
// standard deviation of each candidate's prediction error (per candidate, > 0).
Matrix cascade_predicted(const std::vector<double>& observed, const Matrix& diff, const std::vector<double>& sigma,
                         const CascadeOptions& o);

// Each option's realised quality given the true qualities of every candidate (prompts x M).
// With `judge` (the same images under another metric), keep-best still selects by `truth`
// (the metric it scores with) and the kept image is then valued by `judge`.
Matrix cascade_realised(const Matrix& truth, const CascadeOptions& o, const Matrix* judge = nullptr);

// E[max(0, D)] for D ~ Normal(mu, sigma^2); max(0, mu) when sigma is 0.
double expected_positive_part(double mu, double sigma);

}  // namespace catimage

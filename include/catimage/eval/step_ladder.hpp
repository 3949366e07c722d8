#pragma once
// Quality against denoising steps (the paper's figure 1): candidates named NAME@S (a sweep's
// step ladder) grouped by NAME, the mean quality at each step count, and for a few prompts
// their own curves: the one whose quality gains least from more steps (saturates early), the
// median one and the one that gains most (needs many steps).
#include <string>
#include <vector>

#include "catimage/io/quality_table.hpp"

namespace catimage {

struct StepCurve {
  std::string label;            // the family NAME, or a prompt id and text for prompt curves
  std::vector<int> steps;       // ascending
  std::vector<double> quality;  // mean (family) or the prompt's own quality at each step
};

struct StepLadders {
  std::vector<StepCurve> families;  // one per NAME with at least two step counts
  std::vector<StepCurve> prompts;   // chosen prompts, on the family with the most rungs
  std::string prompts_family;
};

// Parses "NAME@S" (S a positive integer); false for other names.
bool parse_ladder_name(const std::string& candidate, std::string& family, int& steps);
// Empty families when the table has no ladder.
StepLadders step_ladders(const QualityTable& t);
// CSV: kind,label,steps,quality (kind = family | prompt).
std::string step_ladders_csv(const StepLadders& s);

}  // namespace catimage

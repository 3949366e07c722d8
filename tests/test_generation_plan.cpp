// A candidate's GenerationPlan: the family's registry entry states the defaults once; the
// candidate and the command line override them; what cannot run says why, naming the
// candidate and the option.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
using Verdict = GenerationPlan::Verdict;

namespace {

Candidate candidate(const std::string& name, const std::string& family, const std::string& model) {
  Candidate c;
  c.name = name;
  c.family = family;
  if (!model.empty()) c.weights = tiny_model(model);
  return c;
}

GenerationOverrides on_cpu() {
  GenerationOverrides o;
  o.device = "cpu";
  return o;
}

}  // namespace

TEST(Families, PlanTakesTheDefaultsFromTheFamilyAndTheOptionsOverrideThem) {
  struct Case {
    std::string family, model;
    int steps;
    double guidance;
  };
  for (const auto& k : std::vector<Case>{{"sd15", "tiny-sd1", 50, 7.5},
                                         {"sd21", "tiny-sd2", 50, 7.5},
                                         {"sdxl", "tiny-sdxl", 50, 7.5},
                                         {"amused", "tiny-amused", 12, 10.0},
                                         {"pixart", "tiny-pixart", 20, 4.5}}) {
    const GenerationPlan p = plan(candidate("c", k.family, k.model), on_cpu(), "config.json");
    ASSERT_TRUE(p.runs()) << k.family << ": " << p.reason;
    EXPECT_EQ(p.family, find_family(k.family)) << k.family;
    EXPECT_EQ(p.steps, find_family(k.family)->default_steps) << k.family;
    EXPECT_EQ(p.guidance, find_family(k.family)->default_guidance) << k.family;
    EXPECT_EQ(p.steps, k.steps) << k.family;
    EXPECT_EQ(p.guidance, k.guidance) << k.family;
    EXPECT_EQ(p.width, 0) << k.family;  // the model's own size
    EXPECT_EQ(p.height, 0) << k.family;
    EXPECT_EQ(p.pipeline.folder, tiny_model(k.model)) << k.family;
    EXPECT_EQ(p.pipeline.device, "cpu");
    EXPECT_EQ(p.dtype, "fp32");
    EXPECT_TRUE(p.reason.empty() && p.why.empty()) << p.reason;
  }
  // the candidate's settings over the family's, the command line's over both
  Candidate c = candidate("small", "sd15", "tiny-sd1");
  c.steps = 3;
  c.guidance = 2.0;
  c.width = 24;
  c.height = 16;
  c.scheduler = "euler";
  c.vae = tiny_model("tiny-taesd");
  GenerationPlan p = plan(c, on_cpu(), "config.json");
  ASSERT_TRUE(p.runs()) << p.reason;
  EXPECT_EQ(std::make_pair(p.steps, p.guidance), std::make_pair(3, 2.0));
  EXPECT_EQ(std::make_pair(p.width, p.height), std::make_pair(24, 16));
  EXPECT_EQ(p.pipeline.scheduler, "euler");
  EXPECT_EQ(p.pipeline.vae, tiny_model("tiny-taesd"));
  GenerationOverrides o = on_cpu();
  o.steps = 5;
  o.guidance = 0.0;
  o.height = 32;
  p = plan(c, o, "config.json");
  ASSERT_TRUE(p.runs()) << p.reason;
  EXPECT_EQ(std::make_pair(p.steps, p.guidance), std::make_pair(5, 0.0));
  EXPECT_EQ(std::make_pair(p.width, p.height), std::make_pair(24, 32));
}

TEST(Families, PlanSaysWhyACandidateCannotRunNamingItAndTheOption) {
  // Cannot run here (route leaves these out): no weights, a family this runtime does not run.
  GenerationPlan p = plan(candidate("masked", "amused", ""), on_cpu(), "config.json");
  EXPECT_EQ(p.verdict, Verdict::cannot_run_here);
  EXPECT_EQ(p.why, "no \"weights\" folder in the config");
  EXPECT_TRUE(contains(p.reason, "config.json: candidate \"masked\" has no \"weights\"")) << p.reason;
  EXPECT_TRUE(contains(p.reason, "AmusedPipeline folder")) << p.reason;  // what the folder must hold
  p = plan(candidate("ext", "other", ""), on_cpu(), "config.json");
  EXPECT_EQ(p.verdict, Verdict::cannot_run_here);
  EXPECT_TRUE(contains(p.reason, "config.json: candidate \"ext\": family \"other\" is not run by this runtime"))
      << p.reason;
  // Refused (an error): it could run, but not as asked. The reason names the candidate and
  // the option.
  const auto refused = [](const Candidate& c, const GenerationOverrides& o, const std::string& what) {
    const GenerationPlan r = plan(c, o, "config.json");
    EXPECT_EQ(r.verdict, Verdict::refused) << what;
    EXPECT_TRUE(contains(r.reason, "config.json: candidate \"" + c.name + "\": ")) << r.reason;
    EXPECT_TRUE(contains(r.reason, what)) << r.reason;
  };
  Candidate masked = candidate("masked", "amused", "tiny-amused");
  masked.scheduler = "euler";
  refused(masked, on_cpu(), "\"scheduler\" euler");
  Candidate small = candidate("small", "sd15", "tiny-sd1");
  small.scheduler = "heun";
  refused(small, on_cpu(), "scheduler: sampler \"heun\" is unknown");
  small.scheduler.reset();
  GenerationOverrides o = on_cpu();
  o.width = 20;
  refused(small, o, "--width must be a multiple of 8");
  o = on_cpu();
  o.dtype = "fp8";
  refused(small, o, "--dtype \"fp8\"");
  small.width = 12;
  refused(small, on_cpu(), "width 12 is not a positive multiple of 8");
  small.width.reset();
  small.weights = "/nonexistent/model";
  refused(small, on_cpu(), "/nonexistent/model");
  EXPECT_TRUE(plan(candidate("small", "sd15", "tiny-sd1"), on_cpu(), "config.json").runs());
}

// Sampler names as A1111 and ComfyUI users write them: every spelling parses to one scheduler
// and sigma schedule; what cannot run is refused naming what can; the labels a PNG's
// parameters get name what ran, in a form that parses back to it. (That each name runs what
// diffusers runs for it: Parity.SamplerNamesMatchDiffusersWithTheMappedConfig.)
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "catimage/batch/candidate_rules.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/diffusion/schedulers/scheduler.hpp"
#include "catimage/diffusion/schedulers/sigma_schedules.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

// Stable Diffusion 1.5's scheduler_config.json (PNDM: no timestep_spacing, each class's default).
ConfigView sd15_folder() {
  return ConfigView(json{{"_class_name", "PNDMScheduler"},
                         {"beta_start", 0.00085},
                         {"beta_end", 0.012},
                         {"beta_schedule", "scaled_linear"},
                         {"num_train_timesteps", 1000},
                         {"set_alpha_to_one", false},
                         {"skip_prk_steps", true},
                         {"steps_offset", 1},
                         {"clip_sample", false}},
                    "sd15/scheduler_config.json");
}

// A folder whose scheduler is DPM-Solver++ with Karras sigmas and "leading" spacing.
ConfigView karras_folder() {
  json j = sd15_folder().raw();
  j.update(
      {{"_class_name", "DPMSolverMultistepScheduler"}, {"use_karras_sigmas", true}, {"timestep_spacing", "leading"}});
  return ConfigView(j, "karras/scheduler_config.json");
}

std::pair<std::string, std::string> labels(const std::string& name, const ConfigView& folder) {
  auto s = make_scheduler(name, folder);
  return {s->sampler_label(), s->schedule_label()};
}

}  // namespace

TEST(SamplerNames, EverySpellingOfANameParsesToOneSchedulerAndSchedule) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Euler", "euler"},
      {"EULER", "euler"},
      {"EulerDiscreteScheduler", "euler"},
      {"k_euler", "euler"},
      {"Euler a", "euler_ancestral"},
      {"euler_a", "euler_ancestral"},
      {"euler_ancestral", "euler_ancestral"},
      {"k_euler_ancestral", "euler_ancestral"},
      {"DPM++ 2M", "dpmpp_2m"},
      {"dpmpp_2m", "dpmpp_2m"},
      {"DPMSolverMultistepScheduler", "dpmpp_2m"},
      {"DPM++ 2M Karras", "dpmpp_2m karras"},
      {"dpm++ 2m karras", "dpmpp_2m karras"},
      {"dpmpp_2m karras", "dpmpp_2m karras"},
      {"dpmpp_2m_karras", "dpmpp_2m karras"},
      {"DPM++ 2M, Karras", "dpmpp_2m karras"},
      {"Sampler: DPM++ 2M, Schedule type: Karras", "dpmpp_2m karras"},
      {"DPM++ 2M Exponential", "dpmpp_2m exponential"},
      {"DPM++ 2M SDE", "dpmpp_2m_sde"},
      {"DPM++ 2M SDE Karras", "dpmpp_2m_sde karras"},
      {"dpmpp_2m_sde_karras", "dpmpp_2m_sde karras"},
      {"k_dpmpp_2m_sde", "dpmpp_2m_sde"},
      {"Euler Karras", "euler karras"},
      {"euler exponential", "euler exponential"},
      {"euler normal", "euler normal"},
      {"Euler Uniform", "euler normal"},
      {"euler sgm_uniform", "euler sgm_uniform"},
      {"Euler SGM Uniform", "euler sgm_uniform"},
      {"Euler SGMUniform", "euler sgm_uniform"},
      {"euler simple", "euler sgm_uniform"},
      {"Euler a, Schedule type: SGM Uniform", "euler_ancestral sgm_uniform"},
      {"euler_ancestral normal", "euler_ancestral normal"},
      {"DDIM", "ddim"},
      {"ddim sgm_uniform", "ddim sgm_uniform"},
      {"ddim normal", "ddim normal"},
      {"LCM", "lcm"},
      {"LCMScheduler", "lcm"},
      {"amused", "amused"},  // known, for the amused family's own pipeline
  };
  for (const auto& [text, canonical] : cases) EXPECT_EQ(parse_sampler(text).canonical(), canonical) << text;
  // Every registry spelling of every sampler, alone and with every spelling of each schedule it
  // takes: no two names collide.
  for (const auto& e : scheduler_registry()) {
    std::vector<std::string> spellings = {e.name, e.label};
    if (find_scheduler(e.class_name) == &e) spellings.push_back(e.class_name);  // a class's first row
    spellings.insert(spellings.end(), e.aliases.begin(), e.aliases.end());
    for (const auto& sp : spellings) {
      EXPECT_EQ(parse_sampler(sp).scheduler, &e) << sp;
      EXPECT_EQ(parse_sampler(sp).schedule, nullptr) << sp;
      for (const auto& name : e.schedules) {
        const ScheduleEntry* s = find_schedule(name);
        ASSERT_NE(s, nullptr) << e.name << " takes an unknown schedule " << name;
        std::vector<std::string> ss = {s->name, s->label};
        ss.insert(ss.end(), s->aliases.begin(), s->aliases.end());
        for (const auto& x : ss) {
          const auto c = parse_sampler(sp + " " + x);
          EXPECT_EQ(std::make_pair(c.scheduler, c.schedule), std::make_pair(&e, s)) << sp << " " << x;
        }
      }
    }
  }
}

TEST(SamplerNames, UnknownNamesAreRefusedListingTheAcceptedOnes) {
  const std::string help = sampler_names_help();
  EXPECT_TRUE(contains(help, "Euler a (euler_ancestral)")) << help;
  EXPECT_TRUE(contains(help, "DPM++ 2M (dpmpp_2m)")) << help;
  EXPECT_TRUE(contains(help, "Uniform (normal), Karras, Exponential, SGM Uniform")) << help;
  EXPECT_FALSE(contains(help, "amused")) << help;  // not runnable by the UNet pipelines
  for (const char* name : {"heun", "DPM++ SDE Karras", "Euler Beta", "Karras", "", "Euler, Schedule type: Automatic"}) {
    const std::string msg = error_message([&] { parse_sampler(name); });
    EXPECT_TRUE(contains(msg, std::string("sampler \"") + name + "\" is unknown")) << msg;
    EXPECT_TRUE(contains(msg, help)) << msg;
  }
  // make_scheduler says which file it was building from
  const std::string msg = error_message([] { make_scheduler("DPM++ SDE", sd15_folder()); });
  EXPECT_TRUE(contains(msg, "sd15/scheduler_config.json: sampler \"DPM++ SDE\" is unknown")) << msg;
  // known but not run by a UNet pipeline
  EXPECT_TRUE(contains(error_message([] { make_scheduler("amused", sd15_folder()); }), "not implemented"));
}

TEST(SamplerNames, ASamplerRefusesASchedulesItHasNoOptionFor) {
  // diffusers' Euler ancestral and DDIM have a timestep spacing but no Karras or exponential
  // sigmas; LCM picks its own timesteps
  std::string msg = error_message([] { parse_sampler("Euler a Karras"); });
  EXPECT_TRUE(contains(msg,
                       "sampler \"Euler a Karras\": Euler a takes the schedule types Uniform (normal), SGM "
                       "Uniform, not Karras (EulerAncestralDiscreteScheduler has no such option)"))
      << msg;
  msg = error_message([] { parse_sampler("ddim exponential"); });
  EXPECT_TRUE(contains(msg, "DDIM takes the schedule types Uniform (normal), SGM Uniform, not Exponential")) << msg;
  msg = error_message([] { parse_sampler("lcm sgm_uniform"); });
  EXPECT_TRUE(
      contains(msg, "LCM takes no schedule type (write \"LCM\"); SGM Uniform is for DDIM, Euler, Euler a, DPM++ 2M"))
      << msg;
}

TEST(SamplerNames, ASchedulePutsItsValuesOverTheFoldersConfig) {
  // without a schedule the folder's file decides: Karras here
  auto bare = make_scheduler("DPM++ 2M", karras_folder());
  auto karras = make_scheduler("DPM++ 2M Karras", sd15_folder());
  bare->set_timesteps(7);
  karras->set_timesteps(7);
  EXPECT_EQ(bare->timesteps(), karras->timesteps());
  EXPECT_EQ(bare->sigmas(), karras->sigmas());
  // a schedule turns the folder's Karras off and sets its spacing
  auto normal = make_scheduler("dpmpp_2m normal", karras_folder());
  normal->set_timesteps(7);
  EXPECT_NE(normal->sigmas(), bare->sigmas());
  EXPECT_EQ(normal->schedule().timestep_spacing, "linspace");
  auto expo = make_scheduler("dpmpp_2m exponential", karras_folder());
  expo->set_timesteps(7);
  EXPECT_NE(expo->sigmas(), bare->sigmas());
  for (std::size_t i = 1; i + 1 < expo->sigmas().size(); ++i)  // evenly spaced in log sigma
    EXPECT_NEAR(std::log(expo->sigmas()[i - 1] / expo->sigmas()[i]), std::log(expo->sigmas()[0] / expo->sigmas()[1]),
                1e-4);
  // errors in the merged config name the file and the schedule
  json j = sd15_folder().raw();
  j["timestep_spacing"] = "random";
  const std::string msg = error_message([&] { make_scheduler("euler karras", ConfigView(j, "x.json")); });
  EXPECT_TRUE(contains(msg, "x.json with schedule karras")) << msg;
  EXPECT_TRUE(contains(msg, "timestep_spacing")) << msg;
}

TEST(SamplerNames, TheLabelsWrittenBackNameWhatRanAndParseBackToIt) {
  using L = std::pair<std::string, std::string>;
  EXPECT_EQ(labels("DPM++ 2M Karras", sd15_folder()), L("DPM++ 2M", "Karras"));
  EXPECT_EQ(labels("dpmpp_2m", karras_folder()), L("DPM++ 2M", "Karras"));  // the folder's Karras
  EXPECT_EQ(labels("dpmpp_2m normal", karras_folder()), L("DPM++ 2M", "Uniform"));
  EXPECT_EQ(labels("Euler", sd15_folder()), L("Euler", "Uniform"));  // Euler's default spacing: linspace
  EXPECT_EQ(labels("Euler Exponential", sd15_folder()), L("Euler", "Exponential"));
  EXPECT_EQ(labels("euler simple", sd15_folder()), L("Euler", "SGM Uniform"));  // one schedule in diffusers
  EXPECT_EQ(labels("Euler a", karras_folder()), L("Euler a", ""));              // "leading": A1111 has no such type
  EXPECT_EQ(labels("DDIM", sd15_folder()), L("DDIM", ""));                      // DDIM's default: "leading"
  EXPECT_EQ(labels("ddim normal", sd15_folder()), L("DDIM", "Uniform"));
  EXPECT_EQ(labels("LCM", sd15_folder()), L("LCM", ""));  // its own timesteps
  EXPECT_EQ(labels("DPM++ 2M SDE Karras", sd15_folder()), L("DPM++ 2M SDE", "Karras"));
  json sde = karras_folder().raw();
  sde["algorithm_type"] = "sde-dpmsolver++";  // a folder's file asking for the SDE: a bare name runs it
  EXPECT_EQ(labels("DPM++ 2M", ConfigView(sde, "sde.json")), L("DPM++ 2M SDE", "Karras"));
  // "Sampler: <label>, Schedule type: <label>" names the schedule that ran, on the same folder
  for (const std::string name :
       {"Euler", "Euler a", "DPM++ 2M", "DDIM", "LCM", "DPM++ 2M Karras", "DPM++ 2M SDE", "dpmpp_2m_sde exponential",
        "euler karras", "Euler Exponential", "dpmpp_2m exponential", "euler sgm_uniform", "euler_ancestral sgm_uniform",
        "ddim sgm_uniform", "euler normal", "dpmpp_2m normal", "ddim normal"}) {
    for (const auto& folder : {sd15_folder(), karras_folder()}) {
      auto ran = make_scheduler(name, folder);
      const std::string text = "Sampler: " + ran->sampler_label() +
                               (ran->schedule_label().empty() ? "" : ", Schedule type: " + ran->schedule_label());
      auto again = make_scheduler(text, folder);
      ran->set_timesteps(7);
      again->set_timesteps(7);
      EXPECT_EQ(again->class_name(), ran->class_name()) << name << " -> " << text;
      EXPECT_EQ(again->timesteps(), ran->timesteps()) << name << " -> " << text;
      EXPECT_EQ(again->sigmas(), ran->sigmas()) << name << " -> " << text;
    }
  }
}

TEST(SamplerNames, EverySpellingPlansOneSchedulerAndAnotherScheduleAnotherImageKey) {
  Candidate c;
  c.name = "small";
  c.family = "sd15";
  c.weights = tiny_model("tiny-sd1");
  GenerationOverrides o;
  o.device = "cpu";
  auto planned = [&](const std::string& name) {
    c.scheduler = name;
    const GenerationPlan p = plan(c, o, "config.json");
    EXPECT_TRUE(p.runs()) << name << ": " << p.reason;
    return p.pipeline.scheduler;  // what the image key hashes (batch/image_key)
  };
  EXPECT_EQ(planned("DPM++ 2M Karras"), "dpmpp_2m karras");
  EXPECT_EQ(planned("dpmpp_2m_karras"), "dpmpp_2m karras");
  EXPECT_EQ(planned("Sampler: DPM++ 2M, Schedule type: Karras"), "dpmpp_2m karras");
  EXPECT_EQ(planned("DPMSolverMultistepScheduler"), "dpmpp_2m");
  EXPECT_EQ(planned("dpmpp_2m exponential"), "dpmpp_2m exponential");
  c.scheduler = "Euler a Karras";
  GenerationPlan p = plan(c, o, "config.json");
  EXPECT_EQ(p.verdict, GenerationPlan::Verdict::refused);
  EXPECT_TRUE(contains(p.reason,
                       "config.json: candidate \"small\": scheduler: sampler \"Euler a Karras\": Euler a "
                       "takes the schedule types"))
      << p.reason;
}

TEST(SamplerNames, ACandidatesConfigTakesThemAndKeepsTheSpelling) {
  auto d = temp_dir();
  auto cfg = write(d / "c.json", R"({"candidates": [
    {"name": "a", "family": "sd15", "scheduler": "DPM++ 2M Karras", "cost": {"value": 1, "unit": "seconds"}},
    {"name": "b", "family": "sd15", "scheduler": "euler_ancestral sgm_uniform", "cost": {"value": 1, "unit": "seconds"}}]})");
  const auto set = load_candidates(cfg, runtime_candidate_rules());
  EXPECT_EQ(*set.candidates[0].scheduler, "DPM++ 2M Karras");
  EXPECT_EQ(candidates_to_json(set)["candidates"][1]["scheduler"], "euler_ancestral sgm_uniform");
  write(d / "c.json", R"({"candidates": [
    {"name": "a", "family": "sd15", "scheduler": "Euler a Karras", "cost": {"value": 1, "unit": "seconds"}}]})");
  const std::string msg = error_message([&] { load_candidates(cfg, runtime_candidate_rules()); });
  EXPECT_TRUE(contains(msg, "c.json")) << msg;
  EXPECT_TRUE(contains(msg, "candidates[0] (\"a\").scheduler: sampler \"Euler a Karras\": Euler a takes")) << msg;
}

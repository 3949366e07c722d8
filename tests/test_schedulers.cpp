#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/diffusion/schedulers/scheduler.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

// Stable Diffusion's training schedule, as its scheduler_config.json files give it.
json sd_config(json extra = json::object()) {
  json j = {{"num_train_timesteps", 1000}, {"beta_start", 0.00085},
            {"beta_end", 0.012},           {"beta_schedule", "scaled_linear"},
            {"clip_sample", false},        {"set_alpha_to_one", false},
            {"steps_offset", 1},           {"timestep_spacing", "leading"}};
  j.update(extra);
  return j;
}

std::unique_ptr<Scheduler> make(const std::string& cls, json cfg, int steps) {
  auto s = make_scheduler(cls, ConfigView(std::move(cfg), "scheduler_config.json"));
  s->set_timesteps(steps);
  return s;
}

std::vector<double> ints(std::initializer_list<double> v) { return v; }

}  // namespace

// Values diffusers gives for these configurations (documented in its tests and issues).
TEST(Schedulers, TimestepsOfKnownConfigurations) {
  auto ddim = make("DDIMScheduler", sd_config(), 50);
  ASSERT_EQ(ddim->timesteps().size(), 50u);
  EXPECT_EQ(ddim->timesteps().front(), 981);
  EXPECT_EQ(ddim->timesteps()[1], 961);
  EXPECT_EQ(ddim->timesteps().back(), 1);

  auto turbo = make("EulerDiscreteScheduler", sd_config({{"timestep_spacing", "trailing"}, {"steps_offset", 0}}), 1);
  EXPECT_EQ(turbo->timesteps(), ints({999}));
  ASSERT_EQ(turbo->sigmas().size(), 2u);
  EXPECT_NEAR(turbo->sigmas()[0], 14.6146, 1e-4);
  EXPECT_EQ(turbo->sigmas()[1], 0.0f);
  EXPECT_NEAR(turbo->init_noise_sigma(), 14.6146, 1e-4);

  auto lin = make("EulerDiscreteScheduler", sd_config({{"timestep_spacing", "linspace"}, {"steps_offset", 0}}), 50);
  EXPECT_EQ(lin->timesteps()[0], 999);
  EXPECT_NEAR(lin->timesteps()[1], 978.6122, 1e-3);
  EXPECT_EQ(lin->timesteps().back(), 0);
  EXPECT_NEAR(lin->sigmas()[49], 0.0292, 1e-4);

  auto lead = make("EulerDiscreteScheduler", sd_config(), 30);  // SDXL's scheduler config
  EXPECT_EQ(lead->timesteps()[0], 958);
  EXPECT_EQ(lead->timesteps().back(), 1);
  EXPECT_NEAR(lead->init_noise_sigma(), std::sqrt(lead->sigmas()[0] * lead->sigmas()[0] + 1.0), 1e-4);

  auto ea = make("EulerAncestralDiscreteScheduler", sd_config({{"timestep_spacing", "trailing"}}), 4);
  EXPECT_EQ(ea->timesteps(), ints({999, 749, 499, 249}));

  auto lcm = make("LCMScheduler", sd_config(), 4);
  EXPECT_EQ(lcm->timesteps(), ints({999, 759, 499, 259}));
  EXPECT_THROW(make("LCMScheduler", sd_config(), 51), Error);

  auto dpm = make("DPMSolverMultistepScheduler", sd_config(), 20);
  ASSERT_EQ(dpm->timesteps().size(), 20u);
  EXPECT_EQ(dpm->timesteps()[0], 941);
  EXPECT_EQ(dpm->timesteps().back(), 48);
  EXPECT_EQ(dpm->sigmas().back(), 0.0f);

  auto karras = make("DPMSolverMultistepScheduler", sd_config({{"use_karras_sigmas", true}}), 25);
  EXPECT_NEAR(karras->sigmas()[0], 14.6146, 1e-4);
  EXPECT_NEAR(karras->sigmas()[24], 0.0292, 1e-4);
  EXPECT_EQ(karras->timesteps()[0], 999);
  for (std::size_t i = 1; i < karras->sigmas().size(); ++i) EXPECT_LT(karras->sigmas()[i], karras->sigmas()[i - 1]);
  EXPECT_EQ(karras->sampler_label(), "DPM++ 2M");  // A1111 1.9's "Sampler: DPM++ 2M, Schedule type: Karras"
  EXPECT_EQ(karras->schedule_label(), "Karras");
}

// With a model that knows the clean sample, every deterministic sampler ends on it.
TEST(Schedulers, OraclePredictionsRecoverTheCleanSample) {
  torch::manual_seed(0);
  auto x0 = torch::randn({1, 4, 4, 4}) * 0.5;
  auto eps = torch::randn({1, 4, 4, 4});
  const NoiseSource no_noise = []() -> torch::Tensor { throw Error("unexpected noise draw"); };
  for (std::string pred : {"epsilon", "v_prediction", "sample"}) {
    for (std::string cls : {"EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "DDIMScheduler",
                            "DPMSolverMultistepScheduler"}) {
      if (cls == "EulerAncestralDiscreteScheduler" && pred == "sample") continue;
      for (int steps : {1, 4, 9}) {
        auto s = make(cls, sd_config({{"prediction_type", pred}, {"set_alpha_to_one", true}}), steps);
        const bool sigma_based = !s->sigmas().empty() && cls != "DPMSolverMultistepScheduler";
        auto x = sigma_based ? x0 + s->sigmas()[0] * eps : torch::Tensor();
        if (!sigma_based) {
          // variance-preserving sample at the first timestep
          float a;
          if (cls == "DDIMScheduler") {
            a = s->alphas_cumprod()[static_cast<long>(s->timesteps()[0])].item<float>();
          } else {
            const float sg = s->sigmas()[0];
            a = 1.0f / (sg * sg + 1.0f);
          }
          x = std::sqrt(a) * x0 + std::sqrt(1 - a) * eps;
        }
        int draws = 0;
        NoiseSource noise = [&] {
          ++draws;
          return torch::randn({1, 4, 4, 4});
        };
        for (std::size_t i = 0; i < s->timesteps().size(); ++i) {
          // the exact prediction for the current sample
          torch::Tensor e, v, in = s->scale_model_input(x, i);
          float alpha, sigma;
          if (sigma_based) {
            const float sg = s->sigmas()[i];
            e = (x - x0) / sg;
            alpha = 1.0f / std::sqrt(sg * sg + 1.0f), sigma = sg * alpha;
          } else if (cls == "DDIMScheduler") {
            const float a = s->alphas_cumprod()[static_cast<long>(s->timesteps()[i])].item<float>();
            alpha = std::sqrt(a), sigma = std::sqrt(1 - a);
            e = (x - alpha * x0) / sigma;
          } else {
            const float sg = s->sigmas()[i];
            alpha = 1.0f / std::sqrt(sg * sg + 1.0f), sigma = sg * alpha;
            e = (x - alpha * x0) / sigma;
          }
          auto out = pred == "epsilon" ? e : pred == "sample" ? x0 : alpha * e - sigma * x0;
          // the model's input: the Euler samplers divide by sqrt(sigma^2 + 1) (a variance-exploding sample),
          // DDIM and DPM-Solver++ pass the variance-preserving sample as it is (diffusers' scale_model_input)
          const auto expected_in = sigma_based ? x / std::sqrt(s->sigmas()[i] * s->sigmas()[i] + 1.0f) : x;
          EXPECT_LT((in - expected_in).abs().max().item<float>(), 1e-6) << cls << " " << pred << " step " << i;
          x = s->step(out, i, x, cls == "EulerAncestralDiscreteScheduler" ? noise : no_noise);
        }
        EXPECT_LT((x - x0).abs().max().item<float>(), 2e-4) << cls << " " << pred << " " << steps;
        if (cls == "EulerAncestralDiscreteScheduler") EXPECT_EQ(draws, steps);  // diffusers draws on every step
      }
    }
  }
}

TEST(Schedulers, LcmDrawsNoiseBetweenStepsOnly) {
  auto s = make("LCMScheduler", sd_config(), 3);
  int draws = 0;
  NoiseSource noise = [&] {
    ++draws;
    return torch::zeros({1, 4, 2, 2});
  };
  auto x = torch::randn({1, 4, 2, 2});
  for (std::size_t i = 0; i < 3; ++i) x = s->step(torch::zeros_like(x), i, x, noise);
  EXPECT_EQ(draws, 2);
}

TEST(Schedulers, ConfigErrorsNameTheKey) {
  auto expect_error = [](const std::string& cls, json cfg, const std::string& key) {
    try {
      make_scheduler(cls, ConfigView(cfg, "sched.json"));
      ADD_FAILURE() << "accepted " << cfg.dump();
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "sched.json")) << e.what();
      EXPECT_TRUE(contains(e.what(), key)) << e.what();
    }
  };
  expect_error("DDIMScheduler", sd_config({{"beta_schedule", "sigmoid"}}), "beta_schedule");
  expect_error("EulerDiscreteScheduler", sd_config({{"timestep_spacing", "random"}}), "timestep_spacing");
  expect_error("DPMSolverMultistepScheduler", sd_config({{"algorithm_type", "dpmsolver"}}), "algorithm_type");
  expect_error("DPMSolverMultistepScheduler", sd_config({{"solver_order", 3}}), "solver_order");
  expect_error("DDIMScheduler", sd_config({{"thresholding", true}}), "thresholding");
  expect_error("EulerDiscreteScheduler", sd_config({{"steps_offset", "one"}}), "steps_offset");
}

TEST(Schedulers, RegistryFindsByNameOrClassAndBuildsThatClass) {
  std::set<std::string> names;
  for (const auto& e : scheduler_registry()) {
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_FALSE(e.description.empty()) << e.name;
    EXPECT_FALSE(e.label.empty()) << e.name;
    EXPECT_EQ(find_scheduler(e.name), &e);
    EXPECT_EQ(find_scheduler(e.class_name)->class_name, e.class_name);
    if (!e.make) continue;
    auto s = make_scheduler(e.name, ConfigView(sd_config(), "sched.json"));
    EXPECT_EQ(s->class_name(), e.class_name);
    EXPECT_EQ(s->sampler_label(), e.label);  // what a PNG's "Sampler:" says is the registry's name
  }
  EXPECT_EQ(find_scheduler("EulerAncestralDiscreteScheduler")->name, "euler_ancestral");
  EXPECT_EQ(find_scheduler("heun"), nullptr);
  ASSERT_NE(find_scheduler("amused"), nullptr);  // named by CEMS tables, not runnable here
  EXPECT_FALSE(find_scheduler("amused")->make);
  EXPECT_EQ(scheduler_names(", ", true), "ddim, euler, euler_ancestral, dpmpp_2m, dpmpp_2m_sde, lcm");
  EXPECT_EQ(scheduler_names("|"), "ddim|euler|euler_ancestral|dpmpp_2m|dpmpp_2m_sde|lcm|amused");
  // two rows of one class: the class name finds the first (the folder's file decides the rest)
  EXPECT_EQ(find_scheduler("DPMSolverMultistepScheduler")->name, "dpmpp_2m");
}

TEST(Schedulers, UnknownOrUnrunnableSchedulersListTheAcceptedNames) {
  for (const char* name : {"PNDMScheduler", "heun", "amused"}) {
    try {
      make_scheduler(name, ConfigView(sd_config(), "sched.json"));
      ADD_FAILURE() << "accepted " << name;
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), std::string("\"") + name + "\"")) << e.what();
      EXPECT_TRUE(contains(e.what(), "sched.json")) << e.what();
      EXPECT_TRUE(contains(e.what(), sampler_names_help())) << e.what();
    }
  }
}

TEST(Schedulers, ZeroSnrAndCosineSchedules) {
  auto z = make("DDIMScheduler", sd_config({{"rescale_betas_zero_snr", true}, {"timestep_spacing", "trailing"}}), 4);
  EXPECT_EQ(z->timesteps(), ints({999, 749, 499, 249}));
  EXPECT_LT(z->alphas_cumprod()[999].item<float>(), 1e-9);  // DDIM keeps the zero
  auto ze = make("EulerDiscreteScheduler",
                 sd_config({{"rescale_betas_zero_snr", true}, {"timestep_spacing", "trailing"}}), 4);
  EXPECT_NEAR(ze->alphas_cumprod()[999].item<float>(), std::pow(2.0, -24), 1e-12);  // sigma-based: finite sigma
  auto cos = make("DDIMScheduler", {{"beta_schedule", "squaredcos_cap_v2"}, {"timestep_spacing", "linspace"}}, 5);
  EXPECT_EQ(cos->timesteps(), ints({999, 749, 500, 250, 0}));
  EXPECT_GT(cos->alphas_cumprod()[0].item<float>(), 0.99f);
}

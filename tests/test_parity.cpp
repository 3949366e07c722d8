// Parity with diffusers: tests/fixtures/parity/ holds what diffusers' own modules,
// schedulers and denoising loop computed on the same tiny random-weight models
// (scripts/make_parity_fixtures.sh; CLIP text encoders through OpenAI CLIP's reference
// transformer). fp32 on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>

#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/io/weights.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("reference").get(name); }
const json& meta() { return reference_meta("reference"); }
// Max |a - b|; the largest per test is printed (the README quotes these).
float worst = 0;
float err(const torch::Tensor& a, const torch::Tensor& b) {
  const float e = max_abs_diff(a, b);
  worst = std::max(worst, e);
  return e;
}

struct ReportWorst : ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { worst = 0; }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (std::string(t.test_suite_name()) == "Parity") std::printf("[parity] %s: max abs error %.3g\n", t.name(), worst);
  }
};
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new ReportWorst);
  return true;
}();

}  // namespace

// The references were made on the weights catimage writes with seed 7; if libtorch ever
// draws different random weights, say so instead of reporting numeric mismatches.
TEST(Parity, TinyModelsAreTheOnesTheReferencesUsed) {
  for (const char* m : {"tiny-sd1", "tiny-sd2", "tiny-sdxl", "tiny-taesd"}) tiny_model(m);
  const auto root = fs::path(tiny_model("tiny-sd1")).parent_path();
  auto got = weight_sums(root.string(), "tiny-*/*/*.safetensors tiny-taesd/*.safetensors");
  ASSERT_EQ(got, slurp(fixture("parity/weights.sha256")))
      << "the tiny models' random weights differ from the ones tests/fixtures/parity was made "
         "with; rerun scripts/make_parity_fixtures.sh";
}

TEST(Parity, TokenIdsMatchTheReferenceTokenizer) {
  const std::vector<std::pair<std::string, std::string>> toks = {
      {"sd1", "tiny-sd1/tokenizer"}, {"sd2", "tiny-sd2/tokenizer"}, {"sdxl2", "tiny-sdxl/tokenizer_2"}};
  for (const auto& [key, dir] : toks) {
    auto tok = ClipTokenizer::from_folder(fixture(dir));
    auto ids = R("te." + key + ".ids").to(torch::kInt64);
    const auto& prompts = meta()["prompts"];
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      auto mine = tok.encode_padded(prompts[i].get<std::string>());
      auto theirs = ids[i];
      std::vector<int> t(theirs.data_ptr<std::int64_t>(), theirs.data_ptr<std::int64_t>() + 77);
      EXPECT_EQ(mine, t) << key << " " << prompts[i];
    }
  }
}

TEST(Parity, TextEncodersMatch) {
  torch::NoGradGuard ng;
  const std::vector<std::pair<std::string, std::string>> encs = {{"sd1", "tiny-sd1/text_encoder"},
                                                                 {"sd2", "tiny-sd2/text_encoder"},
                                                                 {"sdxl1", "tiny-sdxl/text_encoder"},
                                                                 {"sdxl2", "tiny-sdxl/text_encoder_2"}};
  for (const auto& [key, dir] : encs) {
    auto te = load_clip_text_model(tiny_model(dir.substr(0, dir.find('/'))) + dir.substr(dir.find('/')));
    auto out = te(R("te." + key + ".ids").to(torch::kInt64));
    EXPECT_LE(err(out.last_hidden_state, R("te." + key + ".last")), 1e-4) << key;
    EXPECT_LE(err(out.penultimate, R("te." + key + ".penultimate")), 1e-4) << key;
    EXPECT_LE(err(out.pooled, R("te." + key + ".pooled")), 1e-4) << key;
    if (reference_tensors("reference").has("te." + key + ".text_embeds"))
      EXPECT_LE(err(out.text_embeds, R("te." + key + ".text_embeds")), 1e-4);
  }
}

TEST(Parity, UNetsMatch) {
  torch::NoGradGuard ng;
  for (const char* k : {"sd1", "sd2", "sdxl"}) {
    auto unet = load_unet(tiny_model(std::string("tiny-") + k) + "/unet");
    const std::string p = std::string("unet.") + k + ".";
    torch::Tensor te, ids;
    if (std::string(k) == "sdxl") te = R(p + "text_embeds"), ids = R(p + "time_ids");
    auto out = unet(R(p + "sample"), R(p + "timesteps"), R(p + "context"), te, ids);
    EXPECT_LE(err(out, R(p + "out")), 1e-4) << k;
  }
  auto unet = load_unet(tiny_model("tiny-sd2") + "/unet");
  auto odd = unet(R("unet.sd2_odd.sample"), torch::tensor({500.0f}), R("unet.sd2_odd.context"));
  EXPECT_LE(err(odd, R("unet.sd2_odd.out")), 1e-4);
}

TEST(Parity, AutoencodersMatch) {
  torch::NoGradGuard ng;
  auto ae = load_kl_autoencoder(tiny_model("tiny-sd1") + "/vae");
  EXPECT_LE(err(ae->model->decode(R("vae.latents")), R("vae.decoded")), 1e-4);
  EXPECT_LE(err(ae->model->encode_mean(R("vae.image")), R("vae.encoded_mean")), 1e-4);
  auto taesd = load_latent_decoder(tiny_model("tiny-taesd"));
  EXPECT_LE(err(taesd->decode(R("taesd.latents")), R("taesd.decoded")), 1e-4);
}

TEST(Parity, SchedulerTimestepsSigmasAndStepsMatch) {
  for (const auto& [name, entry] : meta()["schedulers"].items()) {
    for (const auto& [steps_s, run] : entry["runs"].items()) {
      const int steps = std::stoi(steps_s);
      auto s = make_scheduler(entry["scheduler"].get<std::string>(), ConfigView(entry["config"], name));
      s->set_timesteps(steps);
      const std::string what = name + " " + steps_s;
      auto ts = run["timesteps"].get<std::vector<double>>();
      ASSERT_EQ(s->timesteps().size(), ts.size()) << what;
      for (std::size_t i = 0; i < ts.size(); ++i) EXPECT_NEAR(s->timesteps()[i], ts[i], 1e-3) << what << " t" << i;
      if (run.contains("sigmas")) {
        auto sg = run["sigmas"].get<std::vector<double>>();
        ASSERT_EQ(s->sigmas().size(), sg.size()) << what;
        for (std::size_t i = 0; i < sg.size(); ++i) EXPECT_NEAR(s->sigmas()[i], sg[i], 1e-5 * (1 + sg[i])) << what;
      }
      EXPECT_NEAR(s->init_noise_sigma(), run["init_noise_sigma"].get<double>(),
                  1e-5 * (1 + run["init_noise_sigma"].get<double>()))
          << what;
      const std::string key = "sched." + name + "." + steps_s;
      if (!reference_tensors("reference").has(key)) continue;
      auto gen = at::detail::createCPUGenerator(7);
      NoiseSource noise = [&] {
        return torch::randn({1, 4, 4, 4}, gen, torch::TensorOptions().dtype(torch::kFloat32));
      };
      auto x = R("sched.x0") * s->init_noise_sigma();
      auto bias = R("sched.bias");
      for (std::size_t i = 0; i < s->timesteps().size(); ++i) {
        auto xi = s->scale_model_input(x, i);
        x = s->step(0.1 * xi + bias, i, x, noise);
      }
      EXPECT_LE(err(x, R(key)), 1e-4 * (1 + R(key).abs().max().item<float>())) << what;
    }
  }
}

// Sampler names as users write them ("DPM++ 2M Karras", "euler sgm_uniform", "Sampler: DPM++ 2M,
// Schedule type: Karras") give, on three model folders' scheduler configs, the timesteps, sigmas
// and initial noise scale of diffusers' scheduler with the config diffusers' docs map the name
// to (scripts/make_sampler_fixtures.py, diffusers v0.32.2: its exponential sigmas).
TEST(Parity, SamplerNamesMatchDiffusersWithTheMappedConfig) {
  const json& ref = reference_meta("samplers_reference");
  std::size_t runs = 0;
  double worst_t = 0, worst_sigma = 0;  // max |timestep error|, max relative sigma error (the README quotes them)
  for (const auto& [name, case_name] : ref["names"].items()) {
    const json& c = ref["cases"][case_name.get<std::string>()];
    for (const auto& [folder, by_steps] : c["runs"].items()) {
      const ConfigView folder_config(ref["folders"][folder], folder + "/scheduler_config.json");
      for (const auto& [steps_s, run] : by_steps.items()) {
        const std::string what = "\"" + name + "\" on " + folder + ", " + steps_s + " steps";
        auto s = make_scheduler(name, folder_config);
        EXPECT_EQ(s->class_name(), c["class"].get<std::string>()) << what;
        s->set_timesteps(std::stoi(steps_s));
        auto ts = run["timesteps"].get<std::vector<double>>();
        ASSERT_EQ(s->timesteps().size(), ts.size()) << what;
        for (std::size_t i = 0; i < ts.size(); ++i) {
          EXPECT_NEAR(s->timesteps()[i], ts[i], 1e-3) << what << " t" << i;
          worst_t = std::max(worst_t, std::abs(s->timesteps()[i] - ts[i]));
        }
        auto sg = run.value("sigmas", std::vector<double>{});
        ASSERT_EQ(s->sigmas().size(), sg.size()) << what;
        for (std::size_t i = 0; i < sg.size(); ++i) {
          EXPECT_NEAR(s->sigmas()[i], sg[i], 1e-5 * (1 + sg[i])) << what << " sigma" << i;
          worst_sigma = std::max(worst_sigma, std::abs(s->sigmas()[i] - sg[i]) / (1 + sg[i]));
        }
        const double init = run["init_noise_sigma"].get<double>();
        EXPECT_NEAR(s->init_noise_sigma(), init, 1e-5 * (1 + init)) << what;
        ++runs;
      }
    }
  }
  EXPECT_GE(runs, 100u);  // the fixture was read
  std::printf("[parity] sampler names: %zu runs, timesteps max abs error %.3g, sigmas max error %.3g (relative)\n",
              runs, worst_t, worst_sigma);
}

// The samplers whose step draws noise, DPM++ 2M SDE (midpoint and heun, epsilon and
// v-prediction, Karras and exponential sigmas), denoise as diffusers' step does with the same
// per-step noise (a CPU generator seeded 7; the model output 0.1 * input + bias).
TEST(Parity, SdeSamplerTrajectoriesMatchDiffusers) {
  const json& ref = reference_meta("samplers_reference");
  auto tensor = [](const json& values) { return torch::tensor(values.get<std::vector<float>>()).view({1, 4, 4, 4}); };
  const auto x0 = tensor(ref["x0"]), bias = tensor(ref["bias"]);
  for (const auto& [name, c] : ref["trajectories"].items()) {
    for (const auto& [steps_s, expected] : c["runs"].items()) {
      auto s = make_scheduler(c["name"].get<std::string>(), ConfigView(c["folder_config"], name));
      s->set_timesteps(std::stoi(steps_s));
      auto gen = at::detail::createCPUGenerator(7);
      int draws = 0;
      NoiseSource noise = [&] {
        ++draws;
        return torch::randn({1, 4, 4, 4}, gen, torch::TensorOptions().dtype(torch::kFloat32));
      };
      auto x = x0 * s->init_noise_sigma();
      for (std::size_t i = 0; i < s->timesteps().size(); ++i)
        x = s->step(0.1 * s->scale_model_input(x, i) + bias, i, x, noise);
      const auto want = tensor(expected);
      EXPECT_LE(err(x, want), 1e-4 * (1 + want.abs().max().item<float>())) << name << " " << steps_s;
      EXPECT_EQ(draws, std::stoi(steps_s)) << name;  // one draw per step, the last one too
    }
  }
}

TEST(Parity, PipelinesMatchWithin2Of255) {
  for (const auto& [name, p] : meta()["pipelines"].items()) {
    PipelineOptions o;
    const auto model = p["model"].get<std::string>();
    o.folder = tiny_model(model);
    o.device = "cpu";
    if (!p["decoder"].get<std::string>().empty()) o.vae = tiny_model(p["decoder"].get<std::string>());
    // a scheduler override with extra config keys: write a scheduler folder the way a user would
    auto folder = temp_dir() / name;
    if (!p["scheduler"].get<std::string>().empty() || !p["scheduler_config"].empty()) {
      fs::copy(o.folder, folder, fs::copy_options::recursive);
      auto cfg = read_json_file((folder / "scheduler" / "scheduler_config.json").string());
      cfg.update(p["scheduler_config"]);
      write(folder / "scheduler" / "scheduler_config.json", cfg.dump());
      o.folder = folder.string();
      o.scheduler = p["scheduler"].get<std::string>();
    }
    DiffusionPipeline pipe(o);
    std::vector<ImageRequest> req;
    for (std::size_t i = 0; i < p["prompts"].size(); ++i)
      req.push_back({p["prompts"][i].get<std::string>(),
                     p["negatives"].is_null() ? std::string() : p["negatives"][i].get<std::string>(),
                     p["seeds"][i].get<std::uint64_t>()});
    const int size = p["size"].get<int>();
    GenerationSettings s{p["steps"].get<int>(), size, size, p["guidance"].get<double>()};
    auto lat = pipe.generate_latents(req, s);
    EXPECT_LE(err(lat, R("pipe." + name + ".latents")), 1e-3) << name;
    auto img = pipe.decode(lat);
    EXPECT_LE(err(img, R("pipe." + name + ".image")), 2.0 / 255) << name;
    fs::remove_all(folder);
  }
}

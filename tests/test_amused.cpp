// aMUSEd (AmusedPipeline: UVit2DModel, VQModel, AmusedScheduler): parity with what diffusers'
// own modules, scheduler and pipeline computed on the same tiny random-weight models
// (tests/fixtures/parity/amused_*, scripts/make_amused_fixtures.sh; fp32 on the CPU), batch
// invariance, and the folder checks.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "catimage/diffusion/amused_pipeline.hpp"
#include "catimage/diffusion/models/uvit_2d.hpp"
#include "catimage/diffusion/models/vq_model.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"
#include "diffusion/schedulers/amused.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("amused_reference").get(name); }
torch::Tensor Rl(const std::string& name) { return R(name).round().to(torch::kInt64); }
const json& meta() { return reference_meta("amused_reference"); }

// Max |a - b|; the largest per parity test is printed.
float worst = 0;
bool measured = false;
float err(const torch::Tensor& a, const torch::Tensor& b) {
  const float e = max_abs_diff(a, b);
  worst = std::max(worst, e);
  measured = true;
  return e;
}
struct ReportWorst : ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { worst = 0, measured = false; }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (measured) std::printf("[parity] %s.%s: max abs error %.3g\n", t.test_suite_name(), t.name(), worst);
  }
};
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new ReportWorst);
  return true;
}();

PipelineOptions tiny_options() {
  PipelineOptions o;
  o.folder = tiny_model("tiny-amused");
  o.device = "cpu";
  o.dtype = "fp32";
  return o;
}

AmusedPipeline& tiny_pipeline() {
  static AmusedPipeline p(tiny_options());
  return p;
}

// A copy of the tiny folder (with weights) to break.
fs::path folder_copy() {
  auto d = temp_dir() / "tiny-amused";
  fs::copy(tiny_model("tiny-amused"), d, fs::copy_options::recursive);
  return d;
}

void edit_json(const fs::path& p, const std::function<void(json&)>& change) {
  auto j = read_json_file(p.string());
  change(j);
  std::ofstream(p) << j.dump(1);
}

// The error inspect_amused_folder gives (and the pipeline's constructor gives the same).
std::string folder_error(const fs::path& dir) {
  try {
    inspect_amused_folder(dir.string());
  } catch (const Error& e) {
    auto o = tiny_options();
    o.folder = dir.string();
    try {
      AmusedPipeline p(o);
      ADD_FAILURE() << "the pipeline accepted what inspect_amused_folder refused: " << e.what();
    } catch (const Error& e2) {
      EXPECT_EQ(std::string(e.what()), std::string(e2.what()));
    }
    return e.what();
  }
  ADD_FAILURE() << "accepted " << dir;
  return "";
}

}  // namespace

// The references were made on the weights catimage writes with seed 7.
TEST(AmusedParity, TinyModelsAreTheOnesTheReferencesUsed) {
  tiny_model("tiny-amused");
  tiny_model("tiny-uvit2d-bias");
  const auto root = fs::path(tiny_model("tiny-amused")).parent_path();
  auto got = weight_sums(root.string(), "tiny-amused/*/*.safetensors tiny-uvit2d-bias/*.safetensors");
  ASSERT_EQ(got, slurp(fixture("parity/amused_weights.sha256")))
      << "the tiny models' random weights differ from the ones the aMUSEd references were made "
         "with; rerun scripts/make_amused_fixtures.sh";
}

TEST(AmusedParity, TextConditioningMatches) {
  auto& p = tiny_pipeline();
  std::vector<std::string> prompts;
  for (const auto& s : {"a red cube on a table", "Two dogs, neon signs at dusk!", "", "blurry", "low quality"})
    prompts.push_back(s);
  auto tok = ClipTokenizer::from_folder(fixture("tiny-amused/tokenizer"));
  auto ids = Rl("te.ids");
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto mine = tok.encode_padded(prompts[i]);
    std::vector<std::int64_t> m(mine.begin(), mine.end());
    std::vector<std::int64_t> theirs(ids[i].data_ptr<std::int64_t>(), ids[i].data_ptr<std::int64_t>() + 77);
    EXPECT_EQ(m, theirs) << prompts[i];
  }
  auto [states, pooled] = p.encode_prompts(prompts);
  EXPECT_LE(err(states, R("te.penultimate")), 1e-4);
  EXPECT_LE(err(pooled, R("te.text_embeds")), 1e-4);
}

TEST(AmusedParity, UVit2DLogitsMatch) {
  torch::NoGradGuard ng;
  auto& tr = tiny_pipeline().transformer();
  auto logits = tr(Rl("uvit.ids"), R("uvit.ehs"), R("uvit.pooled"), R("uvit.micro"));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 32, 4, 4}));
  EXPECT_LE(err(logits, R("uvit.logits")), 1e-4);
  // use_bias, no elementwise affine, no down/upsampling, hidden_size == block_out_channels (no kv_mapper)
  auto bias = load_uvit_2d(tiny_model("tiny-uvit2d-bias"));
  EXPECT_FALSE(bias->down_block->downsample);
  auto out = bias(Rl("uvit_bias.ids"), R("uvit_bias.ehs"), R("uvit_bias.pooled"), R("uvit_bias.micro"));
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 16, 3, 5}));
  EXPECT_LE(err(out, R("uvit_bias.logits")), 1e-4);
}

TEST(AmusedParity, VQModelMatches) {
  torch::NoGradGuard ng;
  auto& vq = tiny_pipeline().vqvae();
  auto img = vq->decode_tokens(Rl("vq.tokens"));
  EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{2, 3, 16, 12}));
  EXPECT_LE(err(img, R("vq.decoded")), 1e-4);
  auto full = load_vq_model(tiny_model("tiny-amused") + "/vqvae", true);
  auto latents = full->encode(R("vq.image"));
  EXPECT_LE(err(latents, R("vq.latents")), 1e-4);
  auto [quant, indices] = full->quantize(latents);
  EXPECT_TRUE(torch::equal(indices, Rl("vq.indices")));
  EXPECT_LE(err(quant, R("vq.quantized")), 1e-4);
  EXPECT_THROW(vq->encode(R("vq.image")), Error);  // the pipeline loads no encoder
}

namespace {

// A scheduler case of the reference (meta()["schedulers"]): its config (mask token 39) with
// its steps and temperature set; diffusers reads a number t as the temperatures (t, 0.01).
AmusedScheduler reference_scheduler(const json& m) {
  json cfg = m["config"];
  cfg["mask_token_id"] = 39;
  AmusedScheduler s(ConfigView(cfg, "scheduler_config.json"));
  const int steps = m["steps"].get<int>();
  if (m["temperature"].is_array())
    s.set_timesteps(steps, m["temperature"][0].get<double>(), m["temperature"][1].get<double>());
  else
    s.set_timesteps(steps, m["temperature"].get<double>(), 0.01);
  return s;
}

}  // namespace

TEST(AmusedScheduler, TimestepsAndTemperatures) {
  for (const auto& [name, m] : meta()["schedulers"].items()) {
    AmusedScheduler s = reference_scheduler(m);
    EXPECT_EQ(s.timesteps(), m["timesteps"].get<std::vector<std::int64_t>>()) << name;
    EXPECT_TRUE(torch::equal(s.temperatures(), R("sched." + name + ".temperatures"))) << name;
  }
  AmusedScheduler s(ConfigView(json{{"mask_token_id", 7}}, "scheduler_config.json"));
  EXPECT_EQ(s.masking_schedule(), "cosine");
  s.set_timesteps(12);
  EXPECT_EQ(s.timesteps().front(), 11);
  EXPECT_EQ(s.timesteps().back(), 0);
  EXPECT_FLOAT_EQ(s.temperatures()[0].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(s.temperatures()[11].item<float>(), 0.0f);
}

// Given diffusers' logits and a generator per row seeded as diffusers' were, every step's
// sampled and re-masked tokens are diffusers' exactly (a batch of two, one generator each).
TEST(AmusedScheduler, TrajectoriesMatchDiffusersExactly) {
  for (const auto& [name, m] : meta()["schedulers"].items()) {
    AmusedScheduler s = reference_scheduler(m);
    std::vector<at::Generator> gens;
    for (auto seed : m["seeds"]) gens.push_back(at::detail::createCPUGenerator(seed.get<std::uint64_t>()));
    auto logits = R("sched." + name + ".logits");
    auto prev = Rl("sched." + name + ".prev"), pred = Rl("sched." + name + ".pred");
    auto x = Rl("sched." + name + ".sample0");
    for (int i = 0; i < m["steps"].get<int>(); ++i) {
      auto out = s.step(logits[i], i, x, gens);
      EXPECT_TRUE(torch::equal(out.pred_original_sample, pred[i])) << name << " step " << i;
      EXPECT_TRUE(torch::equal(out.prev_sample, prev[i])) << name << " step " << i;
      x = out.prev_sample;
    }
    // the last step unmasks everything; the cosine schedule masks fewer tokens each step
    EXPECT_EQ((x == 39).sum().item<std::int64_t>(), 0) << name;
  }
}

TEST(AmusedScheduler, RefusesBadConfigsAndIsListedByTheRegistry) {
  auto error = [](json cfg) {
    try {
      AmusedScheduler s(ConfigView(std::move(cfg), "scheduler/scheduler_config.json"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto e = error({{"mask_token_id", 39}, {"masking_schedule", "exp"}});
  EXPECT_TRUE(contains(e, "scheduler/scheduler_config.json") && contains(e, "masking_schedule")) << e;
  e = error(json::object());
  EXPECT_TRUE(contains(e, "mask_token_id")) << e;
  const auto* entry = find_scheduler("amused");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->class_name, AmusedScheduler::kClassName);
}

// diffusers' AmusedPipeline with generator=torch.Generator().manual_seed(seed), one image
// per call; here each image in a batch of two with its own seed.
TEST(AmusedPipeline, MatchesDiffusersAtBatchOne) {
  auto& p = tiny_pipeline();
  for (const auto& [name, m] : meta()["pipelines"].items()) {
    std::vector<ImageRequest> batch;
    for (std::size_t i = 0; i < 2; ++i) {
      ImageRequest r;
      r.prompt = m["prompts"][i].get<std::string>();
      if (m["negatives"].is_array()) r.negative_prompt = m["negatives"][i].get<std::string>();
      r.seed = m["seeds"][i].get<std::uint64_t>();
      batch.push_back(r);
    }
    GenerationSettings s;
    s.steps = m["steps"].get<int>();
    s.guidance = m["guidance"].get<double>();
    s.width = m["width"].get<int>();
    s.height = m["height"].get<int>();
    auto tokens = p.generate_tokens(batch, s);
    EXPECT_TRUE(torch::equal(tokens, Rl("pipe." + name + ".tokens")))
        << name << ": " << tokens.ne(Rl("pipe." + name + ".tokens")).sum().item<std::int64_t>() << " tokens differ";
    auto img = p.generate(batch, s);
    EXPECT_EQ(img.scalar_type(), torch::kUInt8);
    EXPECT_LE(err(img, R("pipe." + name + ".image")), 2.0f) << name;  // per pixel, out of 255
  }
}

TEST(AmusedPipeline, SameSeedSameImageWhateverTheBatch) {
  auto& p = tiny_pipeline();
  GenerationSettings s;
  s.steps = 12;
  s.guidance = 10;
  ImageRequest a{"a red cube on a table", "", 3}, b{"Two dogs, neon signs at dusk!", "blurry", 1234};
  auto both = p.generate({a, b}, s);
  auto alone = p.generate({b}, s);
  EXPECT_EQ(both.sizes(), (std::vector<std::int64_t>{2, 16, 16, 3}));
  EXPECT_TRUE(torch::equal(both[1], alone[0]));
  auto first = p.generate({a}, s);
  EXPECT_TRUE(torch::equal(both[0], first[0]));
  ImageRequest c = b;
  c.seed = 99;
  EXPECT_FALSE(torch::equal(p.generate({c}, s)[0], alone[0]));  // the seed matters
}

TEST(AmusedPipeline, DefaultsAndDescription) {
  auto& p = tiny_pipeline();
  EXPECT_EQ(p.default_size(), 16);  // transformer sample_size 4 x 2^(3 VQ blocks - 1)
  EXPECT_EQ(p.scheduler_class(), "AmusedScheduler");
  EXPECT_FALSE(p.sampler_label().empty());
  EXPECT_EQ(p.dtype(), torch::kFloat32);
  EXPECT_TRUE(p.device().is_cpu());
  EXPECT_TRUE(contains(p.describe(), "AmusedPipeline")) << p.describe();
  GenerationSettings s;
  s.steps = 2;
  auto img = p.generate({{"x", "", 1}}, s);
  EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{1, 16, 16, 3}));
  auto made = make_amused_pipeline(tiny_options());
  EXPECT_EQ(made->default_size(), 16);
}

TEST(AmusedPipeline, RefusesOptionsAndSizesItCannotRun) {
  auto expect_error = [](PipelineOptions o, const char* what) {
    try {
      AmusedPipeline p(o);
      ADD_FAILURE() << "accepted " << what;
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), what)) << e.what();
    }
  };
  auto o = tiny_options();
  o.vae = "taesd";
  expect_error(o, "--vae");
  o = tiny_options();
  o.scheduler = "euler";
  expect_error(o, "--scheduler");
  o = tiny_options();
  o.channels_last = true;
  expect_error(o, "channels");
  o = tiny_options();
  o.dtype = "fp16";  // libtorch's CPU kernels lack fp16 for this model: refused up front
  expect_error(o, "fp16");
  o = tiny_options();
  o.scheduler = "amused";
  EXPECT_NO_THROW(AmusedPipeline{o});

  auto& p = tiny_pipeline();
  GenerationSettings s;
  s.steps = 1;
  s.width = 18;  // not a multiple of the VQ-GAN's factor 4
  EXPECT_THROW(p.generate({{"x", "", 1}}, s), Error);
  s.width = 20;  // 5 tokens: the transformer's downsampling needs an even grid
  try {
    p.generate({{"x", "", 1}}, s);
    ADD_FAILURE() << "accepted width 20";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "multiples of 8")) << e.what();
  }
}

TEST(AmusedPipeline, Bf16RunsOnTheCpu) {
  auto o = tiny_options();
  o.dtype = "bf16";
  AmusedPipeline p(o);
  EXPECT_EQ(p.dtype(), torch::kBFloat16);
  GenerationSettings s;
  s.steps = 2;
  auto img = p.generate({{"a red cube on a table", "", 3}}, s);
  EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{1, 16, 16, 3}));
}

TEST(AmusedFolder, MissingVqvaeConfigIsNamed) {
  auto d = folder_copy();
  fs::remove(d / "vqvae" / "config.json");
  auto e = folder_error(d);
  EXPECT_TRUE(contains(e, (d / "vqvae" / "config.json").string())) << e;
}

TEST(AmusedFolder, PickledOnlyWeightsAreRefused) {
  auto d = folder_copy();
  fs::rename(d / "transformer" / "diffusion_pytorch_model.safetensors",
             d / "transformer" / "diffusion_pytorch_model.bin");
  auto e = folder_error(d);
  EXPECT_TRUE(contains(e, "transformer") && contains(e, "pickled")) << e;
}

TEST(AmusedFolder, UnsupportedConfigValuesAreNamed) {
  struct Case {
    const char* file;
    const char* key;
    json value;
  };
  const std::vector<Case> cases = {
      {"vqvae/config.json", "norm_type", "spatial"},
      {"vqvae/config.json", "act_fn", "gelu"},
      {"vqvae/config.json", "lookup_from_codebook", false},
      {"scheduler/scheduler_config.json", "masking_schedule", "exp"},
      {"transformer/config.json", "micro_cond_embed_dim", 48},
      {"transformer/config.json", "encoder_hidden_size", 16},
      {"transformer/config.json", "num_attention_heads", 5},
  };
  for (const auto& c : cases) {
    auto d = folder_copy();
    edit_json(d / c.file, [&](json& j) { j[c.key] = c.value; });
    auto e = folder_error(d);
    EXPECT_TRUE(contains(e, (d / c.file).string()) && contains(e, c.key)) << c.key << ": " << e;
  }
}

TEST(AmusedFolder, NotAnAmusedFolder) {
  EXPECT_TRUE(contains(folder_error(temp_dir() / "nowhere"), "does not exist"));
  auto d = folder_copy();
  edit_json(d / "model_index.json", [](json& j) { j["_class_name"] = "StableDiffusionPipeline"; });
  EXPECT_TRUE(contains(folder_error(d), "StableDiffusionPipeline"));
  // the SD fixture folder is refused for its class before its components are looked at
  EXPECT_TRUE(contains(folder_error(fixture("tiny-sd1")), "AmusedPipeline"));
}

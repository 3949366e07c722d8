// LoRAs (diffusion/loaders/lora): tiny random LoRA files in the kohya, PEFT and diffusers formats
// (tests/fixtures/lora) merged into the tiny SD1/SDXL models equal diffusers' fused weights and
// UNet step and an independent script's text-encoder merge (tests/fixtures/parity/lora_reference.*,
// scripts/make_lora_fixtures.sh); what a file holds beyond them is refused by name; a candidate's
// "lora" is validated, resolved like a model and part of the image key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "batch/image_key.hpp"
#include "catimage/batch/candidate_rules.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/diffusion/loaders/lora.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/io/safetensors.hpp"
#include "reference_fixtures.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("lora_reference").get(name); }
const json& case_meta(const std::string& c) { return reference_meta("lora_reference")["cases"][c]; }
std::string lora_file(const std::string& name) { return fixture("lora/" + name); }

std::map<std::string, torch::Tensor> params(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

// The largest differences of a reference case, printed (the README quotes them).
struct Worst {
  float unet_weight = 0, unet_step = 0, te_weight = 0, embedding = 0;
  static float at_most(float& w, float e) { return w = std::max(w, e), e; }
};

// One reference case: the pipeline built with the case's LoRA has exactly the reference's merged
// UNet weights (and changed no other), its UNet step and prompt embeddings equal the reference's,
// and the text encoders' merged weights equal the independent script's.
void expect_case_equals_reference(const std::string& c) {
  const json& m = case_meta(c);
  Worst w;
  const std::string model = m["model"], file = lora_file(m["lora"]);
  const double scale = m["scale"];
  PipelineOptions o;
  o.folder = tiny_model(model);
  o.device = "cpu";
  o.dtype = "fp32";
  o.loras = {{file, scale}};
  DiffusionPipeline pipe(o);
  torch::NoGradGuard ng;

  // the merged UNet weights: exactly those diffusers changed, equal to its fused ones
  auto base = load_unet(o.folder + "/unet");
  const auto before = params(*base), after = params(*pipe.unet());
  std::set<std::string> changed, expected;
  for (const auto& [k, v] : after)
    if (!torch::equal(v, before.at(k))) changed.insert(k);
  for (const auto& k : m["unet_weights"]) expected.insert(k.get<std::string>());
  EXPECT_EQ(changed, expected) << c;
  for (const auto& k : expected) {  // large weights are recorded at every s-th element
    const std::int64_t s = m["unet_weight_strides"].value(k, 1);
    const auto mine = s > 1 ? after.at(k).flatten().slice(0, 0, c10::nullopt, s) : after.at(k);
    EXPECT_LE(Worst::at_most(w.unet_weight, max_abs_diff(mine, R(c + ".unet." + k))), 1e-6) << c << " " << k;
  }

  // one denoising step's model output
  const bool xl = model == "tiny-sdxl";
  auto out = pipe.unet()(R("sample"), R("timesteps"), R("context." + model), xl ? R("text_embeds") : torch::Tensor(),
                         xl ? R("time_ids") : torch::Tensor());
  EXPECT_LE(Worst::at_most(w.unet_step, max_abs_diff(out, R(c + ".unet_out"))), 1e-4) << c;

  // the text encoders: merged weights, then the embeddings the UNet receives
  std::vector<std::string> prompts;
  for (const auto& p : reference_meta("lora_reference")["prompts"]) prompts.push_back(p);
  auto [ctx, pooled] = pipe.encode_prompts(prompts);
  EXPECT_LE(Worst::at_most(w.embedding, max_abs_diff(ctx, R(c + ".context"))), 1e-4) << c;
  if (xl) EXPECT_LE(Worst::at_most(w.embedding, max_abs_diff(pooled, R(c + ".pooled"))), 1e-4) << c;
  const LoraFile f(file);
  for (const std::string te : {"text_encoder", "text_encoder_2"}) {
    if (!fs::exists(fs::path(o.folder) / te)) continue;
    auto enc = load_clip_text_model(o.folder + "/" + te);
    f.merge_into(*enc, te, scale);
    const auto merged = params(*enc);
    for (const auto& k : m["text_encoder_weights"]) {
      const std::string name = k;
      if (name.rfind(te + ".", 0) != 0) continue;
      EXPECT_LE(Worst::at_most(w.te_weight, max_abs_diff(merged.at(name.substr(te.size() + 1)), R(c + "." + name))),
                1e-6)
          << c << " " << name;
    }
  }
  std::printf(
      "[lora parity] %s: max abs error: UNet weights %.3g, UNet step %.3g, text-encoder weights %.3g, "
      "prompt embeddings %.3g\n",
      c.c_str(), w.unet_weight, w.unet_step, w.te_weight, w.embedding);
}

// A LoRA file of `tensors` (name -> shape), values 0.1.
std::string write_lora(const fs::path& at, const std::map<std::string, std::vector<std::int64_t>>& tensors) {
  std::vector<TensorBlob> blobs;
  for (const auto& [name, shape] : tensors) {
    auto t = torch::full(shape, 0.1f);
    TensorBlob b{name, DType::F32, shape, std::vector<std::uint8_t>(t.numel() * 4)};
    std::memcpy(b.bytes.data(), t.data_ptr<float>(), b.bytes.size());
    blobs.push_back(std::move(b));
  }
  write_safetensors(at.string(), std::move(blobs));
  return at.string();
}

const std::string kQ = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";  // 32 x 32 in tiny-sd1

}  // namespace

TEST(Lora, KohyaSd1WithLoConEqualsDiffusersFuseLora) { expect_case_equals_reference("sd1_kohya"); }
TEST(Lora, PeftSd1EqualsDiffusersFuseLora) { expect_case_equals_reference("sd1_peft"); }
TEST(Lora, DiffusersProcessorNamesSd1EqualDiffusersFuseLora) { expect_case_equals_reference("sd1_diffusers"); }
TEST(Lora, KohyaSdxlTe1Te2EqualsDiffusersFuseLora) { expect_case_equals_reference("sdxl_kohya"); }
TEST(Lora, KohyaSdxlSgmBlockNamesEqualDiffusersFuseLora) { expect_case_equals_reference("sdxl_sgm"); }
TEST(Lora, PeftSdxlTextEncoder2EqualsDiffusersFuseLora) { expect_case_equals_reference("sdxl_peft"); }

TEST(Lora, FormatsAndComponentsAreReadFromTheKeys) {
  const LoraFile k(lora_file("sdxl-kohya.safetensors"));
  EXPECT_EQ(k.format(), LoraFormat::kohya);
  EXPECT_EQ(k.components(), (std::vector<std::string>{"text_encoder", "text_encoder_2", "unet"}));
  const LoraFile p(lora_file("sd1-peft.safetensors"));
  EXPECT_EQ(p.format(), LoraFormat::diffusers);
  EXPECT_EQ(p.components(), (std::vector<std::string>{"text_encoder", "unet"}));
}

TEST(Lora, TwoLorasMergeInOrderAndScaleZeroChangesNothing) {
  torch::NoGradGuard ng;
  const std::string dir = tiny_model("tiny-sd1") + "/unet";
  auto base = load_unet(dir), both = load_unet(dir), none = load_unet(dir);
  const LoraFile a(lora_file("sd1-kohya.safetensors")), b(lora_file("sd1-peft.safetensors"));
  a.merge_into(*both, "unet", 0.8);
  b.merge_into(*both, "unet", 1.0);
  a.merge_into(*none, "unet", 0.0);
  const auto pb = params(*base), p2 = params(*both), p0 = params(*none);
  // to_q is in both files: each adds its own update
  const std::string q = kQ + ".weight";
  auto ref_a = load_unet(dir), ref_b = load_unet(dir);
  a.merge_into(*ref_a, "unet", 0.8);
  b.merge_into(*ref_b, "unet", 1.0);
  const auto d = (params(*ref_a).at(q) - pb.at(q)) + (params(*ref_b).at(q) - pb.at(q));
  EXPECT_LE(max_abs_diff(p2.at(q) - pb.at(q), d), 1e-6);
  for (const auto& [k, v] : p0) EXPECT_TRUE(torch::equal(v, pb.at(k))) << k;
}

TEST(Lora, UnknownAndUnmatchedKeysAreRefusedByName) {
  const fs::path d = temp_dir();
  const std::string q = "lora_unet_" + std::string("down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
  auto read_error = [&](const std::string& name, const std::map<std::string, std::vector<std::int64_t>>& t) {
    return error_message([&] { LoraFile f(write_lora(d / name, t)); });
  };
  // a LyCORIS kind catimage does not merge, an unknown suffix, a down without its up
  std::string e = read_error("loha.safetensors", {{q + ".hada_w1_a", {32, 4}}, {q + ".alpha", {}}});
  EXPECT_TRUE(contains(e, q + ".hada_w1_a\": LyCORIS LoHa")) << e;
  e = read_error(
      "tucker.safetensors",
      {{q + ".lora_down.weight", {4, 32}}, {q + ".lora_up.weight", {32, 4}}, {q + ".lora_mid.weight", {4, 4, 3, 3}}});
  EXPECT_TRUE(contains(e, q + ".lora_mid.weight\": LyCORIS Tucker")) << e;
  e = read_error("dora.safetensors", {{"unet." + kQ + ".lora_A.weight", {4, 32}},
                                      {"unet." + kQ + ".lora_B.weight", {32, 4}},
                                      {"unet." + kQ + ".lora_magnitude_vector.dora_scale", {32}}});
  EXPECT_TRUE(contains(e, "DoRA (dora_scale) is not supported")) << e;
  e = read_error("half.safetensors", {{q + ".lora_down.weight", {4, 32}}, {q + ".alpha", {}}});
  EXPECT_TRUE(contains(e, "layer " + q + " has no up weight")) << e;
  e = read_error(
      "mixed.safetensors",
      {{q + ".lora_down.weight", {4, 32}}, {q + ".lora_up.weight", {32, 4}}, {"unet.x.lora_A.weight", {4, 4}}});
  EXPECT_TRUE(contains(e, "\"unet.x.lora_A.weight\": not a kohya LoRA key")) << e;
  e = read_error("prefixes.safetensors", {{"unet." + kQ + ".lora_A.weight", {4, 32}},
                                          {"unet." + kQ + ".lora_B.weight", {32, 4}},
                                          {kQ + ".lora_A.weight", {4, 32}}});
  EXPECT_TRUE(contains(e, "\"" + kQ + ".lora_A.weight\": no component prefix")) << e;
  e = read_error("embedding.safetensors", {{"unet.x.lora_embedding_A", {4, 4}}});
  EXPECT_TRUE(contains(e, "\"unet.x.lora_embedding_A\": not a LoRA key of a known format")) << e;

  // modules the model does not have, shapes that do not fit, two layers on one weight
  torch::NoGradGuard ng;
  auto unet = load_unet(tiny_model("tiny-sd1") + "/unet");
  auto merge_error = [&](const std::string& name, const std::map<std::string, std::vector<std::int64_t>>& t) {
    return error_message([&] { LoraFile(write_lora(d / name, t)).merge_into(*unet, "unet", 1.0); });
  };
  const std::string nine = "lora_unet_down_blocks_9_attentions_0_proj_in";
  e = merge_error("nomodule.safetensors", {{nine + ".lora_down.weight", {4, 32}}, {nine + ".lora_up.weight", {32, 4}}});
  EXPECT_TRUE(contains(e, nine + ": the unet has no module down_blocks_9_attentions_0_proj_in")) << e;
  e = merge_error("peftmodule.safetensors", {{"unet.down_blocks.0.attn.lora_A.weight", {4, 32}},
                                             {"unet.down_blocks.0.attn.lora_B.weight", {32, 4}}});
  EXPECT_TRUE(contains(e, "unet.down_blocks.0.attn: the unet has no weight down_blocks.0.attn.weight")) << e;
  e = merge_error("shape.safetensors", {{q + ".lora_down.weight", {4, 64}}, {q + ".lora_up.weight", {32, 4}}});
  EXPECT_TRUE(contains(e, q + ": down [4, 64] and up [32, 4] do not fit " + kQ + ".weight [32, 32]")) << e;
  e = merge_error("twice.safetensors", {{"unet." + kQ + ".lora_A.weight", {4, 32}},
                                        {"unet." + kQ + ".lora_B.weight", {32, 4}},
                                        {"unet." + kQ + ".lora.down.weight", {4, 32}},
                                        {"unet." + kQ + ".lora.up.weight", {32, 4}}});
  EXPECT_TRUE(contains(e, "layer unet." + kQ + " already has its down in")) << e;
  const LdmUNetNames ldm(unet->cfg);  // one conv under its diffusers and its original (ldm) name
  e = error_message([&] {
    const std::string a = "lora_unet_down_blocks_0_resnets_0_conv1", b = "lora_unet_input_blocks_1_0_in_layers_2";
    LoraFile(write_lora(d / "twonames.safetensors", {{a + ".lora_down.weight", {4, 32, 3, 3}},
                                                     {a + ".lora_up.weight", {32, 4, 1, 1}},
                                                     {b + ".lora_down.weight", {4, 32, 3, 3}},
                                                     {b + ".lora_up.weight", {32, 4, 1, 1}}}))
        .merge_into(*unet, "unet", 1.0, &ldm);
  });
  EXPECT_TRUE(contains(e, "down_blocks.0.resnets.0.conv1.weight is updated by")) << e;
  // an original (ldm) block name the architecture does not have: tiny-sd1 has input_blocks 0..5
  const std::string sgm = "lora_unet_input_blocks_7_1_transformer_blocks_0_attn1_to_q";
  e = error_message([&] {
    LoraFile(
        write_lora(d / "sgm.safetensors", {{sgm + ".lora_down.weight", {4, 32}}, {sgm + ".lora_up.weight", {32, 4}}}))
        .merge_into(*unet, "unet", 1.0, &ldm);
  });
  EXPECT_TRUE(contains(e, sgm + ": the unet has no module input_blocks_7_1_transformer_blocks_0_attn1_to_q (its "
                                "diffusers or original (ldm) names"))
      << e;

  // a component the pipeline does not have: SDXL's second text encoder in an SD1 pipeline
  e = error_message([&] {
    check_loras({{lora_file("sdxl-kohya.safetensors"), 1.0}}, {"text_encoder", "unet"}, "StableDiffusionPipeline");
  });
  EXPECT_TRUE(contains(e, "the LoRA updates the text_encoder_2, which StableDiffusionPipeline does not have")) << e;
}

TEST(Lora, FamiliesWithoutAUNetRefuseLoras) {
  Candidate c;
  c.name = "amused";
  c.family = "amused";
  c.weights = tiny_model("tiny-amused");
  c.lora = {{lora_file("sd1-kohya.safetensors"), 1.0}};
  GenerationOverrides o;
  o.device = "cpu";
  const GenerationPlan p = plan(c, o, "cfg.json");
  EXPECT_EQ(p.verdict, GenerationPlan::Verdict::refused);
  EXPECT_TRUE(contains(p.reason, "family amused takes no LoRAs")) << p.reason;
  // a LoRA for another architecture is refused when the plan is made, before any model loads
  c.family = "sdxl";
  c.weights = tiny_model("tiny-sdxl");
  c.lora = {{lora_file("sd1-peft.safetensors"), 1.0}};
  const GenerationPlan x = plan(c, o, "cfg.json");
  EXPECT_TRUE(x.runs()) << x.reason;  // the names fit SDXL's components; the shapes are checked at load
  c.family = "sd15";
  c.weights = tiny_model("tiny-sd1");
  c.lora = {{lora_file("sdxl-kohya.safetensors"), 1.0}};
  const GenerationPlan y = plan(c, o, "cfg.json");
  EXPECT_EQ(y.verdict, GenerationPlan::Verdict::refused);
  EXPECT_TRUE(contains(y.reason, "text_encoder_2, which StableDiffusionPipeline does not have")) << y.reason;
  c.lora = {{"no-such.safetensors", 1.0}};
  EXPECT_TRUE(contains(plan(c, o, "cfg.json").reason, "lora[0]: no-such.safetensors is not a file"));
}

TEST(Lora, TheLoraFilesAndScalesArePartOfTheImageKey) {
  ImageIdentity id;
  id.prompt = "a red cube";
  id.candidate = "c";
  const std::string plain = id.key();
  EXPECT_FALSE(id.to_json().contains("lora"));  // without a LoRA the key is what it was before LoRAs
  id.loras = {{"identity-of-file", 0.8}};
  const std::string with = id.key();
  id.loras = {{"identity-of-file", 0.0}};
  const std::string zero = id.key();
  id.loras = {{"identity-of-other-file", 0.8}};
  const std::string other = id.key();
  EXPECT_EQ(std::set<std::string>({plain, with, zero, other}).size(), 4u);

  // scale 0 leaves the base model's pixels (W + 0 · update is W), another scale does not
  GenerationSettings gs{2, 16, 16, 4.0};
  const std::vector<ImageRequest> req = {{"a red cube", "", 3}};
  auto image = [&](const std::vector<LoraFileOption>& loras) {
    PipelineOptions o;
    o.folder = tiny_model("tiny-sd1");
    o.device = "cpu";
    o.dtype = "fp32";
    o.loras = loras;
    return DiffusionPipeline(o).generate(req, gs);
  };
  const auto base = image({});
  EXPECT_TRUE(torch::equal(image({{lora_file("sd1-kohya.safetensors"), 0.0}}), base));
  EXPECT_FALSE(torch::equal(image({{lora_file("sd1-kohya.safetensors"), 0.8}}), base));
}

TEST(Lora, GenerateWithLoraResumesOnlyTheSameLoraAndScale) {
  const fs::path d = temp_dir();
  const std::string lora = lora_file("sd1-kohya.safetensors");
  const auto prompts = write(d / "p.txt", "a red cube\n");
  const std::string cmd = "generate " + prompts + " --model " + tiny_model("tiny-sd1") +
                          " --steps 1 --device cpu --dtype fp32 --out " + (d / "out").string();
  auto r = run_catimage(cmd + " --lora " + lora + ":0.8");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(slurp(d / "out" / "1.png"), "Lora: \"sd1-kohya:0.8\"")) << "the PNG's parameters name it";
  const json rec = json::parse(slurp(d / "out" / "manifest.jsonl"));
  EXPECT_EQ(rec.at("lora"), json::parse("[{\"weights\": \"" + lora + "\", \"scale\": 0.8}]"));
  r = run_catimage(cmd + " --lora " + lora + ":0.8");  // the same: skipped
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "wrote 0 images")) << r.err;
  r = run_catimage(cmd);  // without it: made again
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "wrote 1 images")) << r.err;
  r = run_catimage(cmd + " --lora " + lora + ":big");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--lora " + lora + ":big: \"big\" after the last ':' is not a finite number")) << r.err;
}

TEST(Lora, ShippedLoraConfigsAreValidAndNameTheirHubFiles) {
  const char* saved = std::getenv("HF_HUB_CACHE");
  const std::string keep = saved ? saved : "";
  setenv("HF_HUB_CACHE", temp_dir().string().c_str(), 1);  // an empty cache: nothing can run, each says why
  GenerationOverrides o;
  o.device = "cpu";
  for (const char* name : {"configs/lora-distilled.json", "configs/sdxl-nine.json"}) {
    const CandidateSet cs = load_candidates(std::string(CATIMAGE_SOURCE_DIR) + "/" + name, runtime_candidate_rules());
    EXPECT_EQ(cs.cost_unit, "seconds");
    std::size_t with_lora = 0;
    for (const auto& c : cs.candidates) {
      EXPECT_TRUE(c.cost_estimate) << c.name;
      for (const auto& l : c.lora) EXPECT_TRUE(parse_repo_id(l.weights)) << c.name << " " << l.weights;
      with_lora += !c.lora.empty();
      const GenerationPlan p = plan(c, o, name);
      EXPECT_EQ(p.verdict, GenerationPlan::Verdict::cannot_run_here) << c.name;
      EXPECT_TRUE(contains(p.why, "huggingface-cli download")) << p.why;
    }
    EXPECT_GE(with_lora, 4u) << name;
  }
  EXPECT_EQ(load_candidates(std::string(CATIMAGE_SOURCE_DIR) + "/configs/sdxl-nine.json").size(), 9u);
  if (saved)
    setenv("HF_HUB_CACHE", keep.c_str(), 1);
  else
    unsetenv("HF_HUB_CACHE");
}

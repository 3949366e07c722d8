// Single-file checkpoints (diffusion/loaders): tests/fixtures/single-file/{sd1,sd2,sdxl}.safetensors
// are tiny pipelines with the real block layouts (the folders beside them, random weights of seed
// 7) converted to the original ldm/sgm layouts by diffusers' own conversion scripts, in fp16
// (scripts/make_single_file_fixtures.sh). A pipeline built from such a file must make the images
// the folder makes; what a file holds beyond a pipeline is dropped by rule or refused by name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/diffusion/loaders/ldm_names.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/diffusion/loaders/shipped_configs.hpp"
#include "catimage/diffusion/loaders/single_file.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/safetensors.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/text/clip_tokenizer.hpp"
#include "hub_cache.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

const fs::path& work_root() {
  static const fs::path root = temp_dir();
  return root;
}

// tests/fixtures/single-file/NAME copied once per process with catimage's random weights of seed
// 7, the weights the fixture files were converted from.
std::string random_folder(const std::string& name) {
  static std::map<std::string, std::string> made;
  if (auto it = made.find(name); it != made.end()) return it->second;
  const fs::path dst = work_root() / "random" / name;
  fs::create_directories(dst.parent_path());
  fs::copy(fixture("single-file/" + name), dst, fs::copy_options::recursive);
  write_random_weights(dst.string(), 7);
  return made[name] = dst.string();
}

// The same folder with every weight rounded to fp16 (and stored as fp32): what the fp16 files hold.
std::string fp16_folder(const std::string& name) {
  static std::map<std::string, std::string> made;
  if (auto it = made.find(name); it != made.end()) return it->second;
  const fs::path dst = work_root() / "fp16" / name;
  fs::create_directories(dst.parent_path());
  fs::copy(random_folder(name), dst, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dst)) {
    if (e.path().extension() != ".safetensors") continue;
    const WeightFiles w = WeightFiles::file(e.path().string());
    std::vector<TensorBlob> blobs;
    for (const auto& n : w.names()) {
      auto t = w.get(n).to(torch::kFloat16).to(torch::kFloat32).contiguous();
      TensorBlob b{n, DType::F32, t.sizes().vec(), std::vector<std::uint8_t>(t.numel() * 4)};
      std::memcpy(b.bytes.data(), t.data_ptr<float>(), b.bytes.size());
      blobs.push_back(std::move(b));
    }
    write_safetensors(e.path().string(), std::move(blobs));
  }
  return made[name] = dst.string();
}

std::string ckpt(const std::string& name) { return fixture("single-file/" + name + ".safetensors"); }

// A copy of the checkpoint `from` with keys renamed or left out by `rename` (nullopt: out) and
// `extra` tensors added (fp16, their values), written to a temp file.
std::string rewritten(const std::string& from,
                      const std::function<std::optional<std::string>(const std::string&)>& rename,
                      const std::map<std::string, torch::Tensor>& extra = {},
                      const std::string& file = "x.safetensors") {
  const SafeTensorsFile f(from);
  std::vector<TensorBlob> blobs;
  for (const auto& [name, info] : f.tensors()) {
    auto to = rename(name);
    if (!to) continue;
    const auto* p = static_cast<const std::uint8_t*>(f.data(name));
    blobs.push_back({*to, info.dtype, info.shape, std::vector<std::uint8_t>(p, p + (info.end - info.begin))});
  }
  for (const auto& [name, t0] : extra) {
    auto t = t0.to(torch::kFloat16).contiguous();
    const auto* p = static_cast<const std::uint8_t*>(t.data_ptr());
    blobs.push_back({name, DType::F16, t.sizes().vec(), std::vector<std::uint8_t>(p, p + t.numel() * 2)});
  }
  const auto dir = temp_dir();
  const auto path = (dir / file).string();
  write_safetensors(path, std::move(blobs));
  return path;
}

PipelineOptions options(const std::string& model, const std::string& config = "") {
  PipelineOptions o;
  o.folder = model;
  o.config = config;
  o.device = "cpu";
  return o;
}

// Latents and images of two prompts (with CFG and a negative prompt), fp32 on the CPU.
std::pair<torch::Tensor, torch::Tensor> run(const PipelineOptions& o) {
  DiffusionPipeline p(o);
  const std::vector<ImageRequest> batch = {{"a red cube on a table", "", 11}, {"two dogs at dusk", "blurry", 12}};
  const GenerationSettings s{3, 0, 0, 4.0};
  auto latents = p.generate_latents(batch, s);
  return {latents, p.generate(batch, s)};
}

}  // namespace

// The fixture files were converted from the weights catimage writes with seed 7; if libtorch ever
// draws different random weights, say so instead of reporting numeric mismatches.
TEST(SingleFile, TinyModelsAreTheOnesTheFilesWereConvertedFrom) {
  for (const char* m : {"sd1", "sd2", "sdxl"}) random_folder(m);
  EXPECT_EQ(
      weight_sums((work_root() / "random").string(), "sd1/*/*.safetensors sd2/*/*.safetensors sdxl/*/*.safetensors"),
      slurp(fixture("single-file/weights.sha256")))
      << "the random weights differ from the ones tests/fixtures/single-file was made with; rerun "
         "scripts/make_single_file_fixtures.sh";
}

// The proof: the file diffusers' scripts wrote makes the folder's latents and pixels exactly. The
// files are fp16 (the scripts' --half), loaded in fp32: the folder's weights rounded to fp16.
TEST(SingleFile, ImagesEqualTheFoldersForSd1Sd2AndSdxl) {
  for (const char* m : {"sd1", "sd2", "sdxl"}) {
    const SingleFileCheckpoint file(ckpt(m));
    EXPECT_FALSE(file.ema());
    EXPECT_EQ(file.layout().family, std::string(m) == "sd1" ? "sd15" : std::string(m) == "sd2" ? "sd21" : "sdxl");
    const auto [folder_latents, folder_images] = run(options(fp16_folder(m)));
    const auto [file_latents, file_images] = run(options(ckpt(m), fixture(std::string("single-file/") + m)));
    EXPECT_LE(max_abs_diff(file_latents, folder_latents), 1e-5) << m;
    EXPECT_TRUE(torch::equal(file_images, folder_images)) << m;
    std::printf("[single-file] %s: max |latent difference| %.3g\n", m, max_abs_diff(file_latents, folder_latents));
    // and the rounding matters: the fp32 folder is another model
    const auto [fp32_latents, _] = run(options(random_folder(m)));
    EXPECT_GT(max_abs_diff(fp32_latents, folder_latents), 0) << m;
  }
}

// What real SD 2.x files hold beyond diffusers' pipeline (OpenCLIP's 24th layer, text_projection,
// logit_scale; ldm's noise schedule) is dropped as diffusers drops it; SD-Turbo's sgm layout
// (OpenCLIP under conditioner.embedders.0.model., denoiser.sigmas) reads the same.
TEST(SingleFile, RealCheckpointExtrasAreDroppedAndTheSgmLayoutReads) {
  const std::string oc = "cond_stage_model.model.";
  std::map<std::string, torch::Tensor> extra = {{oc + "text_projection", torch::randn({16, 16})},
                                                {oc + "logit_scale", torch::tensor(4.6f)},
                                                {"alphas_cumprod", torch::rand({1000})},
                                                {"betas", torch::rand({1000})}};
  for (const char* k : {"ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "mlp.c_fc.weight"})
    extra[oc + "transformer.resblocks.23." + k] = torch::randn({k[5] == 'i' ? 48 : 16, 16});
  const auto real = rewritten(
      ckpt("sd2"), [](const std::string& k) { return k; }, extra);
  const auto config = fixture("single-file/sd2");
  const auto [want, want_images] = run(options(ckpt("sd2"), config));
  EXPECT_EQ(max_abs_diff(run(options(real, config)).first, want), 0);

  const auto sgm = rewritten(real,
                             [&](const std::string& k) -> std::optional<std::string> {
                               return k.rfind(oc, 0) == 0 ? "conditioner.embedders.0.model." + k.substr(oc.size()) : k;
                             },
                             {{"denoiser.sigmas", torch::rand({1000})}});
  const SingleFileCheckpoint f(sgm);
  EXPECT_EQ(f.layout().family, "sd21");
  EXPECT_EQ(f.layout().default_config, "sd-turbo");
  EXPECT_EQ(max_abs_diff(run(options(sgm, config)).first, want), 0);
}

// CompVis' training checkpoints carry the UNet twice: model.diffusion_model.* and its EMA copy under
// diffusers' flattened names (model_ema.diffusion_modelinput_blocks00weight); the EMA copy is used.
TEST(SingleFile, EmaCopiesOfTheUNetAreUsedWhenPresent) {
  const WeightFiles w = WeightFiles::file(ckpt("sd1"));
  std::map<std::string, torch::Tensor> ema = {{"model_ema.decay", torch::tensor(0.9999f)},
                                              {"model_ema.num_updates", torch::tensor(1000.f)}};
  for (const auto& k : w.names()) {
    if (k.rfind("model.diffusion_model.", 0) != 0) continue;
    std::string flat = "model_ema.";
    for (char ch : k.substr(6))
      if (ch != '.') flat += ch;
    ema[flat] = w.get(k);
  }
  // the non-EMA weights scrambled: only the EMA copy gives the folder's images
  const auto both = rewritten(
      ckpt("sd1"),
      [](const std::string& k) -> std::optional<std::string> {
        return k.rfind("model.diffusion_model.", 0) == 0 ? std::nullopt : std::optional<std::string>(k);
      },
      ema);
  std::map<std::string, torch::Tensor> scrambled;
  for (const auto& k : w.names())
    if (k.rfind("model.diffusion_model.", 0) == 0) scrambled[k] = torch::randn(w.shape(k));
  const auto file = rewritten(
      both, [](const std::string& k) { return k; }, scrambled);
  EXPECT_TRUE(SingleFileCheckpoint(file).ema());
  const auto config = fixture("single-file/sd1");
  EXPECT_EQ(max_abs_diff(run(options(file, config)).first, run(options(ckpt("sd1"), config)).first), 0);

  // an EMA copy that misses a tensor is refused naming it
  const std::string gone = "model_ema.diffusion_modelout2bias";
  const auto partial = rewritten(file, [&](const std::string& k) -> std::optional<std::string> {
    if (k == gone) return std::nullopt;
    return k;
  });
  const auto msg = error_message([&] { run(options(partial, config)); });
  EXPECT_TRUE(contains(msg, "model.diffusion_model.out.2.bias (" + gone + ")")) << msg;
}

TEST(SingleFile, WhatNoRuleMapsIsRefusedByName) {
  const auto config = fixture("single-file/sd1");
  const auto odd = rewritten(ckpt("sd1"), [](const std::string& k) { return k; },
                             {{"model.diffusion_model.input_blocks.12.0.in_layers.0.weight", torch::ones({8})},
                              {"embedding_manager.embedder.weight", torch::ones({2})},
                              {"model.diffusion_model.input_blocks.1.0.in_layers.1.weight", torch::ones({8})}});
  auto msg = error_message([&] { ModelSource::open(options(odd, config)); });
  EXPECT_TRUE(contains(msg, odd + ": 3 key(s) of an SD 1.x checkpoint")) << msg;
  for (const char* k :
       {"embedding_manager.embedder.weight", "model.diffusion_model.input_blocks.12.0.in_layers.0.weight",
        "model.diffusion_model.input_blocks.1.0.in_layers.1.weight"})
    EXPECT_TRUE(contains(msg, k)) << msg;
  // plan() refuses it before any work, naming the candidate
  const json j = {{"candidates",
                   {{{"name", "odd"},
                     {"family", "sd15"},
                     {"weights", odd},
                     {"config", config},
                     {"cost", {{"value", 1}, {"unit", "seconds"}}}}}}};
  GenerationOverrides ov;
  ov.device = "cpu";
  const GenerationPlan p = plan(parse_candidates(j, "cfg.json", "").candidates[0], ov, "cfg.json");
  EXPECT_EQ(p.verdict, GenerationPlan::Verdict::refused);
  EXPECT_TRUE(contains(p.reason, "cfg.json: candidate \"odd\": " + odd + ": 3 key(s)")) << p.reason;

  // pickles are never opened; the error says how to convert one
  const auto pickled = write(temp_dir() / "model.ckpt", "not opened");
  msg = error_message([&] { ModelSource::open(options(pickled)); });
  EXPECT_TRUE(contains(msg, pickled + ": a pickled checkpoint is never opened")) << msg;
  EXPECT_TRUE(contains(msg, "weights_only=True")) << msg;
  EXPECT_TRUE(contains(msg, "model.safetensors")) << msg;
  // PixArt and aMUSEd run diffusers folders only
  msg = error_message([&] { inspect_model_folder(options(ckpt("sd1")), find_family("pixart")); });
  EXPECT_TRUE(contains(msg, ckpt("sd1") + ": family pixart runs diffusers pipeline folders only")) << msg;
  // a diffusers component file is not a pipeline checkpoint
  const auto unet_only = random_folder("sd1") + "/unet/diffusion_pytorch_model.safetensors";
  msg = error_message([&] { ModelSource::open(options(unet_only)); });
  EXPECT_TRUE(contains(msg, "not a single-file checkpoint this runtime reads")) << msg;
  EXPECT_TRUE(contains(msg, "its keys begin conv_in.bias")) << msg;
  // an inpainting UNet (9 input channels) and a class-conditioned one are not text-to-image
  const std::string conv_in = "model.diffusion_model.input_blocks.0.0.weight";
  const auto inpaint = rewritten(ckpt("sd1"),
                                 [&](const std::string& k) -> std::optional<std::string> {
                                   return k == conv_in ? std::nullopt : std::optional<std::string>(k);
                                 },
                                 {{conv_in, torch::zeros({8, 9, 3, 3})}});
  msg = error_message([&] { SingleFileCheckpoint{inpaint}; });
  EXPECT_TRUE(contains(msg, "takes 9 input channels (an inpainting")) << msg;
  const auto refiner = rewritten(ckpt("sd2"), [](const std::string& k) { return k; },
                                 {{"model.diffusion_model.label_emb.0.0.weight", torch::zeros({2, 2})}});
  msg = error_message([&] { SingleFileCheckpoint{refiner}; });
  EXPECT_TRUE(contains(msg, "label_emb.* (an SDXL refiner")) << msg;
}

// Which configs a file runs with: "config" (a shipped config by name or repo id, or a folder), else
// the shipped config of the hub repo the file is in, else the one its layout implies. The family
// of the configs must be the file's.
TEST(SingleFile, ConfigsComeFromTheCandidateTheRepoOrTheLayout) {
  const auto shipped = [](const char* name) { return shipped_config_dir(*find_shipped_config(name)); };
  const SingleFileCheckpoint sd1(ckpt("sd1")), sd2(ckpt("sd2")), sdxl(ckpt("sdxl"));
  EXPECT_EQ(single_file_config_dir(sd1, ""), shipped("sd15"));
  EXPECT_EQ(single_file_config_dir(sd2, ""), shipped("sd21"));
  EXPECT_EQ(single_file_config_dir(sdxl, ""), shipped("sdxl"));
  EXPECT_EQ(single_file_config_dir(sd2, "sd21-base"), shipped("sd21-base"));
  EXPECT_EQ(single_file_config_dir(sd2, "stabilityai/sd-turbo"), shipped("sd-turbo"));
  EXPECT_EQ(single_file_config_dir(sd1, fixture("single-file/sd1")), fixture("single-file/sd1"));
  auto msg = error_message([&] { single_file_config_dir(sd1, "sdxl-turbo"); });
  EXPECT_TRUE(contains(msg, "the configs sdxl-turbo (stabilityai/sdxl-turbo) are of family sdxl, not sd15")) << msg;
  msg = error_message([&] { single_file_config_dir(sd1, fixture("single-file/sdxl")); });
  EXPECT_TRUE(contains(msg, "names StableDiffusionXLPipeline, which does not run a checkpoint of family sd15")) << msg;
  // a file in the hub cache's stabilityai/sdxl-turbo takes that repo's configs
  const fs::path snap = work_root() / "hub" / "models--stabilityai--sdxl-turbo" / "snapshots" / std::string(40, 'a');
  fs::create_directories(snap);
  fs::copy_file(ckpt("sdxl"), snap / "sd_xl_turbo_1.0_fp16.safetensors", fs::copy_options::overwrite_existing);
  EXPECT_EQ(single_file_config_dir(SingleFileCheckpoint((snap / "sd_xl_turbo_1.0_fp16.safetensors").string()), ""),
            shipped("sdxl-turbo"));
  // a candidate's family must be the file's
  msg = error_message(
      [&] { inspect_model_folder(options(ckpt("sd2"), fixture("single-file/sd2")), find_family("sd15")); });
  EXPECT_TRUE(contains(msg, ckpt("sd2") + " is a checkpoint of family sd21, not \"sd15\"")) << msg;
  EXPECT_EQ(inspect_model_folder(options(ckpt("sdxl"), fixture("single-file/sdxl"))).name, "sdxl");
  // "config" belongs to single files
  msg = error_message([&] { ModelSource::open(options(random_folder("sd1"), "sd15")); });
  EXPECT_TRUE(contains(msg, "is a diffusers folder with its own configs")) << msg;
}

// A separate VAE file in the ldm layout (as vae-ft-mse-840000-ema-pruned.safetensors ships) decodes
// under the pipeline's VAE config as the checkpoint's own VAE does.
TEST(SingleFile, AnLdmVaeFileReplacesTheDecoder) {
  const std::string vae_prefix = "first_stage_model.";
  const auto vae = rewritten(ckpt("sd1"), [&](const std::string& k) -> std::optional<std::string> {
    if (k.rfind(vae_prefix, 0) != 0) return std::nullopt;
    return k.substr(vae_prefix.size());
  });
  auto o = options(ckpt("sd1"), fixture("single-file/sd1"));
  const auto [_, want] = run(o);
  o.vae = vae;
  EXPECT_TRUE(torch::equal(run(o).second, want));
  // and with a folder: the file's keys under the folder's vae config
  auto f = options(fp16_folder("sd1"));
  f.vae = vae;
  EXPECT_TRUE(torch::equal(run(f).second, want));
  const auto bad =
      rewritten(vae, [](const std::string& k) { return k; }, {{"decoder.up.7.block.0.conv1.weight", torch::ones({1})}});
  o.vae = bad;
  const auto msg = error_message([&] { run(o); });
  EXPECT_TRUE(contains(msg, "1 key(s) of an ldm VAE file map to no tensor")) << msg;
  EXPECT_TRUE(contains(msg, "decoder.up.7.block.0.conv1.weight")) << msg;
}

// The ldm names of the real SD 1.5 and SDXL UNets (configs/archs), as diffusers' conversion scripts
// list them, both ways; kohya-style module paths map too; what the architecture lacks maps to nothing.
TEST(SingleFile, LdmUNetNamesFollowTheConfig) {
  const LdmUNetNames sd15(
      UNetConfig::from(ConfigView::load(std::string(CATIMAGE_SOURCE_DIR) + "/configs/archs/sd15-unet.json")));
  const LdmUNetNames sdxl(
      UNetConfig::from(ConfigView::load(std::string(CATIMAGE_SOURCE_DIR) + "/configs/archs/sdxl-unet.json")));
  const auto to = [](const LdmUNetNames& n, const std::string& k) {
    const auto r = n.to_diffusers(k);
    return r.names.size() == 1 ? r.names[0].name : std::string("(none)");
  };
  const std::vector<std::pair<std::string, std::string>> sd15_pairs = {
      {"time_embed.2.weight", "time_embedding.linear_2.weight"},
      {"input_blocks.0.0.bias", "conv_in.bias"},
      {"input_blocks.2.0.in_layers.2.weight", "down_blocks.0.resnets.1.conv1.weight"},
      {"input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
      {"input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"},
      {"input_blocks.8.1.transformer_blocks.0.attn2.to_k.weight",
       "down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight"},
      {"input_blocks.11.0.emb_layers.1.bias", "down_blocks.3.resnets.1.time_emb_proj.bias"},
      {"middle_block.1.proj_out.weight", "mid_block.attentions.0.proj_out.weight"},
      {"middle_block.2.out_layers.3.weight", "mid_block.resnets.1.conv2.weight"},
      {"output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
      {"output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"},
      {"output_blocks.11.1.norm.weight", "up_blocks.3.attentions.2.norm.weight"},
      {"out.0.weight", "conv_norm_out.weight"},
      {"out.2.bias", "conv_out.bias"},
      {"input_blocks.4.1.proj_in", "down_blocks.1.attentions.0.proj_in"}};  // a LoRA target: a module
  for (const auto& [ldm, diffusers] : sd15_pairs) {
    EXPECT_EQ(to(sd15, ldm), diffusers);
    EXPECT_EQ(sd15.to_ldm(diffusers).value_or("(none)"), ldm);
  }
  const std::vector<std::pair<std::string, std::string>> sdxl_pairs = {
      {"label_emb.0.0.weight", "add_embedding.linear_1.weight"},
      {"input_blocks.4.1.transformer_blocks.1.ff.net.2.weight",
       "down_blocks.1.attentions.0.transformer_blocks.1.ff.net.2.weight"},
      {"input_blocks.6.0.op.bias", "down_blocks.1.downsamplers.0.conv.bias"},
      {"output_blocks.2.2.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
      {"output_blocks.8.0.skip_connection.bias", "up_blocks.2.resnets.2.conv_shortcut.bias"}};
  for (const auto& [ldm, diffusers] : sdxl_pairs) {
    EXPECT_EQ(to(sdxl, ldm), diffusers);
    EXPECT_EQ(sdxl.to_ldm(diffusers).value_or("(none)"), ldm);
  }
  for (const char* none :
       {"input_blocks.12.0.in_layers.0.weight", "input_blocks.10.1.proj_in.weight", "output_blocks.2.2.conv.weight",
        "input_blocks.1.0.in_layers.1.weight", "label_emb.0.0.weight", "middle_block.1.bogus.weight", "out.1.weight"})
    EXPECT_EQ(to(sd15, none), "(none)") << none;
  EXPECT_EQ(to(sdxl, "input_blocks.1.1.proj_in.weight"), "(none)");  // SDXL's first block has no attention
}

TEST(SingleFile, OpenClipNamesSplitTheFusedProjectionAndDropWhatDiffusersDrops) {
  ClipTextConfig h;
  h.num_hidden_layers = 23;
  auto r = openclip_to_diffusers("transformer.resblocks.3.attn.in_proj_weight", h);
  ASSERT_EQ(r.names.size(), 3u);
  EXPECT_EQ(r.names[1].name, "text_model.encoder.layers.3.self_attn.k_proj.weight");
  EXPECT_EQ(r.names[1].op, TensorOp::third);
  EXPECT_EQ(r.names[1].part, 1);
  EXPECT_EQ(openclip_to_diffusers("transformer.resblocks.22.mlp.c_proj.bias", h).names.at(0).name,
            "text_model.encoder.layers.22.mlp.fc2.bias");
  EXPECT_FALSE(openclip_to_diffusers("transformer.resblocks.23.ln_1.weight", h).dropped.empty());
  EXPECT_FALSE(openclip_to_diffusers("text_projection", h).dropped.empty());
  h.with_projection = true;
  EXPECT_EQ(openclip_to_diffusers("text_projection", h).names.at(0).op, TensorOp::transpose);
  EXPECT_FALSE(openclip_to_diffusers("transformer.resblocks.3.attn.bogus", h).mapped());
  EXPECT_EQ(openai_clip_to_diffusers("encoder.layers.0.mlp.fc1.weight").names.at(0).name,
            "text_model.encoder.layers.0.mlp.fc1.weight");  // the layout without "text_model."
}

// The shipped configs parse and their components fit together; they hold no vocab.json or
// merges.txt (data brought from elsewhere is not committed): model_index.json's
// "_tokenizer_files" names the repos those come from, read from the hub cache. A missing one is
// one error with the command that fetches just those files, and makes the candidate one that
// cannot run here; in the cache (the tiny vocabulary standing in), each tokenizer reads it with
// its set's own settings (SD 2's and SDXL's second pad with "!").
TEST(SingleFile, ShippedConfigsFitTogetherAndTakeTheirTokenizersFromTheHubCache) {
  const std::string l14 = "openai/clip-vit-large-patch14", big_g = "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
                    sd2 = "stabilityai/stable-diffusion-2-1";
  const std::map<std::string, std::pair<std::string, std::map<std::string, std::string>>> sets = {
      {"sd15", {"sd1", {{"tokenizer", l14}}}},
      {"sd21", {"sd2", {{"tokenizer", sd2 + "/tokenizer"}}}},
      {"sd21-base", {"sd2", {{"tokenizer", sd2 + "/tokenizer"}}}},
      {"sd-turbo", {"sd2", {{"tokenizer", sd2 + "/tokenizer"}}}},
      {"sdxl", {"sdxl", {{"tokenizer", l14}, {"tokenizer_2", big_g}}}},
      {"sdxl-turbo", {"sdxl", {{"tokenizer", l14}, {"tokenizer_2", big_g}}}}};
  HubCache hub(temp_dir() / "hub");  // empty, for now
  ASSERT_EQ(sets.size(), shipped_configs().size());
  for (const auto& c : shipped_configs()) {
    const std::string dir = shipped_config_dir(c);
    const ModelIndex mi = read_model_index(dir);
    const bool xl = c.family == "sdxl";
    EXPECT_EQ(mi.pipeline_class, xl ? kSdxlPipelineClass : kSdPipelineClass) << c.name;
    const auto unet = UNetConfig::from(ConfigView::load(dir + "/unet/config.json"));
    std::int64_t width = 0, pooled = 0;
    for (const char* te : {"text_encoder", "text_encoder_2"}) {
      if (!fs::exists(dir + "/" + te)) continue;
      const auto t = ClipTextConfig::from(ConfigView::load(dir + "/" + te + "/config.json"));
      width += t.hidden_size;
      if (t.with_projection) pooled = t.projection_dim;
      EXPECT_EQ(t.vocab_size, 49408) << c.name;
    }
    EXPECT_EQ(unet.cross_attention_dim(), width) << c.name;
    if (xl) EXPECT_EQ(unet.projection_class_embeddings_input_dim, 6 * unet.addition_time_embed_dim + pooled) << c.name;
    AutoencoderKLConfig::from(ConfigView::load(dir + "/vae/config.json"));
    const auto& [file, refs] = sets.at(c.name);
    const ModelSource src = ModelSource::open(options(ckpt(file), c.name));
    for (const auto& [tk, ref] : refs) {
      EXPECT_FALSE(fs::exists(dir + "/" + tk + "/vocab.json")) << c.name;
      EXPECT_FALSE(fs::exists(dir + "/" + tk + "/merges.txt")) << c.name;
      EXPECT_EQ(mi.index["_tokenizer_files"][tk], ref) << c.name;
      const auto msg = error_message([&] { src.tokenizer_files(tk); });
      const auto sub = ref.find('/', ref.find('/') + 1);
      const std::string files = sub == std::string::npos
                                    ? "vocab.json merges.txt"
                                    : ref.substr(sub + 1) + "/vocab.json " + ref.substr(sub + 1) + "/merges.txt";
      EXPECT_TRUE(contains(msg, "`huggingface-cli download " + ref.substr(0, sub) + " " + files + "`")) << msg;
    }
  }
  // a candidate whose file's tokenizer is not in the cache cannot run here, and says what to fetch
  Candidate cand;
  cand.name = "file";
  cand.family = "sdxl";
  cand.weights = ckpt("sdxl");
  GenerationOverrides cpu;
  cpu.device = "cpu";
  GenerationPlan p = plan(cand, cpu, "cfg.json");
  EXPECT_EQ(p.verdict, GenerationPlan::Verdict::cannot_run_here);
  EXPECT_TRUE(contains(p.reason, "huggingface-cli download " + l14 + " vocab.json merges.txt")) << p.reason;
  hub.put(l14, fixture("clip-tiny-vocab"));
  p = plan(cand, cpu, "cfg.json");
  EXPECT_TRUE(contains(p.reason, "huggingface-cli download " + big_g + " vocab.json merges.txt")) << p.reason;
  hub.put(big_g, fixture("clip-tiny-vocab"));
  hub.put(sd2, fixture("clip-tiny-vocab"), "tokenizer");
  p = plan(cand, cpu, "cfg.json");
  EXPECT_TRUE(p.runs()) << p.reason;
  const ClipTokenizer ref(fixture("clip-tiny-vocab/vocab.json"), fixture("clip-tiny-vocab/merges.txt"), "<|endoftext|>",
                          77);
  for (const auto& c : shipped_configs()) {
    const std::string dir = shipped_config_dir(c);
    const ModelSource src = ModelSource::open(options(ckpt(sets.at(c.name).first), c.name));
    for (const auto& [tk, r] : sets.at(c.name).second) {
      const std::string bpe = src.tokenizer_files(tk);
      EXPECT_TRUE(contains(bpe, hub.root().string())) << bpe;
      const auto tok = ClipTokenizer::from_folder(dir + "/" + tk, bpe);
      const bool bang = c.family == "sd21" || tk == "tokenizer_2";  // OpenCLIP's padding, as the repos set it
      const std::string prompt = "a photograph of an astronaut riding a horse";
      EXPECT_EQ(tok.encode(prompt), ref.encode(prompt)) << c.name << " " << tk;
      const auto got = tok.encode_padded(prompt);
      ASSERT_EQ(got.size(), 77u);
      EXPECT_EQ(got.back(), bang ? 0 : ref.eos_id()) << c.name << " " << tk;  // "!": the first byte symbol
    }
  }
}

// A LoRA merges into the weights read from a single file as into the folder's: the same weights
// after the merge, and W + scale · (α/r) · up·down over the file's own.
TEST(SingleFile, LorasMergeIntoTheWeightsOfAFileAsOfAFolder) {
  const std::string q = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";  // 8 x 8 in the tiny SD1
  torch::manual_seed(3);
  const auto down = torch::randn({2, 8}), up = torch::randn({8, 2});
  std::vector<TensorBlob> blobs;
  for (const auto& [suffix, t] : {std::pair{".lora_down.weight", down}, {".lora_up.weight", up}}) {
    TensorBlob b{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q" + std::string(suffix),
                 DType::F32, t.sizes().vec(), std::vector<std::uint8_t>(t.numel() * 4)};
    std::memcpy(b.bytes.data(), t.contiguous().data_ptr<float>(), b.bytes.size());
    blobs.push_back(std::move(b));
  }
  const std::string lora = (temp_dir() / "lora.safetensors").string();
  write_safetensors(lora, std::move(blobs));  // no alpha: α = r
  const auto weight = [&](PipelineOptions o, bool with_lora) {
    if (with_lora) o.loras = {{lora, 0.7}};
    DiffusionPipeline p(o);
    const auto params = p.unet()->named_parameters();
    const auto* t = params.find(q + ".weight");
    return t ? t->detach().clone() : torch::Tensor();
  };
  const auto file = options(ckpt("sd1"), fixture("single-file/sd1"));
  const auto merged = weight(file, true), plain = weight(file, false);
  ASSERT_TRUE(merged.defined() && plain.defined());
  EXPECT_TRUE(torch::equal(merged, weight(options(fp16_folder("sd1")), true)));
  EXPECT_TRUE(torch::allclose(merged, plain + 0.7 * torch::mm(up, down), 1e-6, 1e-6));
  EXPECT_FALSE(torch::equal(merged, plain));
}

// generate --model takes a file inside a hub-cache repo (org/name/file.safetensors) with
// --model-config, makes the folder's pixels, and keys the image by the configs as well as the file.
TEST(SingleFile, GenerateRunsAHubCacheFileAndKeysItsImagesByItsConfigs) {
  const fs::path d = temp_dir();
  const std::string commit(40, 'c');
  const fs::path repo = d / "hub" / "models--org--tiny-ckpt";
  fs::create_directories(repo / "snapshots" / commit);
  fs::create_directories(repo / "refs");
  fs::copy_file(ckpt("sd1"), repo / "snapshots" / commit / "sd1.safetensors");
  write(repo / "refs" / "main", commit);
  const char* saved = std::getenv("HF_HUB_CACHE");
  const std::string before = saved ? saved : "";
  setenv("HF_HUB_CACHE", (d / "hub").string().c_str(), 1);  // the child catimage inherits it
  const auto prompts = write(d / "p.txt", "a red cube\n");
  const std::string common = " " + prompts + " --steps 2 --device cpu --out ";
  auto r = run_catimage("generate --model org/tiny-ckpt/sd1.safetensors --model-config " + fixture("single-file/sd1") +
                        common + (d / "file").string());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_catimage("generate --model " + fp16_folder("sd1") + common + (d / "folder").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(torch::equal(load_rgb((d / "file" / "1.png").string()), load_rgb((d / "folder" / "1.png").string())));
  const auto key = [&] { return json::parse(slurp(d / "file" / "manifest.jsonl"))["key"].get<std::string>(); };
  const std::string first = key();
  // the same architecture under other configs (trailing timesteps) is another image: made again
  fs::copy(fixture("single-file/sd1"), d / "configs", fs::copy_options::recursive);
  json sched = read_json_file((d / "configs" / "scheduler" / "scheduler_config.json").string());
  sched["timestep_spacing"] = "trailing";
  write(d / "configs" / "scheduler" / "scheduler_config.json", sched.dump());
  r = run_catimage("generate --model org/tiny-ckpt/sd1.safetensors --model-config " + (d / "configs").string() +
                   common + (d / "file").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(key(), first);
  // a file missing from the snapshot: one error with the download command, before any work
  r = run_catimage("generate --model org/tiny-ckpt/sd2.safetensors" + common + (d / "none").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "huggingface-cli download org/tiny-ckpt sd2.safetensors")) << r.err;
  if (saved)
    setenv("HF_HUB_CACHE", before.c_str(), 1);
  else
    unsetenv("HF_HUB_CACHE");
}

// The shipped configs/default.json's SDXL-Turbo candidate (1 step, Euler ancestral, no CFG) runs
// from a single file once it names it (and, the file being tiny, the tiny configs and size).
TEST(SingleFile, ADefaultJsonCandidateRunsFromAFile) {
  const fs::path d = temp_dir();
  json cfg = read_json_file(std::string(CATIMAGE_SOURCE_DIR) + "/configs/default.json");
  json turbo;
  for (const auto& c : cfg["candidates"])
    if (c["name"] == "SDXL-Turbo") turbo = c;
  ASSERT_TRUE(turbo.is_object());
  turbo["weights"] = ckpt("sdxl");
  turbo["config"] = fixture("single-file/sdxl");
  turbo["width"] = turbo["height"] = 64;
  cfg["candidates"] = json::array({turbo});
  write(d / "cfg.json", cfg.dump());
  const auto prompts = write(d / "p.txt", "a red cube\na blue sphere\n");
  const auto r = run_catimage("generate -c " + (d / "cfg.json").string() + " --candidate SDXL-Turbo " + prompts +
                              " --device cpu --out " + (d / "out").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_rgb((d / "out" / "2.png").string()).sizes(), (std::vector<std::int64_t>{64, 64, 3}));
}

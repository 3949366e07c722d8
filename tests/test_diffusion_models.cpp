#include <gtest/gtest.h>

#include <functional>

#include <filesystem>

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/models/attention.hpp"
#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/safetensors.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

// Rewrites a safetensors file with `edit` applied to its tensors (float32).
void rewrite(const std::string& path, const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
  std::map<std::string, torch::Tensor> t;
  {
    auto w = WeightFiles::file(path);
    for (const auto& n : w.names()) t[n] = w.get(n);
  }
  edit(t);
  std::vector<TensorBlob> blobs;
  for (auto& [n, v] : t) {
    auto c = v.contiguous().to(torch::kFloat32);
    TensorBlob b{n, DType::F32, c.sizes().vec(), {}};
    b.bytes.resize(c.numel() * 4);
    std::memcpy(b.bytes.data(), c.data_ptr<float>(), b.bytes.size());
    blobs.push_back(std::move(b));
  }
  write_safetensors(path, std::move(blobs));
}

}  // namespace

TEST(DiffusionModels, ParameterNamesAreDiffusersCheckpointKeys) {
  auto unet = load_unet(tiny_model("tiny-sdxl") + "/unet");
  std::set<std::string> keys;
  for (const auto& p : unet->named_parameters()) keys.insert(p.key());
  for (const char* k : {"conv_in.weight", "time_embedding.linear_1.weight", "add_embedding.linear_2.bias",
                        "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.downsamplers.0.conv.weight",
                        "down_blocks.1.attentions.0.proj_in.weight",
                        "down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_q.weight",
                        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.bias",
                        "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
                        "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2.weight",
                        "mid_block.attentions.0.transformer_blocks.1.norm3.weight", "mid_block.resnets.1.conv2.weight",
                        "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.0.upsamplers.0.conv.weight",
                        "conv_norm_out.weight", "conv_out.bias"})
    EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_FALSE(keys.count("down_blocks.0.attentions.0.norm.weight"));  // DownBlock2D has no attention
  auto te = load_clip_text_model(tiny_model("tiny-sdxl") + "/text_encoder_2");
  std::set<std::string> tk;
  for (const auto& p : te->named_parameters()) tk.insert(p.key());
  for (const char* k :
       {"text_model.embeddings.token_embedding.weight", "text_model.encoder.layers.1.self_attn.q_proj.bias",
        "text_model.encoder.layers.0.mlp.fc2.weight", "text_model.final_layer_norm.weight", "text_projection.weight"})
    EXPECT_TRUE(tk.count(k)) << k;
}

TEST(DiffusionModels, LoadingReportsMissingMisshapedAndUnexpectedKeys) {
  auto dir = temp_dir() / "unet";
  fs::copy(tiny_model("tiny-sd1") + "/unet", dir);
  auto file = (dir / "diffusion_pytorch_model.safetensors").string();
  rewrite(file, [](auto& t) {
    t.erase("conv_in.bias");
    t["conv_out.weight"] = torch::zeros({4, 32, 1, 1});
    t["extra.weight"] = torch::zeros({1});
  });
  auto msg = error_message([&] { load_unet(dir.string()); });
  EXPECT_TRUE(contains(msg, "missing [conv_in.bias]")) << msg;
  EXPECT_TRUE(contains(msg, "conv_out.weight (file [4, 32, 1, 1], model [4, 32, 3, 3])")) << msg;
  EXPECT_TRUE(contains(msg, "unexpected [extra.weight]")) << msg;
  EXPECT_TRUE(contains(msg, file)) << msg;
}

TEST(DiffusionModels, UNetHandlesBatchesTimestepsAndOddSizes) {
  torch::NoGradGuard ng;
  auto unet = load_unet(tiny_model("tiny-sd2") + "/unet");
  torch::manual_seed(3);
  auto x = torch::randn({2, 4, 8, 8});
  auto ctx = torch::randn({2, 77, 32});
  auto both = unet(x, torch::tensor({999.0f, 10.0f}), ctx);
  auto first = unet(x.narrow(0, 0, 1), torch::tensor({999.0f}), ctx.narrow(0, 0, 1));
  EXPECT_LT((both[0] - first[0]).abs().max().item<float>(), 1e-5);
  EXPECT_GT((both[0] - both[1]).abs().max().item<float>(), 1e-3);  // timestep and input matter
  auto other_t = unet(x.narrow(0, 0, 1), torch::tensor({10.0f}), ctx.narrow(0, 0, 1));
  EXPECT_GT((other_t[0] - first[0]).abs().max().item<float>(), 1e-4);
  auto odd = unet(torch::randn({1, 4, 7, 9}), torch::tensor({500.0f}), ctx.narrow(0, 0, 1));
  EXPECT_EQ(odd.sizes(), (std::vector<std::int64_t>{1, 4, 7, 9}));
  EXPECT_TRUE(torch::isfinite(odd).all().item<bool>());
}

TEST(DiffusionModels, ClipTextEncoderIsCausalAndPoolsAtTheEndToken) {
  torch::NoGradGuard ng;
  auto te = load_clip_text_model(tiny_model("tiny-sdxl") + "/text_encoder_2");
  auto tok = ClipTokenizer::from_folder(tiny_model("tiny-sdxl") + "/tokenizer_2");
  auto a = tok.encode_padded("a red cube on a table"), b = tok.encode_padded("a red cube under the sea");
  auto ids = torch::tensor(std::vector<std::int64_t>(a.begin(), a.end())).view({1, 77});
  auto ids2 = torch::tensor(std::vector<std::int64_t>(b.begin(), b.end())).view({1, 77});
  auto o1 = te(ids), o2 = te(ids2);
  // "a red cube" is the same prefix: the causal mask keeps its states equal
  const int prefix = 1 + static_cast<int>(tok.encode("a red cube").size());
  EXPECT_LT(
      (o1.last_hidden_state.narrow(1, 0, prefix) - o2.last_hidden_state.narrow(1, 0, prefix)).abs().max().item<float>(),
      1e-5);
  EXPECT_GT((o1.pooled - o2.pooled).abs().max().item<float>(), 1e-4);
  const auto eos_at = 1 + static_cast<long>(tok.encode("a red cube on a table").size());
  EXPECT_LT((o1.pooled[0] - o1.last_hidden_state[0][eos_at]).abs().max().item<float>(), 1e-6);
  EXPECT_EQ(o1.text_embeds.sizes(), (std::vector<std::int64_t>{1, 16}));
  EXPECT_EQ(o1.penultimate.sizes(), (std::vector<std::int64_t>{1, 77, 32}));
}

TEST(DiffusionModels, AutoencodersDecodeToImageSize) {
  torch::NoGradGuard ng;
  auto kl = load_latent_decoder(tiny_model("tiny-sd1") + "/vae");
  EXPECT_EQ(kl->spatial_factor(), 2);
  auto img = kl->decode(torch::randn({1, 4, 8, 6}));
  EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{1, 3, 16, 12}));
  auto tiny = load_latent_decoder(tiny_model("tiny-taesd"));
  EXPECT_EQ(tiny->spatial_factor(), 8);
  auto t = tiny->decode(torch::randn({1, 4, 4, 4}));
  EXPECT_EQ(t.sizes(), (std::vector<std::int64_t>{1, 3, 32, 32}));
  auto ae = load_kl_autoencoder(tiny_model("tiny-sd1") + "/vae");
  auto mean = ae->model->encode_mean(torch::rand({1, 3, 16, 16}) * 2 - 1);
  EXPECT_EQ(mean.sizes(), (std::vector<std::int64_t>{1, 4, 8, 8}));
}

TEST(DiffusionModels, OldVaeAttentionNamesStillLoad) {
  auto dir = temp_dir() / "vae";
  fs::copy(tiny_model("tiny-sd1") + "/vae", dir);
  auto file = (dir / "diffusion_pytorch_model.safetensors").string();
  torch::Tensor q;
  rewrite(file, [&](auto& t) {
    for (const char* side : {"encoder", "decoder"}) {
      std::string p = std::string(side) + ".mid_block.attentions.0.";
      t[p + "query.weight"] = t[p + "to_q.weight"].view({32, 32, 1, 1});  // stored as a 1x1 conv, as old files do
      t[p + "query.bias"] = t[p + "to_q.bias"];
      t.erase(p + "to_q.weight");
      t.erase(p + "to_q.bias");
      t[p + "proj_attn.weight"] = t[p + "to_out.0.weight"];
      t[p + "proj_attn.bias"] = t[p + "to_out.0.bias"];
      t.erase(p + "to_out.0.weight");
      t.erase(p + "to_out.0.bias");
    }
  });
  torch::NoGradGuard ng;
  auto a = load_latent_decoder(tiny_model("tiny-sd1") + "/vae");
  auto b = load_latent_decoder(dir.string());
  auto z = torch::randn({1, 4, 4, 4});
  EXPECT_LT((a->decode(z) - b->decode(z)).abs().max().item<float>(), 1e-6);
}

TEST(DiffusionModels, ShardedWeightsAndFp16VariantsLoad) {
  auto dir = temp_dir() / "unet";
  fs::create_directories(dir);
  fs::copy(tiny_model("tiny-sd1") + "/unet/config.json", dir / "config.json");
  auto w = WeightFiles::file(tiny_model("tiny-sd1") + "/unet/diffusion_pytorch_model.safetensors");
  std::vector<TensorBlob> a, b;
  json map = json::object();
  int i = 0;
  for (const auto& n : w.names()) {
    auto t = w.get(n, torch::kFloat16).contiguous();
    TensorBlob blob{n, DType::F16, t.sizes().vec(), {}};
    blob.bytes.resize(t.numel() * 2);
    std::memcpy(blob.bytes.data(), t.data_ptr(), blob.bytes.size());
    const bool first = (i++ % 2) == 0;
    map[n] = first ? "part-1.safetensors" : "part-2.safetensors";
    (first ? a : b).push_back(std::move(blob));
  }
  write_safetensors((dir / "part-1.safetensors").string(), std::move(a));
  write_safetensors((dir / "part-2.safetensors").string(), std::move(b));
  write(dir / "diffusion_pytorch_model.fp16.safetensors.index.json", json{{"weight_map", map}}.dump());
  torch::NoGradGuard ng;
  auto u16 = load_unet(dir.string());
  auto u32 = load_unet(tiny_model("tiny-sd1") + "/unet");
  auto x = torch::randn({1, 4, 8, 8});
  auto ctx = torch::randn({1, 77, 32});
  auto t = torch::tensor({400.0f});
  EXPECT_LT((u16(x, t, ctx) - u32(x, t, ctx)).abs().max().item<float>(), 0.05);
}

TEST(DiffusionModels, UnsupportedConfigsAreRefusedByKey) {
  auto cfg = read_json_file(fixture("tiny-sd1/unet/config.json"));
  cfg["class_embed_type"] = "timestep";
  auto msg = error_message([&] { UNetConfig::from(ConfigView(cfg, "unet/config.json")); });
  EXPECT_TRUE(contains(msg, "unet/config.json: key \"class_embed_type\"")) << msg;
  cfg = read_json_file(fixture("tiny-sd1/unet/config.json"));
  cfg["down_block_types"][0] = "SimpleCrossAttnDownBlock2D";
  msg = error_message([&] { UNetConfig::from(ConfigView(cfg, "unet/config.json")); });
  EXPECT_TRUE(contains(msg, "SimpleCrossAttnDownBlock2D")) << msg;
}

TEST(DiffusionModels, FamilyRegistryTellsWhatRunsAndHowFoldersLook) {
  EXPECT_EQ(family_names(), "sd15, sd21, sdxl, amused, pixart, other");
  EXPECT_EQ(family_names(", ", true), "sd15, sd21, sdxl, amused, pixart");
  EXPECT_EQ(find_family("nope"), nullptr);
  ASSERT_NE(find_family("other"), nullptr);
  EXPECT_FALSE(find_family("other")->make);
  EXPECT_FALSE(find_family("other")->inspect);
  EXPECT_TRUE(contains(find_family("other")->description, "runtime"));
  EXPECT_EQ(find_family("amused")->schedulers, std::vector<std::string>{"amused"});
  EXPECT_TRUE(find_family("pixart")->schedulers.empty());  // the scheduler registry's
  PipelineOptions nowhere;
  nowhere.folder = "/nonexistent";
  for (const char* f : {"amused", "pixart"}) EXPECT_THROW(find_family(f)->inspect(nowhere), Error) << f;
  EXPECT_TRUE(contains(find_family("sdxl")->folder_layout, "text_encoder_2/"));
  EXPECT_FALSE(contains(find_family("sd15")->folder_layout, "text_encoder_2/"));
  const std::vector<std::pair<std::string, std::string>> runnable = {{"sd15", "tiny-sd1"},
                                                                     {"sd21", "tiny-sd2"},
                                                                     {"sdxl", "tiny-sdxl"},
                                                                     {"amused", "tiny-amused"},
                                                                     {"pixart", "tiny-pixart"}};
  for (const auto& [family, model] : runnable) {
    const auto* e = find_family(family);
    ASSERT_TRUE(e && e->make) << family;
    const std::string cls = read_model_index(tiny_model(model)).pipeline_class;
    EXPECT_EQ(e->pipeline_classes.front(), cls) << family;
    PipelineOptions o;
    o.folder = tiny_model(model);
    o.device = "cpu";
    EXPECT_NO_THROW(e->inspect(o)) << family;
    const auto pipe = e->make(o);
    // the pipeline states no default steps of its own: its callers' plans give them
    GenerationSettings unset;
    const auto msg = error_message([&] { pipe->generate({{"x", "", 1}}, unset); });
    EXPECT_TRUE(contains(msg, "steps must be at least 1")) << family << ": " << msg;
    EXPECT_GT(pipe->default_size(), 0) << family;
    if (family != "sd15" && family != "sd21" && family != "sdxl") {
      // what their pipelines do not implement is refused by inspect, before any weights are read
      for (auto edit : std::vector<std::function<void(PipelineOptions&)>>{
               [](PipelineOptions& p) { p.vae = tiny_model("tiny-taesd"); },
               [](PipelineOptions& p) { p.scheduler = "euler"; }, [](PipelineOptions& p) { p.channels_last = true; }}) {
        PipelineOptions bad = o;
        edit(bad);
        EXPECT_THROW(e->inspect(bad), Error) << family;
      }
    }
  }
}

TEST(ModelFolder, OneInspectorChoosesTheFamilyByTheFoldersClass) {
  const std::vector<std::pair<std::string, std::string>> folders = {{"tiny-sd1", "sd15"},
                                                                    {"tiny-sd2", "sd15"},  // also a StableDiffusionPipeline
                                                                    {"tiny-sdxl", "sdxl"},
                                                                    {"tiny-amused", "amused"},
                                                                    {"tiny-pixart", "pixart"}};
  auto options = [](const std::string& folder) {
    PipelineOptions o;
    o.folder = folder;
    o.device = "cpu";
    return o;
  };
  for (const auto& [model, family] : folders) {
    EXPECT_EQ(inspect_model_folder(options(tiny_model(model))).name, family) << model;
    EXPECT_EQ(folder_family(read_model_index(tiny_model(model))).name, family) << model;
  }
  // a family given must be the folder's; the wrong one is named with what the folder holds
  EXPECT_EQ(inspect_model_folder(options(tiny_model("tiny-sd2")), find_family("sd21")).name, "sd21");
  auto msg = error_message([&] { inspect_model_folder(options(tiny_model("tiny-sdxl")), find_family("pixart")); });
  EXPECT_TRUE(contains(msg, "holds a StableDiffusionXLPipeline") && contains(msg, "not a folder of family \"pixart\""))
      << msg;
  msg = error_message([&] { inspect_model_folder(options(tiny_model("tiny-sd1")), find_family("other")); });
  EXPECT_TRUE(contains(msg, "family \"other\" is not run by this runtime")) << msg;
  // a class no family runs, a folder that is not there
  const auto root = temp_dir();
  const auto odd = root / "odd";
  fs::copy(fixture("tiny-sd1"), odd, fs::copy_options::recursive);
  write(odd / "model_index.json", R"({"_class_name": "KandinskyPipeline"})");
  msg = error_message([&] { inspect_model_folder(options(odd.string())); });
  EXPECT_TRUE(contains(msg, (odd / "model_index.json").string()) && contains(msg, "\"KandinskyPipeline\"") &&
              contains(msg, "is not run by this runtime") && contains(msg, "PixArtSigmaPipeline"))
      << msg;
  msg = error_message([&] { inspect_model_folder(options((root / "nowhere").string())); });
  EXPECT_TRUE(contains(msg, "does not exist")) << msg;
  // every family's files are checked the same way: each missing file named, pickled weights
  // (.bin, .ckpt, .pt, .pth, a .bin index) named as never loaded
  for (const auto& [model, component] : std::vector<std::pair<std::string, std::string>>{
           {"tiny-sd1", "unet"}, {"tiny-amused", "transformer"}, {"tiny-pixart", "transformer"}}) {
    for (const char* ext : {".bin", ".pt"}) {
      const auto d = root / (model + ext);
      fs::copy(tiny_model(model), d, fs::copy_options::recursive);
      const auto weights = d / component / "diffusion_pytorch_model.safetensors";
      fs::rename(weights, d / component / (std::string("diffusion_pytorch_model") + ext));
      fs::remove(d / "scheduler" / "scheduler_config.json");
      msg = error_message([&] { inspect_model_folder(options(d.string())); });
      EXPECT_TRUE(contains(msg, weights.string() + " (only diffusion_pytorch_model" + ext +
                                    " found: pickled weights are never loaded)"))
          << model << ext << ": " << msg;
      EXPECT_TRUE(contains(msg, (d / "scheduler" / "scheduler_config.json").string())) << model << ": " << msg;
    }
  }
}

TEST(DiffusionModels, AttentionMatchesTheTextbookFormulaAtEverySize) {
  // Small problems take one batched path; large ones (scores over a few MiB) go one head and
  // one block of queries at a time on libtorch 1.x, or through fused attention on 2.x. Each
  // must be softmax(q k^T / sqrt(d)) v, with and without a causal mask.
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  struct Case {
    std::int64_t B, N, M, heads, d;
    bool causal;
  };
  for (const Case& c : {Case{2, 7, 5, 2, 4, false}, Case{1, 77, 77, 4, 8, true}, Case{1, 1100, 1100, 2, 8, false},
                        Case{2, 1500, 900, 3, 8, false}, Case{1, 1300, 77, 2, 16, false}}) {
    auto q = torch::randn({c.B, c.N, c.heads * c.d}), k = torch::randn({c.B, c.M, c.heads * c.d}),
         v = torch::randn({c.B, c.M, c.heads * c.d});
    auto split = [&](const torch::Tensor& t, std::int64_t L) { return t.view({c.B, L, c.heads, c.d}).transpose(1, 2); };
    auto s = torch::matmul(split(q, c.N), split(k, c.M).transpose(-1, -2)) / std::sqrt(double(c.d));
    if (c.causal) s = s.masked_fill(torch::ones({c.N, c.M}, torch::kBool).triu(1), -INFINITY);
    auto want = torch::matmul(s.softmax(-1), split(v, c.M)).transpose(1, 2).reshape({c.B, c.N, c.heads * c.d});
    auto got = multihead_attention(q, k, v, c.heads, c.causal);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5) << c.N << "x" << c.M << " heads " << c.heads;
  }
}

// PixArt-α/Σ: the transformer (PixArtTransformer2DModel) and the pipeline, against what
// diffusers' own Transformer2DModel and PixArtAlphaPipeline computed on the same tiny
// random-weight folders (tests/fixtures/parity/pixart_*, scripts/make_pixart_fixtures.sh),
// plus configs, folder checks, batching and the text side. fp32 on the CPU.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "catimage/diffusion/models/pixart_transformer_2d.hpp"
#include "catimage/diffusion/pixart_aspect_ratios.hpp"
#include "catimage/diffusion/pixart_pipeline.hpp"
#include "catimage/diffusion/random_weights.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("pixart_reference").get(name); }
const json& meta() { return reference_meta("pixart_reference"); }

// The folder tests/tiny_models.hpp makes its tiny models in.
std::string root_dir() { return fs::path(tiny_model("tiny-pixart")).parent_path().string(); }

// tiny-pixart with tiny-pixart-ms's transformer config (micro-conditions), random weights
// seed 7: as scripts/make_pixart_fixtures.sh composes it.
std::string tiny_pixart_ms() {
  static const std::string dir = [] {
    auto d = fs::path(root_dir()) / "tiny-pixart-ms";
    fs::copy(fixture("tiny-pixart"), d, fs::copy_options::recursive);
    fs::copy_file(fixture("tiny-pixart-ms/transformer/config.json"), d / "transformer" / "config.json",
                  fs::copy_options::overwrite_existing);
    write_random_weights(d.string(), 7);
    return d.string();
  }();
  return dir;
}

std::string tiny(const std::string& name) { return name == "tiny-pixart-ms" ? tiny_pixart_ms() : tiny_model(name); }

// A copy of tiny-pixart (with weights) to break.
fs::path copy_of_tiny(const std::string& tag) {
  auto d = fs::path(root_dir()) / ("broken-" + tag);
  fs::remove_all(d);
  fs::copy(tiny_model("tiny-pixart"), d, fs::copy_options::recursive);
  return d;
}

void edit_json(const fs::path& p, const std::function<void(json&)>& f) {
  json j = read_json_file(p.string());
  f(j);
  write(p, j.dump(1));
}

PixArtPipeline& pipeline(const std::string& model) {
  static std::map<std::string, std::unique_ptr<PixArtPipeline>> made;
  auto& p = made[model];
  if (!p) {
    PipelineOptions o;
    o.folder = tiny(model);
    o.device = "cpu";
    p = std::make_unique<PixArtPipeline>(o);
    // as the references ran (use_resolution_binning=False): tiny-pixart-ms's sample_size 128
    // would bin 16x16 to 1024x1024
    p->set_resolution_binning(false);
  }
  return *p;
}

}  // namespace

TEST(PixArtParity, TinyModelsAreTheOnesTheReferencesUsed) {
  tiny("tiny-pixart");
  tiny("tiny-pixart-ms");
  const auto got = weight_sums(root_dir(), "tiny-pixart/*/*.safetensors tiny-pixart-ms/*/*.safetensors");
  ASSERT_EQ(got, slurp(fixture("parity/pixart_weights.sha256")))
      << "the tiny PixArt folders' random weights differ from the ones tests/fixtures/parity/pixart_* was made "
         "with; rerun scripts/make_pixart_fixtures.sh";
}

TEST(PixArtTransformer, ReadsThePublishedConfigs) {
  auto a512 = PixArtTransformerConfig::load(fixture("../../configs/archs/pixart-xl-2-512-transformer.json"));
  EXPECT_EQ(a512.inner_dim(), 1152);
  EXPECT_EQ(a512.sample_size, 64);
  EXPECT_FALSE(a512.use_additional_conditions);
  EXPECT_EQ(a512.pos_interpolation_scale(), 1.0);
  EXPECT_EQ(a512.text_dim(), 4096);
  auto a1024 = PixArtTransformerConfig::load(fixture("../../configs/archs/pixart-xl-2-1024-ms-transformer.json"));
  EXPECT_TRUE(a1024.use_additional_conditions);
  EXPECT_EQ(a1024.pos_interpolation_scale(), 2.0);
  auto sigma = PixArtTransformerConfig::load(fixture("../../configs/archs/pixart-sigma-xl-2-1024-ms-transformer.json"));
  EXPECT_FALSE(sigma.use_additional_conditions);  // sample_size 128, but the key says no
  EXPECT_EQ(sigma.pos_interpolation_scale(), 2.0);
  // the micro-condition embedders exist exactly when the config asks for them
  PixArtTransformerConfig small = a1024;
  small.num_layers = 1;
  small.caption_channels = 8;
  small.num_attention_heads = 2;
  small.attention_head_dim = 12;
  small.cross_attention_dim = 24;
  auto names = [](const PixArtTransformerConfig& c) {
    std::set<std::string> n;
    for (const auto& p : PixArtTransformer2DModel(c)->named_parameters()) n.insert(p.key());
    return n;
  };
  auto with = names(small);
  for (const char* k :
       {"pos_embed.proj.weight", "adaln_single.emb.timestep_embedder.linear_1.weight",
        "adaln_single.emb.resolution_embedder.linear_2.bias", "adaln_single.emb.aspect_ratio_embedder.linear_1.weight",
        "adaln_single.linear.weight", "caption_projection.linear_1.weight", "caption_projection.linear_2.bias",
        "transformer_blocks.0.scale_shift_table", "transformer_blocks.0.attn1.to_q.bias",
        "transformer_blocks.0.attn2.to_k.weight", "transformer_blocks.0.attn2.to_out.0.bias",
        "transformer_blocks.0.ff.net.0.proj.weight", "transformer_blocks.0.ff.net.2.weight", "scale_shift_table",
        "proj_out.weight"})
    EXPECT_TRUE(with.count(k)) << k;
  EXPECT_FALSE(with.count("transformer_blocks.0.norm1.weight"));  // norm_elementwise_affine false
  small.use_additional_conditions = false;
  EXPECT_FALSE(names(small).count("adaln_single.emb.resolution_embedder.linear_1.weight"));
}

TEST(PixArtTransformer, RefusesWhatItDoesNotImplementByKey) {
  const auto dir = temp_dir();
  const auto base = read_json_file(fixture("tiny-pixart/transformer/config.json"));
  auto refused = [&](const std::string& key, const json& value, const std::string& why) {
    json j = base;
    if (value.is_discarded())
      j.erase(key);
    else
      j[key] = value;
    const auto path = write(dir / "config.json", j.dump());
    const auto msg = error_message([&] { PixArtTransformerConfig::load(path); });
    EXPECT_TRUE(contains(msg, path) && contains(msg, key) && contains(msg, why)) << key << ": " << msg;
  };
  refused("norm_type", "layer_norm", "ada_norm_single");
  refused("activation_fn", "geglu", "gelu-approximate");
  refused("num_vector_embeds", 10, "num_vector_embeds");
  refused("only_cross_attention", true, "only_cross_attention");
  refused("cross_attention_dim", 32, "num_attention_heads x attention_head_dim");
  refused("patch_size", json(json::value_t::discarded), "missing");
  refused("_class_name", "UNet2DConditionModel", "PixArtTransformer2DModel");
  refused("interpolation_scale", 0, "positive");
  json j = base;
  j["attention_head_dim"] = 11;  // 22 wide: no multiple of 4 for the sin-cos positions
  j["cross_attention_dim"] = 22;
  auto path = write(dir / "config.json", j.dump());
  EXPECT_TRUE(contains(error_message([&] { PixArtTransformerConfig::load(path); }), "multiple of 4"));
  j = base;
  j["attention_head_dim"] = 8;  // 16 wide: the micro-conditions split the width in three
  j["cross_attention_dim"] = 16;
  j["use_additional_conditions"] = true;
  path = write(dir / "config.json", j.dump());
  EXPECT_TRUE(contains(error_message([&] { PixArtTransformerConfig::load(path); }), "divisible by 3"));
}

TEST(PixArtTransformer, PositionEmbeddingMatchesDiffusers) {
  for (const auto& [name, p] : meta()["pos"].items()) {
    auto got = sincos_pos_embed_2d(p["dim"].get<int>(), p["grid"][0].get<int>(), p["grid"][1].get<int>(),
                                   p["base_size"].get<int>(), p["interpolation_scale"].get<double>());
    EXPECT_LE(max_abs_diff(got, R("pos." + name)), 1e-6) << name;
  }
}

TEST(PixArtTransformer, ForwardMatchesDiffusers) {
  for (const auto& [c, m] : meta()["transformer"].items()) {
    auto model = load_pixart_transformer(tiny(m["model"].get<std::string>()) + "/transformer");
    torch::NoGradGuard ng;
    const std::string k = "tr." + c + ".";
    PixArtMicroConditions micro;
    if (m["micro"].get<bool>()) micro = {R(k + "resolution"), R(k + "aspect_ratio")};
    torch::Tensor mask;
    if (m["masked"].get<bool>()) mask = R(k + "mask").to(torch::kInt64);
    auto out = model(R(k + "sample"), R(k + "timesteps"), R(k + "context"), mask, micro);
    const float e = max_abs_diff(out, R(k + "out"));
    std::printf("[parity] PixArt transformer %s: max abs error %.3g\n", c.c_str(), e);
    EXPECT_LE(e, 1e-4) << c;
    EXPECT_EQ(out.size(1), 8) << "learned sigma: noise and variance channels, as diffusers returns them";
  }
}

TEST(PixArtTransformer, PaddedTextTokensAreMasked) {
  auto model = load_pixart_transformer(tiny("tiny-pixart") + "/transformer");
  torch::NoGradGuard ng;
  const std::string k = "tr.masked.";
  auto x = R(k + "sample"), ts = R(k + "timesteps"), ctx = R(k + "context");
  auto mask = R(k + "mask").to(torch::kInt64);
  auto out = model(x, ts, ctx, mask);
  // what the padding holds does not matter...
  auto other = ctx.clone();
  other.narrow(1, 7, 5)[0].normal_();
  EXPECT_LE(max_abs_diff(model(x, ts, other, mask), out), 1e-6);
  // ...and without the mask it would
  EXPECT_GT(max_abs_diff(model(x, ts, ctx), out), 1e-3);
  EXPECT_THROW(model(x, ts, ctx, mask.narrow(1, 0, 5)), Error);
}

// masked_multihead_attention against softmax(q kᵀ/√d + bias) v written out, small (one
// batched product) and large (libtorch 1.x's block-by-block loop), with a bias per key row
// (diffusers' padding mask) and per query.
TEST(PixArtTransformer, MaskedAttentionMatchesItsDefinition) {
  torch::manual_seed(3);
  torch::NoGradGuard ng;
  for (std::int64_t N : {16, 4096}) {
    const std::int64_t B = 2, heads = 2, d = 8, M = 160;
    auto q = torch::randn({B, N, heads * d}), k = torch::randn({B, M, heads * d}), v = torch::randn({B, M, heads * d});
    auto mask = torch::ones({B, M});
    mask.narrow(1, 100, 60)[0].zero_();
    for (auto bias : {((1 - mask) * -10000.0).unsqueeze(1), torch::randn({B, N, M})}) {
      auto split = [&](const torch::Tensor& t) { return t.view({B, -1, heads, d}).transpose(1, 2); };
      auto scores = torch::matmul(split(q), split(k).transpose(-1, -2)) / std::sqrt(double(d)) + bias.unsqueeze(1);
      auto want = torch::matmul(scores.softmax(-1), split(v)).transpose(1, 2).reshape({B, N, heads * d});
      EXPECT_LE(max_abs_diff(masked_multihead_attention(q, k, v, heads, bias), want), 1e-5) << N;
    }
  }
}

TEST(PixArtTransformer, MicroConditionsAreRequiredWhereConfigured) {
  auto model = load_pixart_transformer(tiny("tiny-pixart-ms") + "/transformer");
  torch::NoGradGuard ng;
  EXPECT_THROW(model(torch::zeros({1, 4, 8, 8}), torch::tensor({10.0}), torch::zeros({1, 3, 32})), Error);
}

TEST(PixArtPipeline, FromEmbeddingsMatchesDiffusers) {
  for (const auto& [c, m] : meta()["pipelines"].items()) {
    auto& p = pipeline(m["model"].get<std::string>());
    const std::string k = "pipe." + c + ".";
    PixArtTextEmbeddings pos{R(k + "embeds"), R(k + "mask").to(torch::kInt64)};
    PixArtTextEmbeddings neg{R(k + "neg_embeds"), R(k + "neg_mask").to(torch::kInt64)};
    GenerationSettings s{m["steps"].get<int>(), m["width"].get<int>(), m["height"].get<int>(),
                         m["guidance"].get<double>()};
    const auto seeds = m["seeds"].get<std::vector<std::uint64_t>>();
    auto lat = p.generate_latents_from_embeddings(pos, neg, seeds, s);
    const float el = max_abs_diff(lat, R(k + "latents"));
    auto img = p.generate_from_embeddings(pos, neg, seeds, s);
    const float ei = max_abs_diff(img, R(k + "uint8"));
    std::printf("[parity] PixArt pipeline %s: latents max abs %.3g, image max %.0f/255\n", c.c_str(), el, ei);
    EXPECT_LE(el, 1e-3) << c;
    EXPECT_LE(ei, 2.0) << c;
    EXPECT_EQ(img.scalar_type(), torch::kUInt8);
  }
}

TEST(PixArtPipeline, SameSeedSameImageWhateverTheBatch) {
  auto& p = pipeline("tiny-pixart-ms");
  GenerationSettings s{3, 16, 16, 4.5};
  auto both = p.generate({{"a red cube", "", 11}, {"two dogs at dusk", "blurry", 12}}, s);
  auto second = p.generate({{"two dogs at dusk", "blurry", 12}}, s);
  auto first = p.generate({{"a red cube", "", 11}}, s);
  EXPECT_LE(max_abs_diff(both[1], second[0]), 1.0);
  EXPECT_LE(max_abs_diff(both[0], first[0]), 1.0);
  EXPECT_GT(max_abs_diff(both[0], both[1]), 10.0);  // different prompts and seeds: different images
}

TEST(PixArtPipeline, EncodesPromptsAsDiffusers) {
  auto& p = pipeline("tiny-pixart");
  EXPECT_EQ(p.max_sequence_length(), 120);
  EXPECT_EQ(pixart_preprocess_caption("  A Red CUBE, \xC3\x89t\xC3\xA9!\t\n"), "a red cube, \xC3\xA9t\xC3\xA9!");
  auto e = p.encode_prompts({"  A Red CUBE  ", ""});
  ASSERT_EQ(e.embeds.sizes(), (std::vector<std::int64_t>{2, 120, 32}));
  ASSERT_EQ(e.mask.sizes(), (std::vector<std::int64_t>{2, 120}));
  // the T5 encoder on the tokens of the lower-cased, stripped caption, with its mask
  auto tok = T5Tokenizer::from_folder(tiny("tiny-pixart") + "/tokenizer").encode({"a red cube", ""}, 120);
  EXPECT_TRUE(torch::equal(e.mask, tok.attention_mask));
  EXPECT_EQ(e.mask[1].sum().item<std::int64_t>(), 1);  // "": just </s>, as diffusers' negative prompt
  auto t5 = load_t5_encoder(tiny("tiny-pixart") + "/text_encoder");
  torch::NoGradGuard ng;
  EXPECT_LE(max_abs_diff(e.embeds, t5(tok.input_ids, tok.attention_mask)), 1e-6);
}

TEST(PixArtPipeline, GeneratesFromPromptsWithItsDefaults) {
  auto& p = pipeline("tiny-pixart");
  EXPECT_EQ(p.default_size(), 16);  // sample_size 8 x the tiny VAE's factor 2
  EXPECT_EQ(p.scheduler_class(), "DPMSolverMultistepScheduler");
  EXPECT_EQ(p.sampler_label(), "DPM++ 2M");
  const std::vector<ImageRequest> batch = {{"a red cube", "", 3}, {"two dogs", "blurry", 4}};
  GenerationSettings s{2, 24, 16, 4.5};  // 24 wide, 16 high
  auto img = p.generate(batch, s);
  ASSERT_EQ(img.sizes(), (std::vector<std::int64_t>{2, 16, 24, 3}));
  EXPECT_EQ(img.scalar_type(), torch::kUInt8);
  // the same as the embeddings path with the prompts' own embeddings
  auto same = p.generate_from_embeddings(p.encode_prompts({"a red cube", "two dogs"}), p.encode_prompts({"", "blurry"}),
                                         {3, 4}, s);
  EXPECT_TRUE(torch::equal(img, same));
  // the negative prompt takes part under guidance, not without it
  auto other_neg = p.generate({{"a red cube", "ugly", 3}}, s);
  EXPECT_GT(max_abs_diff(other_neg[0], img[0]), 0.0);
  s.guidance = 1.0;
  EXPECT_TRUE(torch::equal(p.generate({{"a red cube", "ugly", 3}}, s), p.generate({{"a red cube", "", 3}}, s)));
  EXPECT_THROW(p.generate(batch, GenerationSettings{2, 18, 16, 4.5}), Error);  // 18: no multiple of 4
}

TEST(PixArtPipeline, Bfloat16OnTheCpuStaysClose) {
  PipelineOptions o;
  o.folder = tiny("tiny-pixart");
  o.device = "cpu";
  o.dtype = "bf16";
  PixArtPipeline p(o);
  EXPECT_EQ(p.dtype(), torch::kBFloat16);
  const std::vector<ImageRequest> req = {{"a red cube", "", 3}, {"two dogs", "blurry", 4}};
  GenerationSettings s{3, 16, 16, 4.5};
  const auto d =
      (p.generate(req, s).to(torch::kFloat32) - pipeline("tiny-pixart").generate(req, s).to(torch::kFloat32)).abs();
  std::printf("[bf16] PixArt pipeline cpu bf16 vs fp32: max %.0f, mean %.2f levels\n", d.max().item<float>(),
              d.mean().item<float>());
  EXPECT_LE(d.mean().item<float>(), 4.0f);  // 8 mantissa bits through T5, transformer and VAE
}

TEST(PixArtPipeline, SigmaFoldersTakeThreeHundredTokens) {
  auto d = copy_of_tiny("sigma");
  edit_json(d / "model_index.json", [](json& j) { j["_class_name"] = "PixArtSigmaPipeline"; });
  EXPECT_EQ(inspect_pixart_folder(d.string()).max_sequence_length, 300);
  PipelineOptions o;
  o.folder = d.string();
  o.device = "cpu";
  PixArtPipeline p(o);
  EXPECT_EQ(p.encode_prompts({"a cube"}).embeds.size(1), 300);
}

TEST(PixArtPipeline, ResolutionBinningMatchesDiffusers) {
  for (const auto& b : meta()["bins"]) {
    auto got = pixart_binned_size(b["sample_size"].get<int>(), b["height"].get<int>(), b["width"].get<int>());
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->first, b["binned"][0].get<int>()) << b.dump();
    EXPECT_EQ(got->second, b["binned"][1].get<int>()) << b.dump();
  }
  EXPECT_FALSE(pixart_binned_size(8, 16, 16).has_value());  // no table: generate as asked
  PipelineOptions o;
  o.folder = tiny("tiny-pixart-ms");
  o.device = "cpu";
  PixArtPipeline p(o);  // sample_size 128: the 1024 bins
  EXPECT_EQ(p.generation_size(768, 512), std::make_pair(1216, 832));
  EXPECT_EQ(p.generation_size(1024, 1024), std::make_pair(1024, 1024));
  p.set_resolution_binning(false);
  EXPECT_EQ(p.generation_size(768, 512), std::make_pair(768, 512));
  EXPECT_EQ(pixart_binned_size(256, 2048, 2048)->first, 2048);
  // bilinear resize with antialias of values in [-1, 1]: libtorch 1.13 is within 1e-6 of the
  // reference, PyTorch 2.11's kernel within 1.7e-6 (measured on the GPU machine's CPU)
  EXPECT_LE(max_abs_diff(pixart_resize_and_crop(R("resize.in"), 13, 17), R("resize.out")), 1e-5);
}

TEST(PixArtPipeline, BadFoldersFailNamingTheFile) {
  auto expect_error = [](const fs::path& d, const std::string& needle1, const std::string& needle2) {
    const auto msg = error_message([&] { inspect_pixart_folder(d.string()); });
    EXPECT_TRUE(contains(msg, needle1) && contains(msg, needle2)) << msg;
  };
  auto d = copy_of_tiny("tokenizer");
  fs::remove(d / "tokenizer" / "spiece.model");
  expect_error(d, (d / "tokenizer" / "spiece.model").string(), "missing");

  d = copy_of_tiny("pickled");
  fs::rename(d / "transformer" / "diffusion_pytorch_model.safetensors",
             d / "transformer" / "diffusion_pytorch_model.bin");
  expect_error(d, (d / "transformer" / "diffusion_pytorch_model.safetensors").string(), "pickled");

  d = copy_of_tiny("key");
  edit_json(d / "transformer" / "config.json", [](json& j) { j["norm_type"] = "ada_norm_zero"; });
  expect_error(d, (d / "transformer" / "config.json").string(), "norm_type");

  d = copy_of_tiny("width");
  edit_json(d / "transformer" / "config.json", [](json& j) { j["caption_channels"] = 48; });
  expect_error(d, (d / "text_encoder" / "config.json").string(), "width 48");

  d = copy_of_tiny("class");
  edit_json(d / "model_index.json", [](json& j) { j["_class_name"] = "StableDiffusionPipeline"; });
  expect_error(d, (d / "model_index.json").string(), "PixArtAlphaPipeline");

  d = copy_of_tiny("sched");
  {  // (Python's JSON: "lambda_min_clipped": -Infinity, which the loader accepts)
    auto text = slurp(d / "scheduler" / "scheduler_config.json");
    const std::string off = "\"thresholding\": false";
    ASSERT_NE(text.find(off), std::string::npos);
    write(d / "scheduler" / "scheduler_config.json",
          text.replace(text.find(off), off.size(), "\"thresholding\": true"));
  }
  expect_error(d, (d / "scheduler" / "scheduler_config.json").string(), "thresholding");

  d = copy_of_tiny("t5");
  edit_json(d / "text_encoder" / "config.json", [](json& j) { j["feed_forward_proj"] = "gated-swish-glu"; });
  expect_error(d, (d / "text_encoder" / "config.json").string(), "feed_forward_proj");

  // options the PixArt pipelines do not implement are refused by name
  PipelineOptions o;
  o.folder = tiny("tiny-pixart");
  o.device = "cpu";
  o.scheduler = "euler";
  EXPECT_TRUE(contains(error_message([&] { PixArtPipeline p(o); }),
                       "\"scheduler\" euler: family pixart runs its folder's own"));
  o.scheduler = "dpmpp_2m";  // its own: fine
  EXPECT_NO_THROW(PixArtPipeline p(o));
  o.vae = tiny_model("tiny-taesd");
  EXPECT_TRUE(contains(error_message([&] { PixArtPipeline p(o); }), "--vae"));
  o.vae.clear();
  o.channels_last = true;
  EXPECT_TRUE(contains(error_message([&] { PixArtPipeline p(o); }), "--channels-last"));
}

// Where libtorch has CUDA and a device (the GPU machine); skipped elsewhere. Prints what it measured.
TEST(PixArtGpu, CudaPipelinesAgreeWithFp32OnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device in this build";
  {  // the transformer alone, fp32, against diffusers
    auto model = load_pixart_transformer(tiny("tiny-pixart-ms") + "/transformer");
    model->to(torch::kCUDA);
    torch::NoGradGuard ng;
    const std::string k = "tr.ms_masked.";
    PixArtMicroConditions micro{R(k + "resolution").cuda(), R(k + "aspect_ratio").cuda()};
    auto out = model(R(k + "sample").cuda(), R(k + "timesteps").cuda(), R(k + "context").cuda(),
                     R(k + "mask").to(torch::kInt64).cuda(), micro);
    const float e = max_abs_diff(out.cpu(), R(k + "out"));
    std::printf("[gpu] PixArt transformer cuda fp32 vs diffusers: max abs %.3g\n", e);
    EXPECT_LE(e, 1e-3);
  }
  const std::vector<ImageRequest> req = {{"a red cube on a table", "", 3}, {"two dogs at dusk", "blurry", 4}};
  GenerationSettings s{4, 32, 32, 4.5};
  const auto ref = pipeline("tiny-pixart-ms").generate(req, s);
  for (const std::string dtype : {"fp32", "fp16", "bf16"}) {
    PipelineOptions o;
    o.folder = tiny("tiny-pixart-ms");
    o.device = "cuda";
    o.dtype = dtype;
    PixArtPipeline p(o);
    p.set_resolution_binning(false);
    const auto img = p.generate(req, s);
    const auto d = (img.to(torch::kFloat32) - ref.to(torch::kFloat32)).abs();
    std::printf("[gpu] PixArt pipeline cuda %s vs cpu fp32: max %.0f, mean %.3f levels\n", dtype.c_str(),
                d.max().item<float>(), d.mean().item<float>());
    // Measured on an H200 (PyTorch 2.11): max 1 / 1 / 3 levels, mean 0.014 / 0.065 / 0.53 for fp32 /
    // fp16 / bf16; the bounds leave about 3x.
    EXPECT_LE(d.max().item<float>(), dtype == "fp32" ? 2.0f : dtype == "fp16" ? 3.0f : 8.0f) << dtype;
    EXPECT_LE(d.mean().item<float>(), dtype == "fp32" ? 0.05f : dtype == "fp16" ? 0.2f : 1.5f) << dtype;
    auto one = p.generate({req[1]}, s);  // batch invariance on the GPU too
    EXPECT_LE((one[0].to(torch::kFloat32) - img[1].to(torch::kFloat32)).abs().max().item<float>(), 2.0f) << dtype;
  }
}

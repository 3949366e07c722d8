#include <gtest/gtest.h>

#include <filesystem>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#include <stb_image.h>

#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

DiffusionPipeline pipeline(const std::string& model, const std::string& scheduler = "", const std::string& vae = "") {
  PipelineOptions o;
  o.folder = tiny_model(model);
  o.scheduler = scheduler;
  o.vae = vae;
  o.device = "cpu";
  return DiffusionPipeline(o);
}

float max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<float>();
}

}  // namespace

TEST(Pipeline, SameSeedSameImageWhateverTheBatch) {
  for (auto [model, sched] : std::vector<std::pair<std::string, std::string>>{
           {"tiny-sd1", ""}, {"tiny-sd1", "dpmpp_2m"}, {"tiny-sd1", "lcm"}, {"tiny-sd2", "euler_ancestral"},
           {"tiny-sdxl", ""}}) {
    auto p = pipeline(model, sched);
    GenerationSettings s{3, 16, 16, 4.0};
    auto both = p.generate_latents({{"a red cube", "", 11}, {"two dogs at dusk", "blurry", 12}}, s);
    auto second = p.generate_latents({{"two dogs at dusk", "blurry", 12}}, s);
    EXPECT_LT(max_diff(both[1], second[0]), 1e-4) << model << " " << sched;
    auto reseeded = p.generate_latents({{"two dogs at dusk", "blurry", 13}}, s);
    EXPECT_GT(max_diff(reseeded[0], second[0]), 1e-2) << model << " " << sched;
    EXPECT_TRUE(torch::isfinite(both).all().item<bool>());
  }
}

TEST(Pipeline, GuidanceAndNegativePromptsChangeTheResult) {
  auto p = pipeline("tiny-sd1");
  GenerationSettings s{2, 16, 16, 1.0};
  auto plain = p.generate_latents({{"a red cube", "", 5}}, s);
  auto plain_neg = p.generate_latents({{"a red cube", "a blue ball", 5}}, s);
  EXPECT_EQ(max_diff(plain, plain_neg), 0.0f);  // guidance <= 1: no unconditional pass
  s.guidance = 6.0;
  auto cfg = p.generate_latents({{"a red cube", "", 5}}, s);
  auto cfg_neg = p.generate_latents({{"a red cube", "a blue ball", 5}}, s);
  EXPECT_GT(max_diff(plain, cfg), 1e-3);
  EXPECT_GT(max_diff(cfg, cfg_neg), 1e-3);
}

TEST(Pipeline, SdxlAbsentNegativePromptIsZeroEmbedding) {
  auto p = pipeline("tiny-sdxl");
  auto [ctx, pooled] = p.encode_prompts({"", "a cat"}, {true, false});
  EXPECT_EQ(ctx[0].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(pooled[0].abs().max().item<float>(), 0.0f);
  EXPECT_GT(ctx[1].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(ctx.sizes(), (std::vector<std::int64_t>{2, 77, 64}));  // both encoders' states side by side
  EXPECT_EQ(pooled.sizes(), (std::vector<std::int64_t>{2, 16}));
}

TEST(Pipeline, ImagesAreUint8AndFollowTheDecoder) {
  auto p = pipeline("tiny-sd1");
  EXPECT_EQ(p.default_size(), 16);
  auto img = p.generate({{"a red cube", "", 1}}, {2, 24, 16, 5.0});
  EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{1, 16, 24, 3}));
  EXPECT_EQ(img.scalar_type(), torch::kUInt8);
  EXPECT_GT(img.to(torch::kFloat32).std().item<float>(), 0.0f);
  auto taesd = pipeline("tiny-sd1", "", tiny_model("tiny-taesd"));
  auto t = taesd.generate({{"a red cube", "", 1}}, {2, 32, 32, 5.0});
  EXPECT_EQ(t.sizes(), (std::vector<std::int64_t>{1, 32, 32, 3}));
  try {
    p.generate({{"x", "", 1}}, {2, 15, 16, 5.0});
    FAIL() << "accepted a width that is not a multiple of the decoder's factor";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "multiples of 2")) << e.what();
  }
}

TEST(Pipeline, IncompleteFoldersAreReportedBeforeAnyWork) {
  auto d = temp_dir() / "model";
  fs::copy(fixture("tiny-sd1"), d, fs::copy_options::recursive);  // configs only, no weights
  write(d / "unet" / "diffusion_pytorch_model.bin", "pickle");
  PipelineOptions o;
  o.folder = d.string();
  o.device = "cpu";
  try {
    DiffusionPipeline p(o);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_TRUE(contains(m, (d / "text_encoder" / "model.safetensors").string())) << m;
    EXPECT_TRUE(contains(m, (d / "vae" / "diffusion_pytorch_model.safetensors").string())) << m;
    EXPECT_TRUE(contains(m, "pickled weights are never loaded")) << m;
  }
  o.folder = (temp_dir() / "nothing").string();
  EXPECT_THROW(DiffusionPipeline{o}, Error);
}

TEST(Png, RoundTripsPixelsAndTextChunks) {
  std::vector<std::uint8_t> rgb(5 * 3 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7);
  auto path = (temp_dir() / "x.png").string();
  write_png(path, rgb.data(), 5, 3,
            {{"parameters", "a cat\nSteps: 4, Seed: 1"}, {"Software", "catimage"}, {"Comment", "café 東京"}});
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &h, &n, 3);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(w, 5);
  EXPECT_EQ(h, 3);
  EXPECT_EQ(std::vector<std::uint8_t>(px, px + rgb.size()), rgb);
  stbi_image_free(px);
  auto text = read_png_text(path);
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(text[2].second, "café 東京");  // UTF-8 goes into an iTXt chunk
  EXPECT_EQ(text[0].first, "parameters");
  EXPECT_EQ(text[0].second, "a cat\nSteps: 4, Seed: 1");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

namespace {

// A candidates config whose generators are the tiny models.
std::string tiny_config(const fs::path& dir) {
  json cfg = {{"candidates",
               {{{"name", "small"}, {"family", "sd15"}, {"weights", tiny_model("tiny-sd1")}, {"steps", 2},
                 {"scheduler", "euler"}, {"guidance", 3.0}, {"width", 16}, {"height", 16},
                 {"cost", {{"value", 1.0}, {"unit", "seconds"}}}},
                {{"name", "xl"}, {"family", "sdxl"}, {"weights", tiny_model("tiny-sdxl")}, {"steps", 2},
                 {"guidance", 0.0}, {"width", 16}, {"height", 16}, {"cost", {{"value", 3.0}, {"unit", "seconds"}}}},
                {{"name", "masked"}, {"family", "amused"}, {"cost", {{"value", 2.0}, {"unit", "seconds"}}}}}}};
  return write(dir / "config.json", cfg.dump());
}

std::vector<json> manifest(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(slurp(p));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

}  // namespace

TEST(GenerateCli, WritesPngsAndManifestAndResumes) {
  auto d = temp_dir();
  auto cfg = tiny_config(d);
  auto prompts = write(d / "p.txt", "a red cube\ntwo dogs at dusk\na white wall\n");
  auto out = d / "images";
  auto r = run_catimage("generate -c " + cfg + " --candidate small " + prompts + " --out " + out.string() +
                        " --seed 100 --batch 2");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = manifest(out / "manifest.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1]["seed"], 101);
  EXPECT_EQ(m[1]["sampler"], "Euler");
  EXPECT_EQ(m[1]["candidate"], "small");
  auto text = read_png_text((out / m[1]["file"].get<std::string>()).string());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text[0].second,
            "two dogs at dusk\nSteps: 2, Sampler: Euler, CFG scale: 3, Seed: 101, Size: 16x16, Model: small, "
            "Version: catimage 0.1.0");
  const auto png2 = slurp(out / "2.png");
  // resume: a removed image is made again (identically), the others are skipped
  fs::remove(out / "2.png");
  r = run_catimage("generate -c " + cfg + " --candidate small " + prompts + " --out " + out.string() + " --seed 100");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "wrote 1 images")) << r.err;
  EXPECT_TRUE(contains(r.err, "2 already done")) << r.err;
  EXPECT_EQ(slurp(out / "2.png"), png2);  // batch 1 now, batch 2 before: same bytes
  // shards split the prompts and keep their own manifests
  auto sh = d / "sharded";
  for (int k = 0; k < 2; ++k)
    ASSERT_EQ(run_catimage("generate -c " + cfg + " --candidate small " + prompts + " --out " + sh.string() +
                           " --seed 100 --shard " + std::to_string(k) + "/2").code, 0);
  EXPECT_EQ(manifest(sh / "manifest-0of2.jsonl").size(), 2u);
  EXPECT_EQ(manifest(sh / "manifest-1of2.jsonl").size(), 1u);
  EXPECT_EQ(slurp(sh / "2.png"), png2);
}

TEST(GenerateCli, ClearErrorsBeforeWork) {
  auto d = temp_dir();
  auto cfg = tiny_config(d);
  auto prompts = write(d / "p.txt", "a red cube\n");
  auto r = run_catimage("generate -c " + cfg + " --candidate masked " + prompts + " --out " + (d / "o").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "candidate \"masked\" has family \"amused\"")) << r.err;
  r = run_catimage("generate -c " + cfg + " --candidate nope " + prompts);
  EXPECT_TRUE(contains(r.err, "--candidate \"nope\" is not in")) << r.err;
  r = run_catimage("generate --model " + tiny_model("tiny-sd1") + " --scheduler heun " + prompts + " --out " +
                   (d / "o2").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "heun")) << r.err;
  r = run_catimage("generate --model " + tiny_model("tiny-sd1") + " " + prompts + " --shard 2/2");
  EXPECT_TRUE(contains(r.err, "--shard 2/2")) << r.err;
  r = run_catimage("route " + prompts + " -c " + (fs::path(CATIMAGE_SOURCE_DIR) / "configs/default.json").string() +
                   " --candidate SD-Turbo --generate --out " + (d / "o3").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "candidate \"SD-Turbo\" has no \"weights\"")) << r.err;
}

TEST(GenerateCli, RouteGenerateRunsEachPromptsChoice) {
  auto d = temp_dir();
  auto cfg = tiny_config(d);
  auto prompts = write(d / "p.txt", "a red cube\ntwo dogs at dusk\n");
  // predictions: the first prompt gains from the big model, the second does not
  auto preds = write(d / "pred.jsonl",
                     "{\"id\":\"1\",\"prompt\":\"a red cube\",\"quality\":{\"small\":1.0,\"xl\":5.0,\"masked\":0.0}}\n"
                     "{\"id\":\"2\",\"prompt\":\"two dogs at dusk\",\"quality\":{\"small\":1.0,\"xl\":1.1,\"masked\":0.0}}\n");
  auto out = d / "images";
  auto r = run_catimage("route " + prompts + " -c " + cfg + " --predictions " + preds + " --lambda 0.5 --generate --out " +
                        out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = manifest(out / "manifest.jsonl");
  ASSERT_EQ(m.size(), 2u);
  std::map<std::string, std::string> by_id;
  for (const auto& j : m) by_id[j["id"]] = j["candidate"];
  EXPECT_EQ(by_id["1"], "xl");
  EXPECT_EQ(by_id["2"], "small");
}

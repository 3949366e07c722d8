// CLIP image scoring (catimage_scoring): the CLIPModel against OpenAI CLIP's reference code
// on a tiny random-weight model, the image processor against PIL, the CLIPScore/PickScore
// formulas, a known-answer colour-matching model, and the errors for bad folders.
// References: scripts/make_clip_fixtures.sh. fp32 on the CPU.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "catimage/io/config_view.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/scoring/clip_model.hpp"
#include "catimage/scoring/clip_scorer.hpp"
#include "catimage/scoring/image_processor.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/scoring/metrics.hpp"
#include "catimage/scoring/prompt_ids.hpp"
#include "catimage/util/error.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("clip_model").get(name); }
const json& meta() { return reference_meta("clip_model"); }

torch::Tensor solid(std::int64_t h, std::int64_t w, std::array<int, 3> rgb) {
  auto t = torch::empty({h, w, 3}, torch::kUInt8);
  for (int c = 0; c < 3; ++c) t.select(2, c).fill_(rgb[c]);
  return t;
}

}  // namespace

// --- parity with OpenAI CLIP's reference code ---------------------------------------------

TEST(Scoring, TinyClipIsTheOneTheReferencesUsed) {
  const auto dir = fs::path(tiny_clip());
  auto got = weight_sums(dir.parent_path().string(), "tiny-clip/model.safetensors");
  ASSERT_EQ(got, slurp(fixture("parity/clip_weights.sha256")))
      << "the tiny CLIPModel's random weights differ from the ones tests/fixtures/parity/"
         "clip_model.safetensors was made with; rerun scripts/make_clip_fixtures.sh";
}

TEST(Scoring, RandomWeightsCommandWritesClipModelFolders) {
  auto d = temp_dir() / "tiny-clip";
  fs::copy(fixture("tiny-clip"), d, fs::copy_options::recursive);
  auto r = run_catimage("-q random-weights " + d.string() + " --seed 7");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(d / "model.safetensors"), slurp(fs::path(tiny_clip()) / "model.safetensors"));
  fs::remove_all(d.parent_path());
}

TEST(Scoring, ClipModelKeysAreTransformersKeys) {
  auto m = load_clip_model(tiny_clip());
  std::set<std::string> names;
  for (const auto& p : m->named_parameters()) names.insert(p.key());
  for (const char* k : {"logit_scale", "text_projection.weight", "visual_projection.weight",
                        "text_model.embeddings.token_embedding.weight", "text_model.final_layer_norm.bias",
                        "vision_model.embeddings.class_embedding", "vision_model.embeddings.patch_embedding.weight",
                        "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                        "vision_model.encoder.layers.1.self_attn.q_proj.weight", "vision_model.post_layernorm.bias"})
    EXPECT_TRUE(names.count(k)) << k;
  EXPECT_EQ(m->vision->cfg.num_patches(), 16);
  EXPECT_FALSE(m->vision->layers->at<ClipEncoderLayerImpl>(0).causal);
  EXPECT_TRUE(m->text->layers->at<ClipEncoderLayerImpl>(0).causal);
}

TEST(Scoring, ClipModelMatchesReference) {
  torch::NoGradGuard ng;
  auto m = load_clip_model(tiny_clip());
  auto px = R("clip.pixel_values");
  auto ids = R("clip.ids").to(torch::kInt64);
  const float e_img = max_abs_diff(m->image_embeds(px), R("clip.image_embeds"));
  const float e_txt = max_abs_diff(m->text_embeds(ids), R("clip.text_embeds"));
  const float e_log = max_abs_diff(m->forward(px, ids).logits_per_image, R("clip.logits_per_image"));
  std::printf("[clip parity] max abs error: image_embeds %.3g, text_embeds %.3g, logits_per_image %.3g\n", e_img, e_txt,
              e_log);
  EXPECT_LE(e_img, 1e-4);
  EXPECT_LE(e_txt, 1e-4);
  EXPECT_LE(e_log, 1e-4);
}

TEST(Scoring, TokenIdsMatchReferenceAndTruncationIsCounted) {
  auto tok = ClipTokenizer::from_folder(tiny_clip());
  std::vector<std::string> prompts;
  for (const auto& p : meta()["prompts"]) prompts.push_back(p.get<std::string>());
  auto ids = tokenize_prompts(tok, prompts);
  EXPECT_TRUE(torch::equal(ids.ids, R("clip.ids").to(torch::kInt64)));
  ASSERT_EQ(ids.truncated.size(), prompts.size());
  EXPECT_EQ(ids.truncated_count(), 1u);  // the last reference prompt has more than 75 tokens
  EXPECT_TRUE(ids.truncated.back());
  EXPECT_FALSE(ids.truncated.front());
}

// --- image preprocessing -----------------------------------------------------------------

// PIL resizes in two 8-bit passes with fixed-point weights; this runtime uses libtorch's
// antialiased kernels (the same Keys a = -0.5 cubic, the same support scaling), also one
// axis at a time and rounded to 8 bits after each pass. What can differ is the rounding of
// a value that lands within PIL's fixed-point error of x.5: one 8-bit level on a few pixels.
// So: at most one level anywhere (1 / 255 / the smallest std in normalised units) and a
// mean far below that (a systematic difference, such as the wrong kernel or a misplaced
// crop, shows as many levels on most pixels).
TEST(Scoring, ImageProcessorMatchesPil) {
  auto proc = ClipImageProcessor::from_folder(tiny_clip());
  const double level = 1.0 / 255.0 / 0.26130258;  // one 8-bit level, in the worst channel's units
  for (const auto& n : meta()["images"]) {
    const auto name = n.get<std::string>();
    auto rgb = load_rgb(fixture("scoring/" + name + ".png"));
    auto px = proc(rgb);
    auto want = R("pre." + name);
    ASSERT_EQ(px.sizes(), want.sizes()) << name;
    auto d = (px - want).abs();
    const double mx = d.max().item<double>(), mean = d.mean().item<double>();
    std::printf("[clip preprocessing] %s (%ldx%ld): max abs diff %.3g (%.2f levels), mean %.3g (%.4f levels)\n",
                name.c_str(), static_cast<long>(rgb.size(1)), static_cast<long>(rgb.size(0)), mx, mx / level, mean,
                mean / level);
    EXPECT_LE(mx, level * 1.001) << name;
    EXPECT_LE(mean, 0.02 * level) << name;
  }
}

TEST(Scoring, ImageProcessorSizesAndCrop) {
  using Size2 = std::pair<std::int64_t, std::int64_t>;
  // transformers: the long side is int(N * long / short)
  EXPECT_EQ(ClipImageProcessor::resized_size(40, 48, 32), Size2(32, 38));
  EXPECT_EQ(ClipImageProcessor::resized_size(56, 40, 32), Size2(44, 32));
  EXPECT_EQ(ClipImageProcessor::resized_size(24, 20, 32), Size2(38, 32));
  EXPECT_EQ(ClipImageProcessor::resized_size(480, 640, 224), Size2(224, 298));
  ClipImageProcessorConfig c;
  c.crop_height = 2, c.crop_width = 3;
  ClipImageProcessor p(c);
  auto img = torch::arange(5 * 6, torch::kFloat32).view({1, 5, 6});
  // top = (5 - 2) // 2 = 1, left = (6 - 3) // 2 = 1
  EXPECT_TRUE(torch::equal(p.center_crop(img), img.slice(1, 1, 3).slice(2, 1, 4)));
  // a crop larger than the image pads with zeros, centred
  c.crop_height = 4, c.crop_width = 4;
  auto small = torch::ones({1, 2, 3});
  auto padded = ClipImageProcessor(c).center_crop(small);
  ASSERT_EQ(padded.sizes().vec(), (std::vector<std::int64_t>{1, 4, 4}));
  EXPECT_EQ(padded.sum().item<float>(), 6.0f);
  EXPECT_EQ(padded[0][1][1].item<float>(), 1.0f);
  // a solid image stays solid; RGBA and grey inputs become RGB
  auto out = ClipImageProcessor()(solid(300, 400, {255, 0, 0}));
  ASSERT_EQ(out.sizes().vec(), (std::vector<std::int64_t>{1, 3, 224, 224}));
  EXPECT_NEAR(out[0][0].min().item<float>(), (1 - 0.48145466) / 0.26862954, 1e-5);
  EXPECT_NEAR(out[0][1].max().item<float>(), -0.4578275 / 0.26130258, 1e-5);
  auto rgba = torch::cat({solid(40, 40, {10, 20, 30}), torch::full({40, 40, 1}, 7, torch::kUInt8)}, 2);
  EXPECT_TRUE(torch::equal(ClipImageProcessor()(rgba), ClipImageProcessor()(solid(40, 40, {10, 20, 30}))));
  auto grey = torch::full({40, 40, 1}, 99, torch::kUInt8);
  EXPECT_TRUE(torch::equal(ClipImageProcessor()(grey), ClipImageProcessor()(solid(40, 40, {99, 99, 99}))));
}

TEST(Scoring, ImageProcessorConfigForms) {
  auto pc = [](const std::string& text) {
    return ClipImageProcessorConfig::from(ConfigView(json::parse(text), "preprocessor_config.json"));
  };
  auto a = pc(R"({"size": 336, "crop_size": 336, "resample": 2, "image_mean": 0.5, "image_std": [0.5, 0.5, 0.5]})");
  EXPECT_EQ(a.shortest_edge, 336);
  EXPECT_EQ(a.crop_height, 336);
  EXPECT_EQ(a.crop_width, 336);
  EXPECT_EQ(a.resample, 2);
  EXPECT_EQ(a.image_mean[2], 0.5);
  auto b = pc(R"({"size": {"shortest_edge": 224}, "crop_size": {"height": 200, "width": 100}})");
  EXPECT_EQ(b.shortest_edge, 224);
  EXPECT_EQ(b.crop_height, 200);
  EXPECT_EQ(b.crop_width, 100);
  EXPECT_TRUE(contains(error_message([&] { pc(R"({"resample": 1})"); }), "\"resample\""));
  EXPECT_TRUE(contains(error_message([&] { pc(R"({"size": "big"})"); }), "\"size\""));
  EXPECT_TRUE(contains(error_message([&] { pc(R"({"image_std": [1, 2]})"); }), "\"image_std\""));
}

// --- scores ------------------------------------------------------------------------------

TEST(Scoring, ClipScoreAndPickScoreFormulas) {
  auto T = [](std::vector<float> v, std::int64_t rows) {
    return torch::tensor(v).view({rows, static_cast<std::int64_t>(v.size()) / rows});
  };
  // rows: parallel (cos 1), orthogonal (0), opposite (-1), 45 degrees (1/sqrt 2); lengths do not matter
  auto img = T({1, 0, 0, 0, 1, 0, 3, 0, 0, 1, 1, 0}, 4);
  auto txt = T({2, 0, 0, 0, 0, 5, -1, 0, 0, 7, 0, 0}, 4);
  auto cs = clipscore(img, txt);
  EXPECT_NEAR(cs[0].item<float>(), 100.0f, 1e-4);
  EXPECT_NEAR(cs[1].item<float>(), 0.0f, 1e-4);
  EXPECT_NEAR(cs[2].item<float>(), 0.0f, 1e-6);  // negative cosine -> 0
  EXPECT_NEAR(cs[3].item<float>(), 100.0f / std::sqrt(2.0f), 1e-3);
  auto ps = pickscore(img, txt, torch::tensor(std::log(100.0f)));
  EXPECT_NEAR(ps[0].item<float>(), 100.0f, 1e-3);
  EXPECT_NEAR(ps[2].item<float>(), -100.0f, 1e-3);  // PickScore keeps the sign
  EXPECT_NEAR(ps[3].item<float>(), 100.0f / std::sqrt(2.0f), 1e-3);
  EXPECT_TRUE(torch::allclose(score(ScoreMetric::clipscore, img, txt, torch::tensor(0.0f)), cs));
  EXPECT_TRUE(contains(error_message([&] { clipscore(img, txt.slice(0, 0, 2)); }), "same (B, D) shape"));
}

TEST(Scoring, MetricRegistry) {
  EXPECT_EQ(score_metric_names(), (std::vector<std::string>{"clipscore", "pickscore", "nima"}));
  for (const auto& n : score_metric_names()) EXPECT_EQ(score_metric_name(parse_score_metric(n)), n);
  auto e = error_message([] { parse_score_metric("fid"); });
  EXPECT_TRUE(contains(e, "\"fid\"")) << e;
  EXPECT_TRUE(contains(e, "clipscore, pickscore, nima")) << e;
  // NIMA scores the image alone: it is no CLIP similarity, and no CLIP folder scores it
  EXPECT_FALSE(score_metric_info(ScoreMetric::nima).uses_prompt);
  auto v = torch::ones({1, 4});
  e = error_message([&] { score(ScoreMetric::nima, v, v, torch::tensor(0.0f)); });
  EXPECT_TRUE(contains(e, "nima is not a CLIP similarity")) << e;
  e = error_message([] { ClipScorer::load(tiny_clip(), ScoreMetric::nima); });
  EXPECT_TRUE(contains(e, "nima is not scored with a CLIP model")) << e;
}

TEST(Scoring, ScorerIsCosineOfTheModelsEmbeddings) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> images;
  std::vector<std::string> prompts;
  for (const auto& n : meta()["images"])
    images.push_back(load_rgb(fixture("scoring/" + n.get<std::string>() + ".png")));
  for (std::size_t i = 0; i < images.size(); ++i) prompts.push_back(meta()["prompts"][i].get<std::string>());
  prompts.back() = meta()["prompts"].back().get<std::string>();  // one truncated prompt
  for (auto metric : {ScoreMetric::clipscore, ScoreMetric::pickscore}) {
    auto scorer = ClipScorer::load(tiny_clip(), metric);
    auto got = scorer.score(images, prompts);
    ASSERT_EQ(got.scores.size(), images.size());
    EXPECT_EQ(got.truncated_count, 1u);
    auto& m = scorer.model();
    for (std::size_t i = 0; i < images.size(); ++i) {
      auto iv = m->image_embeds(scorer.processor()(images[i]))[0];
      auto tv = m->text_embeds(tokenize_prompts(scorer.tokenizer(), {prompts[i]}).ids)[0];
      const double cos = (iv * tv).sum().item<double>() / (iv.norm().item<double>() * tv.norm().item<double>());
      const double want =
          metric == ScoreMetric::clipscore ? 100 * std::max(cos, 0.0) : std::exp(m->logit_scale.item<double>()) * cos;
      EXPECT_NEAR(got.scores[i], want, 1e-4 * (1 + std::abs(want))) << i;
    }
  }
}

// A CLIPModel whose weights make the answer known: the vision tower's class token ends up
// as the mean colour of the image (patch embedding = per-channel patch mean, uniform
// attention, everything else identity or zero), the text tower's end token as the mean of
// its words' embeddings (the colour words get one-hot embeddings); both projections keep
// dimensions 0..2 (R, G, B). So the red image must match "a red photo" best, and so on.
TEST(Scoring, KnownAnswerColourMatching) {
  torch::NoGradGuard ng;
  auto cfg = ClipModelConfig::from(ConfigView::load(fixture("tiny-clip/config.json")));
  ClipModel m(cfg);
  auto tok = ClipTokenizer::from_folder(fixture("tiny-clip"));
  for (auto& p : m->named_parameters()) p.value().zero_();
  for (auto& p : m->named_parameters()) {
    const auto& k = p.key();
    if (k.size() > 7 && k.substr(k.size() - 7) == ".weight" &&
        (contains(k, "layer_norm") || contains(k, "layrnorm") || contains(k, "post_layernorm")))
      p.value().fill_(1);
  }
  const auto eye = torch::eye(32);
  for (auto* layers : {&m->text->layers, &m->vision->layers}) {
    auto& l0 = (*layers)->at<ClipEncoderLayerImpl>(0);
    l0.v_proj->weight.copy_(eye);
    l0.out_proj->weight.copy_(eye);
  }
  auto pe = m->vision->patch_embedding->weight;  // (32, 3, 8, 8)
  for (int c = 0; c < 3; ++c) pe[c][c].fill_(1.0 / 64);
  const std::vector<std::string> colours = {"red", "green", "blue"};
  std::set<int> seen;
  for (int c = 0; c < 3; ++c) {
    for (int id : tok.encode(colours[c])) {
      ASSERT_TRUE(seen.insert(id).second) << "colour words share a BPE piece";
      m->text->token_embedding->weight[id][c] = 5;
    }
  }
  for (int c = 0; c < 3; ++c) {
    m->text_projection->weight[c][c] = 1;
    m->visual_projection->weight[c][c] = 1;
  }
  m->logit_scale.fill_(std::log(100.0));
  auto dir = temp_dir();
  for (const char* f : {"config.json", "preprocessor_config.json", "vocab.json", "merges.txt",
                        "special_tokens_map.json", "tokenizer_config.json"})
    fs::copy_file(fixture("tiny-clip/") + f, dir / f);
  save_weights(*m, (dir / "model.safetensors").string());

  auto scorer = ClipScorer::load(dir.string(), ScoreMetric::clipscore);
  std::vector<torch::Tensor> images = {solid(40, 48, {230, 20, 30}), solid(50, 40, {15, 220, 40}),
                                       solid(32, 32, {20, 30, 240})};
  std::vector<std::string> prompts;
  for (const auto& c : colours) prompts.push_back("a " + c + " photo");
  // every image against every prompt: the matching colour scores highest, in both directions
  auto sim =
      scorer.model()->forward(scorer.processor().batch(images), tokenize_prompts(scorer.tokenizer(), prompts).ids);
  auto L = sim.logits_per_image;
  EXPECT_TRUE(torch::equal(L.argmax(1), torch::arange(3))) << L;
  EXPECT_TRUE(torch::equal(L.argmax(0), torch::arange(3))) << L;
  for (int i = 0; i < 3; ++i) {
    std::vector<torch::Tensor> im(3, images[i]);
    auto s = scorer.score(im, prompts).scores;
    for (int j = 0; j < 3; ++j)
      if (j != i) {
        EXPECT_GT(s[i], s[j] + 10) << "image " << colours[i] << " vs prompt " << colours[j];
      }
  }
  fs::remove_all(dir);
}

// --- errors ------------------------------------------------------------------------------

TEST(Scoring, BadFoldersNameTheFileAndKey) {
  auto dir = temp_dir();
  auto e = error_message([&] { load_clip_model(dir.string()); });
  EXPECT_TRUE(contains(e, (dir / "config.json").string())) << e;
  fs::copy_file(fixture("tiny-clip/config.json"), dir / "config.json");
  e = error_message([&] { load_clip_model(dir.string()); });
  EXPECT_TRUE(contains(e, (dir / "model.safetensors").string())) << e;
  e = error_message([&] { ClipImageProcessor::from_folder(dir.string()); });
  EXPECT_TRUE(contains(e, (dir / "preprocessor_config.json").string())) << e;
  e = error_message([&] { ClipScorer::load(dir.string(), ScoreMetric::clipscore); });
  EXPECT_TRUE(contains(e, (dir / "model.safetensors").string())) << e;

  auto with = [&](const std::string& cfg) {
    write(dir / "config.json", cfg);
    return error_message([&] { load_clip_model(dir.string()); });
  };
  e = with(R"({"architectures": ["CLIPTextModel"]})");
  EXPECT_TRUE(contains(e, "\"architectures\"") && contains(e, "CLIPTextModel")) << e;
  e = with(R"({"architectures": ["CLIPModel"], "text_config": 3})");
  EXPECT_TRUE(contains(e, "\"text_config\"")) << e;
  e = with(R"({"architectures": ["CLIPModel"], "vision_config": {"hidden_act": "relu"}})");
  EXPECT_TRUE(contains(e, "[vision_config]") && contains(e, "\"hidden_act\"")) << e;

  // weights that do not fit: the file and the keys are named
  fs::copy_file(fixture("tiny-clip/config.json"), dir / "config.json", fs::copy_options::overwrite_existing);
  write_random_clip_model_weights(dir.string(), 1);
  auto cfg = read_json_file((dir / "config.json").string());
  cfg["projection_dim"] = 8;
  write(dir / "config.json", cfg.dump());
  e = error_message([&] { load_clip_model(dir.string()); });
  EXPECT_TRUE(contains(e, "model.safetensors") && contains(e, "visual_projection.weight")) << e;
  fs::remove_all(dir);
}

TEST(Scoring, VisionTowerChecksTheImageSize) {
  auto m = load_clip_model(tiny_clip());
  auto e = error_message([&] { m->image_embeds(torch::zeros({1, 3, 224, 224})); });
  EXPECT_TRUE(contains(e, "(B, 3, 32, 32)")) << e;
}

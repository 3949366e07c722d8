// NIMA scoring (catimage_scoring): idealo's MobileNet NIMA against the Keras definition on a tiny
// random-weight model (both paddings), Keras' image loading (keras_preprocessing's load_img:
// PIL's nearest resize) and preprocess_input, the score formula, the errors for bad folders.
// References: scripts/make_nima_fixtures.sh (keras-applications' own MobileNet code driven by numpy
// layers written from TensorFlow's definitions: Keras/TensorFlow themselves are not available
// here). fp32 on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "catimage/io/json_file.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/scoring/clip_scorer.hpp"
#include "catimage/scoring/keras_image.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/scoring/nima_model.hpp"
#include "catimage/scoring/nima_scorer.hpp"
#include "catimage/scoring/scorer.hpp"
#include "catimage/util/hash.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

torch::Tensor R(const std::string& name) { return reference_tensors("nima_reference").get(name); }
torch::Tensor R_int(const std::string& name) { return reference_tensors("nima_reference").get(name, torch::kInt64); }
const json& meta() { return reference_meta("nima_reference"); }

std::vector<std::string> image_names() {
  std::vector<std::string> out;
  for (const auto& im : meta()["images"]) out.push_back(im["name"].get<std::string>());
  return out;
}

std::vector<torch::Tensor> reference_images() {
  std::vector<torch::Tensor> out;
  for (const auto& n : image_names()) out.push_back(load_rgb(fixture("scoring/" + n + ".png")));
  return out;
}

// A copy of the tiny NIMA folder with `key` of its config.json set to `value`.
fs::path tiny_nima_with(const std::string& key, const json& value) {
  auto d = temp_dir() / "nima";
  fs::copy(tiny_nima(), d, fs::copy_options::recursive);
  auto cfg = read_json_file((d / "config.json").string());
  cfg[key] = value;
  write(d / "config.json", cfg.dump());
  return d;
}

}  // namespace

// --- parity with the Keras definition -----------------------------------------------------

TEST(Nima, TinyNimaIsTheOneTheReferencesUsed) {
  const auto dir = fs::path(tiny_nima());
  ASSERT_EQ(weight_sums(dir.parent_path().string(), "tiny-nima/model.safetensors"),
            slurp(fixture("parity/nima_weights.sha256")))
      << "the tiny NIMA's random weights differ from the ones tests/fixtures/parity/nima_reference.safetensors was "
         "made with; rerun scripts/make_nima_fixtures.sh";
}

TEST(Nima, KeysAreKerasLayerNamesWithTorchLayouts) {
  auto m = load_nima_model(tiny_nima());
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (const auto& p : m->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : m->named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  // conv1 + BN, 13 x (depthwise + BN + pointwise + BN), Dense: what the converter writes
  EXPECT_EQ(shapes.size(), 5u + 13u * 10u + 2u);
  using S = std::vector<std::int64_t>;
  EXPECT_EQ(shapes["conv1.weight"], (S{8, 3, 3, 3}));  // int(32 * 0.25)
  EXPECT_EQ(shapes["conv1_bn.running_var"], (S{8}));
  EXPECT_EQ(shapes["conv_dw_1.weight"], (S{8, 1, 3, 3}));
  EXPECT_EQ(shapes["conv_pw_1.weight"], (S{16, 8, 1, 1}));
  EXPECT_EQ(shapes["conv_dw_13_bn.running_mean"], (S{256}));
  EXPECT_EQ(shapes["conv_pw_13.weight"], (S{256, 256, 1, 1}));
  EXPECT_EQ(shapes["dense.weight"], (S{10, 256}));
  EXPECT_EQ(shapes["dense.bias"], (S{10}));
  for (const auto& [k, s] : shapes) EXPECT_EQ(k.find("num_batches_tracked"), std::string::npos) << k;
  EXPECT_EQ(m->cfg.mobilenet.epsilon, 1e-3);
}

// The tiny model (alpha 0.25, 224x224) on the six reference images, prepared by catimage, against
// the Keras definition in float64: the pooled features, the Dense layer, the distribution, the
// score, and conv1's first output pixels (where the two paddings differ first); with the padding
// of keras-applications >= 1.0.3 / tf.keras ("same") and of Keras 2.1.5 - 2.2.0 ("symmetric").
TEST(Nima, MatchesTheKerasDefinitionWithEitherPadding) {
  torch::NoGradGuard ng;
  const auto images = reference_images();
  std::map<std::string, torch::Tensor> scores;
  for (const std::string padding : {"same", "symmetric"}) {
    const auto dir = padding == "same" ? fs::path(tiny_nima()) : tiny_nima_with("padding", padding);
    auto scorer = NimaScorer::load(dir.string());
    ASSERT_EQ(scorer.model()->cfg.mobilenet.padding, padding);
    const auto out = scorer.run(images);
    auto px = scorer.pixel_values(images);
    auto& m = *scorer.model();
    auto conv1 = m.base
                     ->conv1_bn(m.base->conv1(padding == "same" ? torch::constant_pad_nd(px, {0, 1, 0, 1})
                                                                : torch::constant_pad_nd(px, {1, 1, 1, 1})))
                     .clamp(0, 6)
                     .slice(2, 0, 4)
                     .slice(3, 0, 4);
    const float e_c = max_abs_diff(conv1, R(padding + ".conv1_relu"));
    const float e_f = max_abs_diff(out.features, R(padding + ".features"));
    const float e_l = max_abs_diff(out.logits, R(padding + ".logits"));
    const float e_p = max_abs_diff(out.probs, R(padding + ".probs"));
    const float e_s = max_abs_diff(out.score, R(padding + ".score"));
    std::printf(
        "[nima parity, padding %s] max abs error: conv1 %.3g, features %.3g (of %.3g), logits %.3g, probs %.3g, "
        "score %.3g\n",
        padding.c_str(), e_c, e_f, R(padding + ".features").abs().max().item<float>(), e_l, e_p, e_s);
    EXPECT_LE(e_c, 1e-5);
    EXPECT_LE(e_f, 2e-5);  // features up to ~4
    EXPECT_LE(e_l, 1e-5);
    EXPECT_LE(e_p, 1e-6);
    EXPECT_LE(e_s, 1e-5);
    scores[padding] = out.score;
    if (padding != "same") fs::remove_all(dir.parent_path());
  }
  // the padding matters: the two networks score the same images differently (as the references do)
  EXPECT_GT((scores["same"] - scores["symmetric"]).abs().max().item<double>(), 1e-3);
  // and the images differ from each other by far more than the parity error
  EXPECT_GT((scores["same"].max() - scores["same"].min()).item<double>(), 1e-2);
}

TEST(Nima, NearestResizeIsPils) {
  for (const auto& n : meta()["nearest_sizes"]) {
    const auto in = n.get<std::int64_t>();
    const auto got = pil_nearest_indices(in, 224);
    const auto want = R_int("nearest." + std::to_string(in));
    ASSERT_EQ(static_cast<std::int64_t>(got.size()), want.numel()) << in;
    EXPECT_TRUE(torch::equal(torch::tensor(got), want)) << "from " << in;
  }
  // no index repeats on a shrink by a whole factor, every source is used once on an identity
  EXPECT_EQ(pil_nearest_indices(448, 224)[1], 3);
  EXPECT_EQ(pil_nearest_indices(224, 224)[223], 223);
}

// Each reference image as catimage prepares it is exactly what load_img(target_size=(224, 224))
// and preprocess_input give: stb decodes the same RGB bytes as PIL (alpha dropped, grey
// replicated), the nearest resize picks the same pixels, the float values are Keras'.
TEST(Nima, ImagesArePreparedAsKerasLoadImgAndPreprocessInput) {
  const auto table = R("preprocess.table");
  auto levels = torch::arange(256, torch::kInt64).to(torch::kUInt8).view({1, 256, 1}).expand({1, 256, 3});
  EXPECT_TRUE(torch::equal(keras_tf_preprocess(levels.contiguous())[0][0][0], table));
  const auto names = image_names();
  const auto images = reference_images();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& im = meta()["images"][i];
    const auto& rgb = images[i];
    ASSERT_EQ(rgb.size(0), im["height"].get<std::int64_t>()) << names[i];
    ASSERT_EQ(rgb.size(1), im["width"].get<std::int64_t>()) << names[i];
    const auto bytes = std::string(static_cast<const char*>(rgb.data_ptr()), rgb.numel());
    EXPECT_EQ(fnv1a64_hex(bytes), im["rgb_fnv1a64"].get<std::string>()) << names[i] << ": not PIL's RGB bytes";
    auto rows = R_int("nearest." + std::to_string(rgb.size(0)));
    auto cols = R_int("nearest." + std::to_string(rgb.size(1)));
    auto picked = rgb.index_select(0, rows).index_select(1, cols).to(torch::kInt64);
    auto want = table.index_select(0, picked.flatten()).view({224, 224, 3}).permute({2, 0, 1}).unsqueeze(0);
    EXPECT_TRUE(torch::equal(keras_load_img_pixels(rgb, 224), want)) << names[i];
  }
  // RGBA and grey tensors (not only files) become RGB as PIL's convert("RGB") makes them
  auto rgba = torch::cat({images[0], torch::full({images[0].size(0), images[0].size(1), 1}, 9, torch::kUInt8)}, 2);
  EXPECT_TRUE(torch::equal(keras_load_img_pixels(rgba, 224), keras_load_img_pixels(images[0], 224)));
  auto grey = torch::full({5, 7, 1}, 200, torch::kUInt8);
  EXPECT_TRUE(torch::equal(keras_load_img_pixels(grey, 224),
                           keras_load_img_pixels(torch::full({5, 7, 3}, 200, torch::kUInt8), 224)));
}

// --- the score ---------------------------------------------------------------------------

TEST(Nima, ScoreIsTheMeanRating) {
  auto p = torch::zeros({4, 10});
  p[0][0] = 1;      // all mass on rating 1
  p[1][9] = 1;      // on 10
  p[2].fill_(0.1);  // uniform: 5.5
  p[3][2] = 2.0;    // not normalised: idealo normalises first, (3 + 7) / 2
  p[3][6] = 2.0;
  auto s = nima_mean_score(p);
  EXPECT_EQ(s.scalar_type(), torch::kFloat64);
  EXPECT_DOUBLE_EQ(s[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s[1].item<double>(), 10.0);
  EXPECT_NEAR(s[2].item<double>(), 5.5, 1e-12);
  EXPECT_DOUBLE_EQ(s[3].item<double>(), 5.0);
}

// A NIMA whose Dense layer ignores the image and puts its mass on one rating scores that rating
// for every image, whatever its size, through the scorer's whole path.
TEST(Nima, KnownAnswerThroughTheScorer) {
  torch::NoGradGuard ng;
  auto m = load_nima_model(tiny_nima());
  m->dense->weight.zero_();
  m->dense->bias.zero_();
  m->dense->bias[6] = 60;  // rating 7
  auto d = temp_dir();
  fs::copy_file(fs::path(tiny_nima()) / "config.json", d / "config.json");
  save_weights(*m, (d / "model.safetensors").string());
  auto scorer = load_scorer(d.string(), ScoreMetric::nima);
  EXPECT_EQ(scorer->metric(), ScoreMetric::nima);
  auto s = scorer->score(reference_images(), std::vector<std::string>(6, "ignored"));
  ASSERT_EQ(s.scores.size(), 6u);
  for (double v : s.scores) EXPECT_NEAR(v, 7.0, 1e-6);
  EXPECT_EQ(s.truncated_count, 0u);
  fs::remove_all(d);
}

// --- errors ------------------------------------------------------------------------------

TEST(Nima, BadFoldersNameTheFileAndKey) {
  auto dir = temp_dir();
  auto e = error_message([&] { load_nima_model((dir / "nope").string()); });
  EXPECT_TRUE(contains(e, "not a folder")) << e;
  e = error_message([&] { load_nima_model(dir.string()); });
  EXPECT_TRUE(contains(e, (dir / "config.json").string()) && contains(e, "missing")) << e;
  auto with = [&](const json& cfg) {
    write(dir / "config.json", cfg.dump());
    return error_message([&] { load_nima_model(dir.string()); });
  };
  const json good = read_json_file(fixture("tiny-nima/config.json"));
  auto bad = [&](const std::string& key, const json& value) {
    json c = good;
    c[key] = value;
    return with(c);
  };
  e = bad("model_type", "clip");
  EXPECT_TRUE(contains(e, "config.json") && contains(e, "\"model_type\"")) << e;
  e = bad("base_model_name", "InceptionResNetV2");
  EXPECT_TRUE(contains(e, "\"base_model_name\"") && contains(e, "InceptionResNetV2")) << e;
  e = bad("padding", "valid");
  EXPECT_TRUE(contains(e, "\"padding\"") && contains(e, "same, symmetric")) << e;
  e = bad("alpha", 0.01);
  EXPECT_TRUE(contains(e, "\"alpha\"")) << e;
  e = bad("epsilon", 0);
  EXPECT_TRUE(contains(e, "\"epsilon\"")) << e;
  e = bad("image_size", 16);
  EXPECT_TRUE(contains(e, "\"image_size\"")) << e;
  // no weights; then weights of another width: the file and a key are named
  e = with(good);
  EXPECT_TRUE(contains(e, (dir / "model.safetensors").string())) << e;
  fs::copy_file(fs::path(tiny_nima()) / "model.safetensors", dir / "model.safetensors");
  e = bad("alpha", 0.5);
  EXPECT_TRUE(contains(e, "model.safetensors") && contains(e, "conv1.weight")) << e;
  // a scorer folder of the other kind, as when --scorer folders are given in the wrong order
  e = error_message([&] { load_scorer(tiny_clip(), ScoreMetric::nima); });
  EXPECT_TRUE(contains(e, "a CLIPModel folder, not a scorer of nima")) << e;
  e = error_message([&] { load_scorer(tiny_nima(), ScoreMetric::clipscore); });
  EXPECT_TRUE(contains(e, "a NIMA folder, not a scorer of clipscore")) << e;
  e = error_message([&] { load_nima_model(tiny_nima())->forward(torch::zeros({1, 3, 32, 32})); });
  EXPECT_TRUE(contains(e, "(B, 3, 224, 224)")) << e;
  fs::remove_all(dir);
}

TEST(Nima, RandomWeightsCommandWritesNimaFolders) {
  auto d = temp_dir() / "tiny-nima";
  fs::copy(fixture("tiny-nima"), d, fs::copy_options::recursive);
  auto r = run_catimage("-q random-weights " + d.string() + " --seed 7");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(d / "model.safetensors"), slurp(fs::path(tiny_nima()) / "model.safetensors"));
  fs::remove_all(d.parent_path());
}

// The T5 text side of the PixArt pipelines: transformers' T5Tokenizer (slow, legacy) and
// T5EncoderModel, against references transformers itself computed on the tiny T5 folder
// (tests/fixtures/tiny-t5 with the random weights catimage writes with seed 7;
// scripts/make_t5_fixtures.sh). fp32 on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "catimage/diffusion/models/t5_encoder.hpp"
#include "catimage/diffusion/random_weights.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/safetensors.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/text/t5_tokenizer.hpp"
#include "catimage/util/error.hpp"
#include "reference_fixtures.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

// tests/fixtures/tiny-t5 copied once per process, its two encoders given seed-7 weights.
std::string tiny_t5() {
  static const std::string dir = [] {
    auto d = temp_dir() / "tiny-t5";
    fs::copy(fixture("tiny-t5"), d, fs::copy_options::recursive);
    for (const char* c : {"text_encoder", "text_encoder_relu"}) write_random_weights((d / c).string(), 7);
    return d.string();
  }();
  return dir;
}

const T5Tokenizer& tokenizer() {
  static T5Tokenizer t = T5Tokenizer::from_folder(fixture("tiny-t5/tokenizer"));
  return t;
}

std::vector<std::int64_t> row(const torch::Tensor& t, std::int64_t b) {
  auto r = t[b].contiguous();
  return std::vector<std::int64_t>(r.data_ptr<std::int64_t>(), r.data_ptr<std::int64_t>() + r.numel());
}

// A copy of the gated tiny encoder's folder with config.json edited by `edit`.
std::string edited_encoder(const std::function<void(json&)>& edit) {
  auto d = temp_dir() / "te";
  fs::create_directories(d);
  json c = read_json_file((fs::path(tiny_t5()) / "text_encoder" / "config.json").string());
  edit(c);
  write(d / "config.json", c.dump(2));
  fs::copy_file(fs::path(tiny_t5()) / "text_encoder" / "model.safetensors", d / "model.safetensors");
  return d.string();
}

}  // namespace

// ---- tokenizer -----------------------------------------------------------------------------

TEST(T5Tokenizer, IdsMatchTransformers) {
  json ref = read_json_file(fixture("parity/t5_tokenizer_ids.json"));
  ASSERT_GE(ref["cases"].size(), 10u);
  for (const auto& c : ref["cases"]) {
    const auto text = c["text"].get<std::string>();
    const int n = c["max_length"].get<int>();
    auto batch = tokenizer().encode({text}, n);
    ASSERT_EQ(batch.input_ids.sizes(), (std::vector<std::int64_t>{1, n}));
    EXPECT_EQ(row(batch.input_ids, 0), c["input_ids"].get<std::vector<std::int64_t>>()) << "text: \"" << text << "\"";
    EXPECT_EQ(row(batch.attention_mask, 0), c["attention_mask"].get<std::vector<std::int64_t>>())
        << "text: \"" << text << "\"";
  }
}

TEST(T5Tokenizer, BatchRowsEqualSingleEncodings) {
  const std::vector<std::string> texts = {"a red cat", "", "café 日本 🐱, 12 apples"};
  auto batch = tokenizer().encode(texts, 20);
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<std::int64_t>{3, 20}));
  EXPECT_EQ(batch.input_ids.scalar_type(), torch::kInt64);
  EXPECT_EQ(batch.attention_mask.scalar_type(), torch::kInt64);
  for (std::size_t b = 0; b < texts.size(); ++b) {
    auto one = tokenizer().encode_one(texts[b], 20);
    auto ids = row(batch.input_ids, b), mask = row(batch.attention_mask, b);
    for (std::size_t j = 0; j < 20; ++j) {
      EXPECT_EQ(ids[j], j < one.size() ? one[j] : 0);
      EXPECT_EQ(mask[j], j < one.size() ? 1 : 0);
    }
  }
}

TEST(T5Tokenizer, SpecialTokensTruncationAndVocabulary) {
  const auto& t = tokenizer();
  EXPECT_EQ(t.vocab_size(), 1000 + 100);  // the tiny model's 1000 pieces + 100 extra ids
  EXPECT_EQ(t.encode_one("", 8), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(t.encode_plain("<extra_id_0><extra_id_99>"), (std::vector<std::int64_t>{1099, 1000}));
  EXPECT_EQ(t.encode_plain("</s><pad><unk>"), (std::vector<std::int64_t>{1, 0, 2}));
  // whitespace beside an extra id is stripped: "a <extra_id_3> b" == "a<extra_id_3>b"
  EXPECT_EQ(t.encode_plain("a <extra_id_3>   b"), t.encode_plain("a<extra_id_3>b"));
  // no second </s> when the text ends with one
  EXPECT_EQ(t.encode_one("a cat </s>", 16), t.encode_one("a cat", 16));
  // truncation keeps room for </s>
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "a red cat on a blue mat, ";
  ASSERT_GT(t.encode_plain(long_text).size(), 300u);
  for (int n : {120, 300}) {
    auto ids = t.encode_one(long_text, n);
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(ids.back(), 1);
    auto plain = t.encode_plain(long_text);
    EXPECT_TRUE(std::equal(ids.begin(), ids.end() - 1, plain.begin()));
    EXPECT_TRUE(t.truncates(long_text, n));
  }
  EXPECT_FALSE(t.truncates("a red cat", 120));
  EXPECT_THROW(t.encode({"x"}, 1), Error);
  // unknown characters (CJK is not in the tiny model) map to <unk>
  auto cjk = t.encode_plain("東京");
  EXPECT_NE(std::find(cjk.begin(), cjk.end(), 2), cjk.end());
}

TEST(T5Tokenizer, MissingOrBadFilesAreErrorsNamingThem) {
  auto d = temp_dir();
  EXPECT_TRUE(contains(error_message([&] { T5Tokenizer::from_folder(d.string()); }), (d / "spiece.model").string()));
  EXPECT_TRUE(contains(error_message([&] { T5Tokenizer((d / "nope.model").string()); }), "nope.model"));
  // a sentencepiece model without T5's special ids
  auto prompts = fs::path(CATIMAGE_SOURCE_DIR) / "models" / "tokenizer" / "prompts.model";
  if (fs::exists(prompts))
    EXPECT_TRUE(contains(error_message([&] { T5Tokenizer(prompts.string()); }), "not a T5 sentencepiece model"));
  fs::copy_file(fixture("tiny-t5/tokenizer/spiece.model"), d / "spiece.model");
  write(d / "tokenizer_config.json", R"({"legacy": false, "extra_ids": 100})");
  auto e = error_message([&] { T5Tokenizer::from_folder(d.string()); });
  EXPECT_TRUE(contains(e, "tokenizer_config.json") && contains(e, "legacy")) << e;
  write(d / "tokenizer_config.json", R"({"legacy": true, "extra_ids": 10})");
  auto t = T5Tokenizer::from_folder(d.string());
  EXPECT_EQ(t.vocab_size(), 1010);
  EXPECT_EQ(t.encode_plain("<extra_id_0>"), (std::vector<std::int64_t>{1009}));
  fs::remove_all(d);
}

// ---- encoder -------------------------------------------------------------------------------

// The references were made on the weights catimage writes with seed 7; if libtorch ever draws
// different random weights, say so instead of reporting numeric mismatches.
TEST(T5Encoder, TinyWeightsAreTheOnesTheReferencesUsed) {
  const auto root = fs::path(tiny_t5()).parent_path();
  auto got = weight_sums(root.string(), "tiny-t5/*/model.safetensors");
  ASSERT_EQ(got, slurp(fixture("parity/t5_weights.sha256")))
      << "the tiny T5 random weights differ from the ones the references were made with; rerun "
         "scripts/make_t5_fixtures.sh";
}

TEST(T5Encoder, MatchesTransformers) {
  torch::NoGradGuard ng;
  for (const char* which : {"text_encoder", "text_encoder_relu"}) {
    const auto& ref = reference_tensors(std::string(which) == "text_encoder" ? "t5_encoder" : "t5_encoder_relu");
    auto m = load_t5_encoder((fs::path(tiny_t5()) / which).string(), torch::kFloat32);
    auto ids = ref.get("input_ids", torch::kInt64), mask = ref.get("attention_mask", torch::kInt64);
    const float e = max_abs_diff(m->forward(ids, mask), ref.get("last_hidden_state"));
    const float e_nomask = max_abs_diff(m->forward(ids), ref.get("last_hidden_state_nomask"));
    std::printf("[parity] T5 %s: max abs error %.3g (masked), %.3g (no mask)\n", which, e, e_nomask);
    EXPECT_LE(e, 1e-4) << which;
    EXPECT_LE(e_nomask, 1e-4) << which;
    // and the mask matters: without it the padded batch gives other outputs
    EXPECT_GT(max_abs_diff(ref.get("last_hidden_state"), ref.get("last_hidden_state_nomask")), 1e-3);
  }
}

TEST(T5Encoder, PaddingDoesNotChangeTheTokensOutputs) {
  torch::NoGradGuard ng;
  auto m = load_t5_encoder((fs::path(tiny_t5()) / "text_encoder").string());
  const std::vector<std::string> texts = {"a red cat on a blue mat, oil painting", "short"};
  auto a = tokenizer().encode(texts, 16), b = tokenizer().encode(texts, 40);
  auto ha = m->forward(a.input_ids, a.attention_mask), hb = m->forward(b.input_ids, b.attention_mask);
  for (std::int64_t r = 0; r < 2; ++r) {
    const auto n = a.attention_mask[r].sum().item<std::int64_t>();
    ASSERT_GT(n, 0);
    EXPECT_LE(max_abs_diff(ha[r].slice(0, 0, n), hb[r].slice(0, 0, n)), 1e-5) << texts[r];
  }
  // a row gives the same outputs alone as in a batch
  auto one = tokenizer().encode({texts[1]}, 16);
  EXPECT_LE(max_abs_diff(m->forward(one.input_ids, one.attention_mask)[0], ha[1]), 1e-5);
}

TEST(T5Encoder, ParameterNamesAreTransformersKeys) {
  T5Config c = T5Config::load((fs::path(tiny_t5()) / "text_encoder" / "config.json").string());
  T5EncoderModel m(c, torch::kFloat32, torch::kCPU, /*init=*/false);
  std::set<std::string> names;
  for (const auto& p : m->named_parameters()) names.insert(p.key());
  for (const char* k :
       {"shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight",
        "encoder.block.2.layer.0.SelfAttention.o.weight",
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "encoder.block.1.layer.0.layer_norm.weight", "encoder.block.1.layer.1.DenseReluDense.wi_0.weight",
        "encoder.block.1.layer.1.DenseReluDense.wi_1.weight", "encoder.block.1.layer.1.DenseReluDense.wo.weight",
        "encoder.block.2.layer.1.layer_norm.weight", "encoder.final_layer_norm.weight"})
    EXPECT_TRUE(names.count(k)) << k;
  EXPECT_FALSE(names.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"));
  // 3 blocks x (4 attention + 3 feed-forward + 2 norms) + shared + bias + final norm
  EXPECT_EQ(names.size(), 3u * 9 + 3);
}

TEST(T5Encoder, XxlConfigHasT5v11XxlShapesAndKeepsWoInFp32UnderFp16) {
  auto c = T5Config::load((fs::path(CATIMAGE_SOURCE_DIR) / "configs" / "archs" / "t5-v1_1-xxl-encoder.json").string());
  EXPECT_EQ(c.dense_act_fn, "gelu_new");
  EXPECT_TRUE(c.is_gated_act);
  // on the meta device: shapes and dtypes only, no memory
  T5EncoderModel m(c, torch::kHalf, torch::Device(torch::kMeta), /*init=*/false);
  std::int64_t n = 0;
  for (const auto& p : m->named_parameters()) {
    n += p.value().numel();
    const bool wo = contains(p.key(), ".wo.");
    EXPECT_EQ(p.value().scalar_type(), wo ? torch::kFloat32 : torch::kHalf) << p.key();
  }
  EXPECT_EQ(n, 4762310656LL);  // transformers' T5EncoderModel t5-v1_1-xxl: 4.76 B
  T5EncoderModel bf(c, torch::kBFloat16, torch::Device(torch::kMeta), /*init=*/false);
  for (const auto& p : bf->named_parameters()) EXPECT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
}

TEST(T5Encoder, Bf16RunsCloseToFp32) {
  torch::NoGradGuard ng;
  const auto dir = (fs::path(tiny_t5()) / "text_encoder").string();
  auto m32 = load_t5_encoder(dir, torch::kFloat32);
  auto m16 = load_t5_encoder(dir, torch::kBFloat16);
  auto in = tokenizer().encode({"a red cat on a blue mat", "x"}, 12);
  auto h32 = m32->forward(in.input_ids, in.attention_mask);
  auto h16 = m16->forward(in.input_ids, in.attention_mask);
  EXPECT_EQ(h16.scalar_type(), torch::kBFloat16);
  EXPECT_LE(max_abs_diff(h16, h32), 0.15);
}

TEST(T5Encoder, LoadsShardedWeightsWithTheTiedEmbeddingKey) {
  torch::NoGradGuard ng;
  const auto src = (fs::path(tiny_t5()) / "text_encoder").string();
  auto w = WeightFiles::in_folder(src, "model");
  auto d = temp_dir();
  fs::copy_file(fs::path(src) / "config.json", d / "config.json");
  // two shards + index; the embedding stored only as encoder.embed_tokens.weight
  std::vector<TensorBlob> shard[2];
  json map = json::object();
  int i = 0;
  for (const auto& name : w.names()) {
    auto t = w.get(name).contiguous();
    TensorBlob b;
    b.name = name == "shared.weight" ? "encoder.embed_tokens.weight" : name;
    b.dtype = DType::F32;
    b.shape = t.sizes().vec();
    b.bytes.resize(t.numel() * sizeof(float));
    std::memcpy(b.bytes.data(), t.data_ptr<float>(), b.bytes.size());
    const int s = (i++) % 2;
    map[b.name] = s == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    shard[s].push_back(std::move(b));
  }
  write_safetensors((d / "model-00001-of-00002.safetensors").string(), std::move(shard[0]));
  write_safetensors((d / "model-00002-of-00002.safetensors").string(), std::move(shard[1]));
  write(d / "model.safetensors.index.json", json{{"metadata", json::object()}, {"weight_map", map}}.dump());
  auto a = load_t5_encoder(src), b = load_t5_encoder(d.string());
  auto in = tokenizer().encode({"a red cat"}, 10);
  EXPECT_EQ(max_abs_diff(a->forward(in.input_ids, in.attention_mask), b->forward(in.input_ids, in.attention_mask)),
            0.0f);
  fs::remove_all(d);
}

TEST(T5Config, BadValuesAreRefusedByKey) {
  const std::vector<std::pair<std::string, std::function<void(json&)>>> cases = {
      {"feed_forward_proj",
       [](json& c) {
         c["feed_forward_proj"] = "gated-gelu-x";
         c.erase("dense_act_fn");
       }},
      {"dense_act_fn", [](json& c) { c["dense_act_fn"] = "tanh"; }},
      {"model_type", [](json& c) { c["model_type"] = "umt5"; }},
      {"architectures", [](json& c) { c["architectures"] = {"BertModel"}; }},
      {"is_decoder", [](json& c) { c["is_decoder"] = true; }},
      {"relative_attention_num_buckets", [](json& c) { c["relative_attention_num_buckets"] = 5; }},
      {"num_layers", [](json& c) { c["num_layers"] = 0; }},
      {"d_model", [](json& c) { c["d_model"] = "wide"; }},
  };
  for (const auto& [key, edit] : cases) {
    auto dir = edited_encoder(edit);
    auto e = error_message([&] { load_t5_encoder(dir); });
    EXPECT_TRUE(contains(e, "config.json") && contains(e, key)) << key << ": " << e;
    fs::remove_all(fs::path(dir).parent_path());
  }
}

TEST(T5Config, MissingFilesAndMisfitWeightsAreErrorsNamingThem) {
  auto d = temp_dir();
  EXPECT_TRUE(contains(error_message([&] { load_t5_encoder(d.string()); }), "config.json"));
  fs::copy_file(fs::path(tiny_t5()) / "text_encoder" / "config.json", d / "config.json");
  EXPECT_TRUE(contains(error_message([&] { load_t5_encoder(d.string()); }), "model.safetensors"));
  fs::remove_all(d);
  // weights of another shape: the key is named
  auto dir = edited_encoder([](json& c) { c["d_ff"] = 64; });
  auto e = error_message([&] { load_t5_encoder(dir); });
  EXPECT_TRUE(contains(e, "DenseReluDense.wi_0.weight")) << e;
  fs::remove_all(fs::path(dir).parent_path());
  // bad inputs to forward
  auto m = load_t5_encoder((fs::path(tiny_t5()) / "text_encoder").string());
  EXPECT_THROW(m->forward(torch::zeros({4}, torch::kInt64)), Error);
  EXPECT_THROW(m->forward(torch::zeros({1, 4}, torch::kInt64), torch::ones({1, 5}, torch::kInt64)), Error);
}

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "catimage/eval/validation_scorer.hpp"
#include "catimage/io/cems_import.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/eval/cross_validation.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/io/quality_table.hpp"
#include "test_util.hpp"
// Private headers of src/predictor.
#include "predictor/ridge.hpp"
#include "predictor/text_features.hpp"
#include "predictor/tfidf.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

// A real slice of the CEMS CLIP table (first n prompts), split 80/20.
struct Slice {
  QualityTable train, val;
};

Slice cems_slice(std::size_t n) {
  const QualityTable all = load_quality_table(test::shipped_table("clip"));
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  auto s = split_table(all.subset(idx), {0.8, 0.2}, 0);
  return {s.parts[0], s.parts[1]};
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

}  // namespace

TEST(TextFeatures, AnalyzersFollowScikitLearn) {
  EXPECT_EQ(normalize_prompt("  A  Red\tBook \n"), "a red book");
  EXPECT_EQ(word_ngrams("a red book, 8k", 1, 2),
            (std::vector<std::string>{"red", "book", "8k", "red book", "book 8k"}));
  // char_wb of "ab": padded " ab " -> 2-grams " a","ab","b "; 3-grams " ab","ab "; 4: " ab "; 5: whole word
  EXPECT_EQ(char_wb_ngrams("ab", 2, 5), (std::vector<std::string>{" a", "ab", "b ", " ab", "ab ", " ab ", " ab "}));
  // code points, not bytes
  auto g = char_wb_ngrams("é", 2, 2);
  EXPECT_EQ(g, (std::vector<std::string>{" \xC3\xA9", "\xC3\xA9 "}));
}

TEST(TfidfRidge, VectorizerRowsAreNormalisedPerBlock) {
  TfidfVectorizer v;
  v.fit({"a red book", "a red vase", "a blue book"}, 1);
  auto r = v.transform("a red book");
  double norm = 0;
  for (float x : r.val) norm += x * x;
  EXPECT_NEAR(norm, 2.0, 1e-5);  // word block + char block, each of unit length
  auto again = TfidfVectorizer::from_json(v.to_json(), "x").transform("a red book");
  EXPECT_EQ(again.idx, r.idx);
  EXPECT_EQ(again.val, r.val);
}

TEST(TfidfRidge, RicherFeaturesAreConfiguredSavedAndChecked) {
  const std::vector<std::string> prompts = {"a red book by Greg Rutkowski, trending on artstation, 8k",
                                            "a (red:1.3) vase, oil painting", "a blue book", "photo of a blue vase"};
  TfidfVectorizer base, rich;
  base.fit(prompts, 1);
  rich.fit(prompts, 1, TfidfOptions::from_hyper({{"word_ngrams", {1, 3}}, {"char_ngrams", {1, 6}}, {"style", true}}));
  EXPECT_GT(rich.size(), base.size() + style_features("").size());
  const auto again = TfidfVectorizer::from_json(rich.to_json(), "x");
  EXPECT_EQ(again.size(), rich.size());
  for (const auto& p : prompts) {
    const auto a = rich.transform(p), b = again.transform(p);
    EXPECT_EQ(a.idx, b.idx) << p;
    EXPECT_EQ(a.val, b.val) << p;
    // the style block sits after the TF-IDF terms
    EXPECT_GE(a.idx.back(), static_cast<int>(rich.size() - style_features("").size())) << p;
  }
  // style markers: one "by ARTIST", artstation, a resolution, a "(word:1.3)" weight
  const auto f = style_features(prompts[0]);
  EXPECT_FLOAT_EQ(f[5], std::log1p(1.0f));
  EXPECT_EQ(f[6], 1.0f);
  EXPECT_EQ(f[9], 1.0f);
  EXPECT_FLOAT_EQ(style_features(prompts[1])[10], std::log1p(1.0f));
  EXPECT_EQ(style_features("a blue book")[5], 0.0f);
  // bad ranges name the key
  try {
    TfidfOptions::from_hyper({{"char_ngrams", {3, 2}}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("char_ngrams"), std::string::npos);
  }
  EXPECT_THROW(TfidfOptions::from_hyper({{"style", "yes"}}), Error);
}

TEST(TfidfRidge, SolvesTheNormalEquations) {
  // two orthonormal features: w_j = (x_j . y') / (1 + alpha)
  std::vector<SparseRow> X = {{{0}, {1.f}}, {{1}, {1.f}}, {{0, 1}, {0.6f, 0.8f}}};
  std::vector<double> y = {3, 1, 2};
  auto fit = fit_ridge(X, 2, y, 0.5);
  EXPECT_NEAR(fit.intercept, 2.0, 1e-12);
  // closed form for X^T X + a I with X = [[1,0],[0,1],[.6,.8]], y' = y - 2 = [1,-1,0]
  // A = [[1.86, .48], [.48, 2.14]], b = [1, -1]
  double a = 1.86, b = 0.48, c = 2.14, det = a * c - b * b;
  EXPECT_NEAR(fit.w[0], (c * 1 - b * -1) / det, 1e-6);
  EXPECT_NEAR(fit.w[1], (a * -1 - b * 1) / det, 1e-6);
}

TEST(Predictor, ConfidenceShrinksTowardsThePrior) {
  TargetStats st;
  st.prior = {30, 32};
  st.level_mean = 31;
  st.level_std = 2;
  st.dev_std = 1;
  Matrix raw(1, 3);
  raw(0, 0) = 3;  // deviation of candidate 0: +3
  raw(0, 1) = -3;
  raw(0, 2) = 0.5;  // level 32
  Confidence c{true, 0.5, 0.9};
  EXPECT_DOUBLE_EQ(c.shrink(0.4), 0.0);
  EXPECT_DOUBLE_EQ(c.shrink(0.7), 0.5);
  EXPECT_DOUBLE_EQ(c.shrink(0.95), 1.0);
  auto sure = qualities_from_raw(raw, st, c, {0.95});
  EXPECT_DOUBLE_EQ(sure(0, 0), 35);
  EXPECT_DOUBLE_EQ(sure(0, 1), 29);
  auto unsure = qualities_from_raw(raw, st, c, {0.1});
  EXPECT_DOUBLE_EQ(unsure(0, 0), 31);  // level + prior deviation: the best single wins
  EXPECT_DOUBLE_EQ(unsure(0, 1), 33);
}

TEST(Predictor, LengthRangeFallsBackOutsideTheTrainingLengths) {
  std::vector<std::string> prompts;  // word counts 10..30, uniformly
  for (int i = 0; i < 1000; ++i) {
    std::string p;
    for (int k = 0; k < 10 + i % 21; ++k) p += "word ";
    prompts.push_back(p);
  }
  auto r = LengthRange::fit(prompts);
  ASSERT_TRUE(r.enabled);
  EXPECT_DOUBLE_EQ(r.shrink(20), 1.0);
  EXPECT_DOUBLE_EQ(r.shrink(5), 0.0);   // shorter than anything seen
  EXPECT_DOUBLE_EQ(r.shrink(40), 0.0);  // longer than anything seen
  EXPECT_GT(r.shrink(10), 0.0);
  // a prompt out of range gets the prior: the best single candidate wins the routing
  TargetStats st;
  st.prior = {30, 32};
  st.dev_std = 1;
  Matrix raw(1, 3);
  raw(0, 0) = 5;
  raw(0, 1) = -5;
  auto q = qualities_from_raw(raw, st, Confidence{}, {}, {r.shrink(3)});
  EXPECT_LT(q(0, 0), q(0, 1));
}

TEST(Predictor, EveryRegisteredKindTrainsSavesAndReloadsIdentically) {
  auto s = cems_slice(400);
  auto d = temp_dir();
  std::vector<std::string> probe = {"a red book and a yellow vase", "portrait of a cat, oil painting, artstation", "x"};
  for (const auto& kind : predictor_kind_names()) {
    TrainRequest req;
    req.validation = router_aiq_scorer();
    req.kind = kind;
    req.seed = 3;
    req.metric = "clip";
    req.costs = s.train.mean_costs();
    req.max_epochs = 2;
    req.hyper = {{"bags", 2}};
    auto p = train_predictor(req, s.train, s.val);
    // retraining with the same seed gives the same predictor, bit for bit
    EXPECT_EQ(max_abs_diff(p->predict(probe), train_predictor(req, s.train, s.val)->predict(probe)), 0.0) << kind;
    auto dir = (d / kind).string();
    p->save(dir);
    auto q = load_predictor(dir);
    EXPECT_EQ(q->meta().kind, kind);
    EXPECT_EQ(q->meta().candidates, s.train.candidates);
    auto a = p->predict(probe), b = q->predict(probe);
    ASSERT_EQ(b.rows, 3u);
    ASSERT_EQ(b.cols, 4u);
    // embedding tables are stored as F16, and rounded so at the end of training: no difference
    EXPECT_EQ(max_abs_diff(a, b), 0.0) << kind;
    EXPECT_EQ(max_abs_diff(b, load_predictor(dir)->predict(probe)), 0.0) << kind;
    for (double v : b.data) EXPECT_TRUE(std::isfinite(v)) << kind;
    EXPECT_TRUE(q->meta().training.contains("validation")) << kind;
  }
  // same seed, same predictor
  TrainRequest req;
  req.validation = router_aiq_scorer();
  req.kind = "tfidf-ridge";
  req.costs = s.train.mean_costs();
  auto p1 = train_predictor(req, s.train, s.val), p2 = train_predictor(req, s.train, s.val);
  EXPECT_EQ(max_abs_diff(p1->predict(probe), p2->predict(probe)), 0.0);
}

TEST(Predictor, BadFoldersAreClearErrors) {
  auto d = temp_dir();
  EXPECT_THROW(load_predictor((d / "none").string()), Error);
  std::filesystem::create_directories(d / "p");
  write(d / "p" / "predictor.json", R"({"format": "catimage-predictor/1", "kind": "magic"})");
  try {
    load_predictor((d / "p").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(),
                         "predictor.json: unknown predictor kind \"magic\" (kinds: tfidf-ridge, bag, "
                         "transformer, knn, ensemble)"))
        << e.what();
  }
}

TEST(Predictor, EnsembleMembersMustBePlainNames) {
  // A predictor.json naming ".." as a member used to recurse until the stack overflowed.
  auto d = temp_dir();
  auto shipped = std::filesystem::path(CATIMAGE_SOURCE_DIR) / "models" / "predictor-clip";
  json meta = json::parse(slurp(shipped / "predictor.json"));
  for (const std::string bad : {"..", ".", "../predictor-nima", "/etc", "a/b", ""}) {
    auto p = d / "p";
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    json m = meta;
    m["kind"] = "ensemble";
    m["model"]["members"] = {bad};
    m["model"]["weights"] = {1.0};
    write(p / "predictor.json", m.dump());
    try {
      load_predictor(p.string());
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "is not a plain member name")) << bad << ": " << e.what();
    }
  }
}

TEST(Predictor, UnknownKindsAreRefusedListingTheKinds) {
  const std::string expected = "unknown predictor kind \"magic\" (kinds: tfidf-ridge, bag, transformer, knn, ensemble)";
  auto error_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of([] { predictor_kind("magic"); }), expected);
  EXPECT_EQ(error_of([] { predictor_kind("magic", "p.json"); }), "p.json: " + expected);
  TrainRequest req;
  req.validation = router_aiq_scorer();
  req.kind = "magic";
  EXPECT_EQ(error_of([&] { train_predictor(req, QualityTable{}, QualityTable{}); }), expected);
  EXPECT_EQ(predictor_kind(default_predictor_kind()).name, "tfidf-ridge");
  // catimage train: --kind is checked against the registry, and --help describes every kind
  auto r = run_catimage("train -t x.jsonl -o out --kind magic");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.err, "tfidf-ridge,bag,transformer,knn,ensemble")) << r.err;
  auto h = run_catimage("train --help");
  EXPECT_EQ(h.code, 0);
  for (const auto& k : predictor_kinds()) EXPECT_TRUE(contains(h.out, k.description)) << k.name << "\n" << h.out;
}

// The shipped default is what its predictor.json says it is (the recipe on the shipped table,
// reproduced bit for bit), and that recipe routes held-out prompts above the best single model
// at its cost: a constant or a shuffled predictor gains nothing here and fails.
TEST(Predictor, ShippedDefaultIsItsRecipeOnTheShippedTableAndGainsOnHeldOutPrompts) {
  auto shipped = load_predictor(default_predictor_dir());
  const auto& meta = shipped->meta();
  EXPECT_EQ(meta.candidates, (std::vector<std::string>{"SD-Turbo", "SDXL-Turbo", "TAESD", "amused"}));
  EXPECT_EQ(meta.metric, "clip");
  const QualityTable table = load_quality_table(test::shipped_table("clip"));
  ASSERT_EQ(meta.training.value("train_table_fnv1a64", ""), table.content_hash);
  ASSERT_EQ(table.candidates, meta.candidates);

  TrainRequest req;

  req.validation = router_aiq_scorer();
  req.kind = meta.kind;
  req.seed = meta.training.value("seed", 0);
  req.hyper = {{"alpha", meta.model.at("alpha")}};
  req.costs = meta.training.at("costs").get<std::vector<double>>();
  QualityTable none;
  none.candidates = table.candidates;
  const std::vector<std::string> probe = {"a white wall", "a crowded park at dusk, three dogs, neon signs",
                                          "portrait of a cat, highly detailed, artstation"};
  EXPECT_EQ(train_predictor(req, table, none)->predict(probe).data, shipped->predict(probe).data);

  // 80/20 by a seeded fold, routed as `route` routes (the shipped guard margin, the training means
  // choosing the kept candidate, at its cost), realised on the held-out rows' measured qualities.
  const auto folds = kfold_indices(table.rows.size(), 5, 0);
  std::vector<std::size_t> train_rows;
  for (std::size_t f = 1; f < folds.size(); ++f) train_rows.insert(train_rows.end(), folds[f].begin(), folds[f].end());
  std::sort(train_rows.begin(), train_rows.end());
  const QualityTable train = table.subset(train_rows), test = table.subset(folds[0]);
  auto p = train_predictor(req, train, none);
  std::vector<std::string> prompts;
  for (const auto& r : test.rows) prompts.push_back(r.prompt);
  RoutingPolicy policy(table.candidates, req.costs);
  RoutingRequest rq;
  rq.margin = meta.margin;
  rq.reference_quality = p->meta().stats.prior;
  const RoutingOutcome out = policy.route(p->predict(prompts), rq);
  double routed = 0, single = 0, cost = 0;
  for (std::size_t i = 0; i < test.rows.size(); ++i) {
    routed += test.rows[i].quality[out.routing.choice[i]];
    single += test.rows[i].quality[out.best_single];
    cost += req.costs[out.routing.choice[i]];
  }
  const double n = static_cast<double>(test.rows.size());
  EXPECT_EQ(meta.candidates[out.best_single], "SDXL-Turbo");
  EXPECT_LE(cost / n, req.costs[out.best_single] + 1e-9);
  // measured: +0.121 CLIP on these 1,400 held-out prompts; half of it is the floor (no routing gets 0)
  EXPECT_GT((routed - single) / n, 0.06) << "held-out gain " << (routed - single) / n;
}

TEST(Predictor, EnsembleMemberFolderLoopingBackIsAClearError) {
  // Found by tests/fuzz/fuzz_predictor: a member folder that is a symlink back to the ensemble
  // recursed until std::filesystem threw ELOOP (not a catimage::Error: the CLI aborted).
  auto d = temp_dir();
  auto shipped = std::filesystem::path(CATIMAGE_SOURCE_DIR) / "models" / "predictor-clip";
  json m = json::parse(slurp(shipped / "predictor.json"));
  m["kind"] = "ensemble";
  m["model"]["members"] = {"loop"};
  m["model"]["weights"] = {1.0};
  std::filesystem::create_directories(d / "p" / "members");
  write(d / "p" / "predictor.json", m.dump());
  std::filesystem::create_directory_symlink("..", d / "p" / "members" / "loop");
  try {
    load_predictor((d / "p").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "model.members: ensembles nested more than 8 deep")) << e.what();
  }
}

TEST(Predictor, RidgeTrainsOnEveryRowWithAnAlphaChosenElsewhere) {
  auto s = cems_slice(300);
  QualityTable none;
  none.candidates = s.train.candidates;
  TrainRequest req;
  req.validation = router_aiq_scorer();
  req.kind = "tfidf-ridge";
  req.costs = std::vector<double>(s.train.candidates.size(), 1.0);
  // without a validation set the alpha must be given (cv chooses it) ...
  try {
    train_predictor(req, s.train, none);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
  }
  // ... and with it, the fit does not depend on the validation rows at all
  req.hyper = {{"alpha", 10.0}};
  auto all = train_predictor(req, s.train, none);
  auto with_val = train_predictor(req, s.train, s.val);
  EXPECT_EQ(all->meta().model["alpha"], 10.0);
  EXPECT_EQ(all->meta().training["val_prompts"], 0);
  EXPECT_TRUE(all->meta().training["validation"].is_null());
  std::vector<std::string> prompts;
  for (const auto& r : s.val.rows) prompts.push_back(r.prompt);
  EXPECT_EQ(max_abs_diff(all->predict(prompts), with_val->predict(prompts)), 0.0);
  req.hyper = {{"alpha", -1}};
  EXPECT_THROW(train_predictor(req, s.train, s.val), Error);
  // kinds that select on validation refuse to train without it
  req.kind = "bag";
  req.hyper = json::object();
  try {
    train_predictor(req, s.train, none);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("validation"), std::string::npos) << e.what();
  }
}

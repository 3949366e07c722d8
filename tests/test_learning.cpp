// Learning a user's prompts: weighted quality tables and ridge fits, merged tables, the user
// rows' weight, partial-label cascade refits, the cascade that learns as it runs (budget,
// exploration, propensities, determinism) and its offline simulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "catimage/eval/adapt_cv.hpp"
#include "catimage/eval/learning_simulation.hpp"
#include "catimage/eval/transfer_gain.hpp"
#include "catimage/eval/user_weight.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/io/table_merge.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/cascade_learning.hpp"
#include "catimage/router/router.hpp"
#include "predictor/ridge.hpp"
#include "predictor/tfidf.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

// A made-up table: prompts of a few words; FIRST ("a") scores s, "b" gains when s is low and
// the prompt says "dog", "c" is dear and a little better everywhere.
QualityTable made_up_table(std::size_t n, unsigned seed, const std::string& tag = "r") {
  static const char* words[] = {"red",  "cube", "dog",  "cat",  "dusk", "wall",
                                "park", "neon", "city", "tree", "sea",  "sky"};
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  QualityTable t;
  t.source = tag + ".jsonl";
  t.candidates = {"a", "b", "c"};
  for (std::size_t i = 0; i < n; ++i) {
    std::string p;
    for (int w = 0; w < 2 + static_cast<int>(i % 5); ++w) p += std::string(p.empty() ? "" : " ") + words[rng() % 12];
    const double s = 30 + 3 * g(rng);
    const bool dog = p.find("dog") != std::string::npos;
    const double b = s + (dog ? 2.0 : -1.0) + 0.5 * (30 - s) + g(rng);
    const double c = s + 0.8 + 0.5 * g(rng);
    t.rows.push_back({tag + std::to_string(i), p, {s, b, c}, {}, static_cast<long>(i + 1)});
  }
  return t;
}

std::vector<std::string> prompts_of(const QualityTable& t) {
  std::vector<std::string> p;
  for (const auto& r : t.rows) p.push_back(r.prompt);
  return p;
}

}  // namespace

TEST(QualityTable, RowWeightsReadWriteAndWeightTheMeans) {
  auto d = temp_dir();
  const auto path = write(d / "t.jsonl",
                          "{\"id\":\"1\",\"prompt\":\"a\",\"quality\":{\"x\":1,\"y\":2}}\n"
                          "{\"id\":\"2\",\"prompt\":\"b\",\"quality\":{\"x\":4,\"y\":2},\"weight\":3}\n");
  QualityTable t = load_quality_table(path);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].weight, 1);
  EXPECT_EQ(t.rows[1].weight, 3);
  EXPECT_TRUE(t.weighted());
  EXPECT_DOUBLE_EQ(t.mean_quality()[0], (1 + 3 * 4) / 4.0);
  write_quality_table((d / "u.jsonl").string(), t.reordered({"y", "x"}));
  const QualityTable u = load_quality_table((d / "u.jsonl").string());
  EXPECT_EQ(u.rows[1].weight, 3);
  EXPECT_EQ(slurp(d / "u.jsonl").find("\"weight\":1"), std::string::npos);  // 1 is not written
  for (const char* bad : {"0", "-2", "\"3\"", "1e9"}) {
    const auto p = write(d / "bad.jsonl",
                         std::string("{\"id\":\"1\",\"prompt\":\"a\",\"quality\":{\"x\":1},\"weight\":") + bad + "}\n");
    const auto e = error_message([&] { load_quality_table(p); });
    EXPECT_NE(e.find("bad.jsonl:1: \"weight\": must be a number > 0"), std::string::npos) << bad << ": " << e;
  }
}

TEST(Predictor, UserRowsTrainAUserDomainShiftThePromptOnlyPredictionsCarry) {
  // The user's prompts ("zebra ...") have a "b" that is 3 better than the base rows say; the
  // merged table marks them, and the predictors learn that shift for every prompt they are asked
  // about (the user's), also ones whose words they never saw.
  const QualityTable base = made_up_table(200, 21);
  QualityTable user = made_up_table(60, 22, "u");
  for (auto& r : user.rows) r.quality[1] += 3;
  const QualityTable merged = merge_tables(base, user, 1);
  ASSERT_TRUE(merged.has_user_rows());
  TrainRequest tr;
  tr.kind = "tfidf-ridge";
  tr.hyper = {{"alpha", 10}};
  tr.costs = {1, 2, 3};
  QualityTable none;
  const auto p0 = train_predictor(tr, base, none), p1 = train_predictor(tr, merged, none);
  EXPECT_TRUE(p1->meta().model.value("user_domain", false));
  const std::vector<std::string> unseen = {"quasar nebula", "red cube dog"};
  const Matrix a = p0->predict(unseen), b = p1->predict(unseen);
  for (std::size_t i = 0; i < unseen.size(); ++i)
    EXPECT_GT((b(i, 1) - b(i, 0)) - (a(i, 1) - a(i, 0)), 1.0) << unseen[i];  // most of the +3 shift
  auto d = temp_dir();
  p1->save((d / "p").string());
  EXPECT_EQ(load_predictor((d / "p").string())->predict(unseen).data, b.data);
  // the cascade predictor has no such column (cascade_predictor.hpp): the user's rows count as
  // rows, and a folder written with the column by an earlier catimage is refused with what to do
  CascadeTrainRequest cr;
  cr.first = "a";
  const auto c1 = train_cascade_predictor(merged, cr);
  c1->save((d / "c").string());
  json cj = read_json_file((d / "c" / "predictor.json").string());
  EXPECT_FALSE(cj["model"].contains("user_domain"));
  EXPECT_EQ(load_cascade_predictor((d / "c").string())->predict_differences(unseen, {30, 30}).data,
            c1->predict_differences(unseen, {30, 30}).data);
  cj["model"]["user_domain"] = true;
  write(d / "c" / "predictor.json", cj.dump());
  try {
    load_cascade_predictor((d / "c").string());
    ADD_FAILURE() << "a predictor with a user-domain column loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train it again"), std::string::npos) << e.what();
  }
  // written and read back as "user": true
  write_quality_table((d / "m.jsonl").string(), merged);
  EXPECT_TRUE(load_quality_table((d / "m.jsonl").string()).rows.back().user);
  EXPECT_FALSE(load_quality_table((d / "m.jsonl").string()).rows.front().user);
}

TEST(Ridge, AnIntegerRowWeightIsThatRowRepeated) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<SparseRow> X;
  std::vector<double> y;
  for (int i = 0; i < 30; ++i) {
    SparseRow r;
    for (int j = 0; j < 6; ++j)
      if (rng() % 2) r.idx.push_back(j), r.val.push_back(u(rng));
    X.push_back(r);
    y.push_back(u(rng) * 3);
  }
  std::vector<double> w(X.size(), 1.0);
  w[3] = 3;
  w[7] = 2;
  std::vector<SparseRow> Xr = X;
  std::vector<double> yr = y;
  for (int k = 0; k < 2; ++k) Xr.push_back(X[3]), yr.push_back(y[3]);
  Xr.push_back(X[7]), yr.push_back(y[7]);
  const RidgeFit a = fit_ridge(X, 6, y, 0.7, w), b = fit_ridge(Xr, 6, yr, 0.7);
  EXPECT_NEAR(a.intercept, b.intercept, 1e-12);
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(a.w[j], b.w[j], 1e-5) << j;
  const RidgeFit c = fit_ridge(X, 6, y, 0.7);  // and the weights do change the fit
  double diff = 0;
  for (int j = 0; j < 6; ++j) diff += std::abs(c.w[j] - a.w[j]);
  EXPECT_GT(diff, 1e-3);
  EXPECT_NE(error_message([&] { fit_ridge(X, 6, y, 0.7, {1.0, 2.0}); }), "(no error)");
}

TEST(Predictor, KindsWithoutRowWeightsRefuseAWeightedTable) {
  QualityTable t = made_up_table(40, 1);
  t.rows[0].weight = 2;
  TrainRequest tr;
  tr.kind = "bag";
  tr.costs = {1, 2, 3};
  const auto e = error_message([&] { train_predictor(tr, t, t); });
  EXPECT_NE(e.find("kind bag does not train with row weights"), std::string::npos) << e;
}

TEST(TableMerge, BaseThenUserRowsWeightedIdsKeptApartCandidatesChecked) {
  QualityTable base = made_up_table(5, 1, "x"), user = made_up_table(3, 2, "x");
  user.candidates = {"c", "a", "b"};  // another order: the base follows the user's
  for (auto& r : user.rows) std::rotate(r.quality.begin(), r.quality.begin() + 2, r.quality.end());
  user.rows[1].weight = 2;
  const QualityTable m = merge_tables(base, user, 10);
  ASSERT_EQ(m.rows.size(), 8u);
  EXPECT_EQ(m.candidates, user.candidates);
  EXPECT_EQ(m.rows[0].id, "base:x0");  // x0..x2 are user ids too
  EXPECT_EQ(m.rows[4].id, "x4");
  EXPECT_EQ(m.rows[0].quality[1], base.rows[0].quality[0]);  // "a"
  EXPECT_EQ(m.rows[5].weight, 10);
  EXPECT_EQ(m.rows[6].weight, 20);
  QualityTable other = user;
  other.candidates = {"a", "b", "z"};
  const auto e = error_message([&] { merge_tables(base, other, 1); });
  EXPECT_NE(e.find("must measure the same candidates"), std::string::npos) << e;
  // the scale map gives the mean and spread of the target
  const QualityMap map = matching_map(base, mapped(base, {2, 5}));
  EXPECT_NEAR(map.scale, 2, 1e-9);
  EXPECT_NEAR(map.shift, 5, 1e-9);
}

TEST(PromptClusters, AStratifiedSampleSeesEveryClusterAndIsSeeded) {
  const QualityTable t = made_up_table(300, 3);
  const PromptClusters pc = cluster_prompts(prompts_of(t), 6, 1);
  const auto s = stratified_sample(pc, 40, 9);
  EXPECT_EQ(s.size(), 40u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::set<std::size_t>(s.begin(), s.end()).size(), 40u);
  std::set<int> seen;
  for (auto i : s) seen.insert(pc.label[i]);
  for (int c = 0; c < 6; ++c)
    if (pc.size[c]) EXPECT_TRUE(seen.count(c)) << "cluster " << c;
  for (int c = 0; c < 6; ++c) {  // proportional within one prompt
    std::size_t got = 0;
    for (auto i : s) got += pc.label[i] == c;
    EXPECT_LE(std::abs(static_cast<double>(got) - 40.0 * pc.size[c] / 300), 1.0 + 1e-9) << c;
  }
  EXPECT_EQ(stratified_sample(pc, 40, 9), s);
  EXPECT_NE(stratified_sample(pc, 40, 10), s);
  EXPECT_EQ(stratified_sample(pc, 1000, 9).size(), 300u);
}

TEST(Cascade, RefitsWithoutRunRowsPredictAsTheTableTrainedPredictor) {
  const QualityTable base = made_up_table(120, 4);
  CascadeTrainRequest cr;
  cr.first = "a";
  const auto p = train_cascade_predictor(base, cr);
  const CascadeRefitter refit(base, cr, {}, p->meta().error_std);
  const auto q = refit.fit(CascadeRows{{}, {}, Matrix(0, 3), Matrix(0, 3)});
  const QualityTable test = made_up_table(30, 5, "t");
  std::vector<double> obs;
  for (const auto& r : test.rows) obs.push_back(r.quality[0]);
  const Matrix a = p->predict_differences(prompts_of(test), obs), b = q->predict_differences(prompts_of(test), obs);
  EXPECT_EQ(a.data, b.data);  // the same vocabulary, statistics and fits: bit for bit
  // A run row teaches only the candidate it observed: "b"'s predictions move, "c"'s do not.
  CascadeRows extra{{"dog dog dog"}, {25.0}, Matrix(1, 3, std::nan("")), Matrix(1, 3, 0.0)};
  extra.diff(0, 1) = 12;
  extra.weight(0, 1) = 50;
  const Matrix c = refit.fit(extra)->predict_differences(prompts_of(test), obs);
  double moved_b = 0, moved_c = 0;
  for (std::size_t i = 0; i < c.rows; ++i) {
    moved_b += std::abs(c(i, 1) - a(i, 1));
    moved_c += std::abs(c(i, 2) - a(i, 2));
  }
  EXPECT_GT(moved_b, 1e-3);
  EXPECT_EQ(moved_c, 0.0);
  // a refit vocabulary holds the batch's words
  const CascadeRefitter with_batch(base, cr, {"zebra zebra", "zebra stripes"}, p->meta().error_std);
  CascadeRows zebra{{"zebra stripes"}, {28.0}, Matrix(1, 3, std::nan("")), Matrix(1, 3, 0.0)};
  zebra.diff(0, 1) = 15;
  zebra.weight(0, 1) = 50;
  const auto z = with_batch.fit(zebra);
  const Matrix dz = z->predict_differences({"zebra zebra", "red cube"}, {28.0, 28.0});
  const Matrix d0 = with_batch.fit(CascadeRows{{}, {}, Matrix(0, 3), Matrix(0, 3)})
                        ->predict_differences({"zebra zebra", "red cube"}, {28.0, 28.0});
  EXPECT_GT(dz(0, 1) - d0(0, 1), 0.1);  // learnt: zebra prompts gain from "b"
}

namespace {

// A refit stand-in: every prompt's differences from a fixed table, shifted by the mean of the
// labels seen so far (so each block sees other predictions), recording the labels it got.
struct FakeRefit {
  Matrix diff;
  std::vector<std::vector<RunLabel>>* calls;
  Matrix operator()(const std::vector<RunLabel>& labels, const std::vector<std::size_t>& which) const {
    calls->push_back(labels);
    double shift = 0;
    for (const auto& l : labels) shift += l.difference * 1e-2;
    Matrix d(which.size(), diff.cols);
    for (std::size_t r = 0; r < which.size(); ++r)
      for (std::size_t k = 0; k < diff.cols; ++k) d(r, k) = diff(which[r], k) + (k == 1 ? shift : 0.0);
    return d;
  }
};

struct SimRun {
  std::vector<CascadeDecision> decisions;
  double cost = 0;
};

SimRun simulate(const CascadeLearner& L, const QualityTable& t) {
  const LearningSimulation s = simulate_learning(L, t, 0, false);
  SimRun r{s.decisions, 0};
  for (double c : s.cost) r.cost += c;
  return r;
}

}  // namespace

TEST(CascadeLearning, MeetsTheBudgetExactlyExploresBySeedAndLogsPropensities) {
  const QualityTable t = made_up_table(200, 6);
  std::mt19937 rng(2);
  std::normal_distribution<double> g(0, 2);
  Matrix diff(t.rows.size(), 3);
  for (std::size_t i = 0; i < diff.rows; ++i) diff(i, 1) = g(rng), diff(i, 2) = 0.5 + g(rng);
  std::vector<std::string> ids;
  std::vector<double> obs;
  for (const auto& r : t.rows) ids.push_back(r.id), obs.push_back(r.quality[0]);
  const std::vector<double> costs = {1, 2, 4};
  CascadeOptions co{0, 0.1, false};
  co.score_second = true;
  std::vector<std::vector<RunLabel>> calls;
  RoutingRequest rq;
  rq.budget = 2.3;
  LearningOptions lo;
  lo.every = 30;
  lo.explore = 0.1;
  lo.seed = 7;
  const CascadeLearner L({ids, obs, costs, co, {0, 0, 0}}, rq, lo, FakeRefit{diff, &calls}, {"a", "b", "c"});
  EXPECT_EQ(L.blocks(), 7u);
  const SimRun r = simulate(L, t);
  ASSERT_EQ(r.decisions.size(), t.rows.size());
  EXPECT_LE(r.cost, 2.3 * t.rows.size() * (1 + 1e-9));  // the whole batch within its budget
  EXPECT_GT(r.cost, 2.1 * t.rows.size());               // and spending it
  const std::vector<double> oc = L.option_costs();      // 1.1, 1.1 + 2 + 0.1, 1.1 + 4 + 0.1
  EXPECT_DOUBLE_EQ(oc[1], 3.2);
  std::size_t explored = 0;
  for (std::size_t i = 0; i < r.decisions.size(); ++i) {
    const auto& d = r.decisions[i];
    EXPECT_EQ(d.block, static_cast<int>(i / 30));
    EXPECT_EQ(d.explored, L.explores(i));
    if (d.explored) {
      ++explored;
      EXPECT_NE(d.candidate, 0);
      EXPECT_DOUBLE_EQ(d.propensity, 0.05 + (d.router_choice == d.candidate ? 0.9 : 0.0));
    } else {
      EXPECT_EQ(d.candidate, d.router_choice);
      EXPECT_DOUBLE_EQ(d.propensity, d.candidate == 0 ? 0.9 : 0.95);
    }
  }
  EXPECT_GT(explored, 8u);
  EXPECT_LT(explored, 35u);
  // Each block's refit saw the labels of the blocks before it, weighted 1/propensity.
  ASSERT_GE(calls.size(), L.blocks());
  const auto& last = calls.back();
  std::size_t escalated_before = 0;
  for (std::size_t i = 0; i < L.block_begin(L.blocks() - 1); ++i) escalated_before += r.decisions[i].candidate != 0;
  EXPECT_EQ(last.size(), escalated_before);
  for (const auto& l : last) {
    EXPECT_DOUBLE_EQ(l.weight, 1.0 / r.decisions[l.prompt].propensity);
    EXPECT_DOUBLE_EQ(l.difference, t.rows[l.prompt].quality[l.candidate] - t.rows[l.prompt].quality[0]);
  }
  // The draws follow the ids and the seed, not the positions.
  std::vector<std::string> reversed(ids.rbegin(), ids.rend());
  std::vector<double> robs(obs.rbegin(), obs.rend());
  const CascadeLearner R({reversed, robs, costs, co, {0, 0, 0}}, rq, lo, FakeRefit{diff, &calls}, {"a", "b", "c"});
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(R.explores(ids.size() - 1 - i), L.explores(i));
    EXPECT_EQ(R.drawn_candidate(ids.size() - 1 - i), L.drawn_candidate(i));
  }
  // Deterministic: the same inputs, the same plan.
  EXPECT_EQ(simulate(L, t).cost, r.cost);
}

TEST(CascadeLearning, WithoutExplorationTheFirstBlockIsTheStaticCascadesRouting) {
  const QualityTable t = made_up_table(90, 8);
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0, 2);
  Matrix diff(t.rows.size(), 3);
  for (std::size_t i = 0; i < diff.rows; ++i) diff(i, 1) = g(rng), diff(i, 2) = 1 + g(rng);
  std::vector<std::string> ids;
  std::vector<double> obs;
  for (const auto& r : t.rows) ids.push_back(r.id), obs.push_back(r.quality[0]);
  const std::vector<double> costs = {1, 2, 4};
  const CascadeOptions co{0, 0, false};
  std::vector<std::vector<RunLabel>> calls;
  RoutingRequest rq;
  rq.budget = 2.5;
  LearningOptions lo;
  lo.every = 40;
  const CascadeLearner L({ids, obs, costs, co, {0, 0, 0}}, rq, lo, FakeRefit{diff, &calls}, {"a", "b", "c"});
  Router static_router(cascade_costs(costs, co));
  static_router.set_predictions(cascade_predicted(obs, diff, {}, co));
  const Routing s = static_router.route_budget(2.5);
  const auto block0 = L.plan_block(0, {}, std::vector<std::optional<double>>(t.rows.size()));
  ASSERT_EQ(block0.size(), 40u);
  for (std::size_t i = 0; i < 40; ++i) EXPECT_EQ(block0[i].candidate, s.choice[i]) << i;
  // A later block refuses to plan before the earlier ones' escalations are scored.
  ASSERT_TRUE(std::any_of(block0.begin(), block0.end(), [](const CascadeDecision& d) { return d.candidate != 0; }));
  std::vector<std::optional<double>> none(t.rows.size());
  const auto e = error_message([&] { L.plan_block(1, block0, none); });
  EXPECT_NE(e.find("has no second score yet"), std::string::npos) << e;
  // Budgets below the first images' cost, and objectives it cannot keep, are refused.
  rq.budget = 0.5;
  EXPECT_NE(error_message([&] {
              CascadeLearner({ids, obs, costs, co, {0, 0, 0}}, rq, lo, FakeRefit{diff, &calls}, {"a", "b", "c"});
            }).find("is below what the first images"),
            std::string::npos);
  RoutingRequest savings;
  savings.objective = Objective::savings;
  EXPECT_NE(error_message([&] {
              CascadeLearner({ids, obs, costs, co, {0, 0, 0}}, savings, lo, FakeRefit{diff, &calls}, {"a", "b", "c"});
            }).find("--objective savings is not supported with --learn"),
            std::string::npos);
}

TEST(UserWeight, MovesFromTheReferenceOnlyWhenTheUsersRowsTeachBeyondTheNoise) {
  // The base's "b" gains on "dog" prompts; the user's prompts are "zebra" prompts where "b"
  // gains too — only the user's rows can teach that, and weighting them helps.
  QualityTable base = made_up_table(300, 11);
  QualityTable user;
  user.source = "user.jsonl";
  user.candidates = base.candidates;
  std::mt19937 rng(12);
  std::normal_distribution<double> g(0, 1);
  static const char* words[] = {"zebra", "stripes", "plain", "savanna", "herd", "grass"};
  for (int i = 0; i < 60; ++i) {
    std::string p = "zebra";
    for (int w = 0; w < 3; ++w) p += std::string(" ") + words[rng() % 6];
    const double s = 30 + 3 * g(rng);
    const bool stripes = p.find("stripes") != std::string::npos;
    user.rows.push_back(
        {"u" + std::to_string(i), p, {s, s + (stripes ? 4.0 : -3.0) + 0.3 * g(rng), s + 0.8}, {}, i + 1});
  }
  const std::vector<double> costs = {1, 1.5, 3};
  auto measure = [&](const QualityTable& train, const QualityTable& test) {
    return cascade_gains(train, test, "a", 10, costs);
  };
  const UserWeightChoice w = choose_user_weight(base, user, {1, 3, 10, 30}, 5, 0, measure, 1);
  ASSERT_EQ(w.gain.size(), 4u);
  EXPECT_EQ(w.folds, 5);
  EXPECT_EQ(w.paired[0], 0.0);
  EXPECT_GT(w.chosen, 1.0) << w.to_json().dump();
  const std::size_t b = std::find(w.grid.begin(), w.grid.end(), w.chosen) - w.grid.begin();
  EXPECT_GT(w.paired[b], kUserWeightSe * w.paired_se[b]) << w.to_json().dump();  // moved: by more than 2 SE
  // from the chosen weight as the reference, nothing else beats it by 2 SE: it stays
  const UserWeightChoice again = choose_user_weight(base, user, {1, 3, 10, 30}, 5, 0, measure, w.chosen);
  EXPECT_EQ(again.chosen, w.chosen) << again.to_json().dump();
  EXPECT_EQ(again.paired[b], 0.0);
  // too few user rows to choose on: the reference, said as folds 0
  const UserWeightChoice few = choose_user_weight(base, user.subset({0, 1, 2}), {1, 3}, 5, 0, measure, 3);
  EXPECT_EQ(few.folds, 0);
  EXPECT_EQ(few.chosen, 3.0);
  EXPECT_THROW(choose_user_weight(base, user, {1, 10}, 5, 0, measure, 3), Error);
}

TEST(AdaptCv, HeldOutClustersLabelledPromptsAndTheLearningCascadeWithinItsBudget) {
  const QualityTable t = made_up_table(360, 13);
  AdaptCvRequest rq;
  rq.ks = {0, 20};
  rq.clusters = 3;
  rq.first = "a";
  rq.costs = {1, 1.5, 3};
  rq.weight_grid = {1, 10};
  rq.default_weight = 1;
  rq.learn.every = 25;
  rq.learn.explore = 0.1;
  const AdaptCvResult r = adapt_cross_validate(t, rq);
  ASSERT_FALSE(r.cells.empty());
  EXPECT_EQ(r.cells.size() % 2, 0u);
  for (const auto& c : r.cells) {
    EXPECT_TRUE(std::isfinite(c.prompt_gain));
    EXPECT_TRUE(std::isfinite(c.cascade_gain));
    if (c.k == 0) EXPECT_EQ(c.prompt_weight, 1);
  }
  ASSERT_EQ(r.learning.size() * 2, r.cells.size());
  for (const auto& L : r.learning) {
    EXPECT_LE(L.mean_cost, L.budget * (1 + 1e-9));
    EXPECT_EQ(L.static_segment.size(), 5u);
    // the static cascade's gain on the run is the k = 0 cell's
    for (const auto& c : r.cells)
      if (c.cluster == L.cluster && c.k == 0) EXPECT_NEAR(L.static_gain, c.cascade_gain, 1e-9);
  }
  const std::string md = adapt_cv_markdown(r, "t");
  EXPECT_NE(md.find("| 20 |"), std::string::npos) << md;
  EXPECT_NE(md.find("learning cascade"), std::string::npos) << md;
  EXPECT_EQ(adapt_cv_json(r)["summary"].size(), 2u);
}

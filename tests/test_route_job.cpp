// The route job (batch/route_job) with a stand-in pipeline: no libtorch model runs, so the
// out-of-memory retry and the exclusion of candidates that cannot run are tested on the CPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "catimage/batch/candidate_rules.hpp"
#include "catimage/batch/route_job.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

// What the stand-in pipelines of one factory saw: the batch sizes tried, the images made per
// prompt, the candidates built.
struct Seen {
  std::vector<std::size_t> tried;
  std::map<std::string, int> made;
  std::vector<std::string> built;
};

// Runs out of memory (as CUDA says it) for batches over `fits`; otherwise an image per
// request that follows only its prompt and seed.
class StandInPipeline : public ImagePipeline {
 public:
  StandInPipeline(std::size_t fits, Seen& seen) : fits_(fits), seen_(seen) {}
  torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) override {
    seen_.tried.push_back(batch.size());
    if (batch.size() > fits_) throw std::runtime_error("CUDA out of memory. Tried to allocate 2.00 GiB (stand-in)");
    const auto b = static_cast<std::int64_t>(batch.size());
    auto images = torch::empty({b, s.height, s.width, 3}, torch::kUInt8);
    for (std::int64_t i = 0; i < b; ++i) {
      const auto& r = batch[i];
      const auto shift = static_cast<std::int64_t>((r.seed * 7 + fnv1a64(r.prompt)) % 251);
      images[i] = torch::arange(s.height * s.width * 3, torch::kInt64)
                      .add(shift)
                      .remainder(256)
                      .to(torch::kUInt8)
                      .view({s.height, s.width, 3});
      ++seen_.made[r.prompt];
    }
    return images;
  }
  int default_size() const override { return 16; }
  std::string sampler_label() const override { return "Stand-in"; }
  std::string scheduler_class() const override { return "StandInScheduler"; }
  std::string describe() const override { return "stand-in pipeline"; }
  torch::Device device() const override { return torch::kCPU; }
  torch::Dtype dtype() const override { return torch::kFloat32; }

 private:
  std::size_t fits_;
  Seen& seen_;
};

class StandIn : public PipelineFactory {
 public:
  explicit StandIn(std::size_t fits) : fits_(fits) {}
  std::unique_ptr<ImagePipeline> make(const GenerationPlan& plan) const override {
    seen.built.push_back(plan.candidate);
    return std::make_unique<StandInPipeline>(fits_, seen);
  }
  mutable Seen seen;

 private:
  std::size_t fits_;
};

json candidate(const std::string& name, const std::string& family, double cost, const std::string& weights = "") {
  json c = {{"name", name}, {"family", family}, {"cost", {{"value", cost}, {"unit", "seconds"}}}};
  if (!weights.empty()) {
    c["weights"] = weights;
    c["steps"] = 1;
    c["width"] = 16;
    c["height"] = 16;
  }
  return c;
}

CandidateSet config(const fs::path& dir, const json& candidates) {
  return load_candidates(write(dir / "config.json", json{{"candidates", candidates}}.dump()),
                         runtime_candidate_rules());
}

// Prompts "prompt 1".."prompt n" and their predicted qualities: quality(i, name).
template <typename Q>
RouteJobOptions options(const fs::path& dir, const CandidateSet& cs, int n, Q quality, PromptFile& pf) {
  std::string text, preds;
  for (int i = 1; i <= n; ++i) {
    text += "prompt " + std::to_string(i) + "\n";
    json q = json::object();
    for (const auto& c : cs.candidates) q[c.name] = quality(i, c.name);
    preds += json{{"id", std::to_string(i)}, {"prompt", "prompt " + std::to_string(i)}, {"quality", q}}.dump() + "\n";
  }
  pf = read_prompts(write(dir / "p.txt", text));
  RouteJobOptions o;
  o.source.predictions = write(dir / "pred.jsonl", preds);
  o.request.lambda = 0.0;
  o.generate = true;
  o.job.out_dir = (dir / "images").string();
  o.job.device = "cpu";
  o.job.seed = 1;
  return o;
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

TEST(RouteJob, OutOfMemoryHalvesTheBatchAndFinishes) {
  const auto d = temp_dir();
  const CandidateSet cs = config(d, {candidate("small", "sd15", 1, tiny_model("tiny-sd1")),
                                     candidate("big", "sd15", 2, tiny_model("tiny-sd1"))});
  // prompts 1..6 gain from "big", 7..10 do not
  auto quality = [](int i, const std::string& name) { return name == "big" ? (i <= 6 ? 2.0 : 0.5) : 1.0; };
  PromptFile pf;
  auto run = [&](const std::string& out, std::size_t fits, Seen& seen) {
    RouteJobOptions o = options(d, cs, 10, quality, pf);
    o.job.out_dir = (d / out).string();
    o.job.batch = 8;
    StandIn pipelines(fits);
    int published = 0;
    const RouteJobResult r = run_route_job(
        cs, pf, o,
        [&](const RouteJobResult& routed) {
          ++published;
          EXPECT_EQ(routed.routed.routing.choice.size(), 10u);
          EXPECT_FALSE(fs::exists(d / out / "1.png"));  // published before any image
        },
        pipelines);
    EXPECT_EQ(published, 1);
    EXPECT_EQ(r.written, 10u);
    seen = pipelines.seen;
    return r;
  };
  Seen plain, short_of_memory;
  const RouteJobResult ref = run("ref", 100, plain);
  EXPECT_EQ(plain.tried, (std::vector<std::size_t>{4, 6}));  // small's 4 prompts, then big's 6
  const RouteJobResult r = run("oom", 2, short_of_memory);
  EXPECT_EQ(r.routed.routing.choice, ref.routed.routing.choice);
  // small: 4 out of memory, then 2, 2; big (a fresh pipeline, at --batch again): 6 and 3 out of
  // memory (half of what ran out, rounded up), then 2, 2, 2
  EXPECT_EQ(short_of_memory.tried, (std::vector<std::size_t>{4, 2, 2, 6, 3, 2, 2, 2}));
  EXPECT_EQ(short_of_memory.built, (std::vector<std::string>{"small", "big"}));
  ASSERT_EQ(short_of_memory.made.size(), 10u);
  for (const auto& [prompt, times] : short_of_memory.made) EXPECT_EQ(times, 1) << prompt;  // each image made once
  const auto m = manifest(d / "oom" / "manifest.jsonl");
  ASSERT_EQ(m.size(), 10u);
  std::set<std::string> files;
  for (const auto& j : m) {
    const std::string f = j["file"].get<std::string>();
    EXPECT_TRUE(files.insert(f).second) << f << " written twice";
    EXPECT_EQ(slurp(d / "oom" / f), slurp(d / "ref" / f)) << f;  // the same bytes as without running short
  }
  EXPECT_EQ(files.size(), 10u);
  // nothing fits: halved down to one image, then an error naming the candidate
  RouteJobOptions o = options(d, cs, 10, quality, pf);
  o.job.out_dir = (d / "never").string();
  o.job.batch = 8;
  StandIn never(0);
  const auto msg = error_message([&] { run_route_job(cs, pf, o, [](const RouteJobResult&) {}, never); });
  EXPECT_TRUE(contains(msg, "out of GPU memory generating one 16x16 image with small")) << msg;
  EXPECT_EQ(never.seen.tried, (std::vector<std::size_t>{4, 2, 1}));
}

TEST(RouteJob, ACandidateThatCannotRunIsExcludedWithItsReason) {
  const auto d = temp_dir();
  // "masked" (no weights) is predicted best for prompt 1, "ext" (a family this runtime does
  // not run) for prompt 2; only "small" can generate here.
  const CandidateSet cs = config(d, {candidate("small", "sd15", 1, tiny_model("tiny-sd1")),
                                     candidate("masked", "amused", 2), candidate("ext", "other", 3)});
  auto quality = [](int i, const std::string& name) {
    if (name == "masked") return i == 1 ? 9.0 : 0.0;
    if (name == "ext") return i == 2 ? 9.0 : 0.0;
    return 1.0;
  };
  PromptFile pf;
  RouteJobOptions o = options(d, cs, 3, quality, pf);
  // routing alone chooses them
  o.generate = false;
  RouteJobResult r = run_route_job(cs, pf, o, [](const RouteJobResult&) {});
  EXPECT_EQ(r.routed.routing.choice, (std::vector<int>{1, 2, 0}));
  EXPECT_TRUE(r.excluded.empty());
  // generating, they are left out with their reasons and the prompts go to "small"
  o.generate = true;
  StandIn pipelines(100);
  r = run_route_job(cs, pf, o, [](const RouteJobResult&) {}, pipelines);
  ASSERT_EQ(r.excluded.size(), 2u);
  EXPECT_EQ(r.excluded[0].name, "masked");
  EXPECT_EQ(r.excluded[0].why, "no \"weights\" folder in the config");
  EXPECT_EQ(r.excluded[1].name, "ext");
  EXPECT_TRUE(contains(r.excluded[1].why, "family \"other\" is not run by this runtime")) << r.excluded[1].why;
  EXPECT_EQ(r.routed.routing.choice, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(r.written, 3u);
  EXPECT_EQ(pipelines.seen.built, std::vector<std::string>{"small"});
  const auto m = manifest(fs::path(o.job.out_dir) / "manifest.jsonl");
  ASSERT_EQ(m.size(), 3u);
  for (const auto& j : m) EXPECT_EQ(j["candidate"], "small");
  // none left: an error naming each and why
  const CandidateSet none = config(temp_dir(), {candidate("masked", "amused", 2), candidate("ext", "other", 3)});
  RouteJobOptions n = o;
  auto msg = error_message([&] { run_route_job(none, pf, n, [](const RouteJobResult&) {}, pipelines); });
  EXPECT_TRUE(contains(msg, "no candidate can generate here: masked (no \"weights\" folder in the config); ext (family "
                            "\"other\" is not run"))
      << msg;
  // a forced candidate that cannot run: its reason
  o.request.lambda.reset();
  o.request.candidate = "masked";
  msg = error_message([&] { run_route_job(cs, pf, o, [](const RouteJobResult&) {}, pipelines); });
  EXPECT_TRUE(contains(msg, "candidate \"masked\" has no \"weights\"")) << msg;
}

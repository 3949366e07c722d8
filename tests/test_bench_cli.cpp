// `catimage bench --pipeline`: whole generate calls of a model folder, timed; and the fp16/bf16
// random weights the full-size benchmark folders are written with (scripts/make_bench_pipelines.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "catimage/diffusion/families.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/safetensors.hpp"
#include "catimage/io/weights.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

TEST(BenchCli, PipelineTimesWholeGenerateCallsWithTheGivenSettings) {
  const auto d = temp_dir();
  const auto out = (d / "p.json").string();
  auto r = run_catimage(
      "--threads 1 bench --pipeline " + tiny_model("tiny-sd1") +
      " --batch 3 --size 64 --inference-steps 2 --guidance 3 --runs 2 --warmup 1 --dtype fp32 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "images/s (3 per call")) << r.out;
  const auto j = json::parse(slurp(out));
  EXPECT_EQ(j["mode"], "pipeline");
  EXPECT_EQ(j["family"], "sd15");
  EXPECT_EQ(j["batch"], 3);
  EXPECT_EQ(j["width"], 64);
  EXPECT_EQ(j["height"], 64);
  EXPECT_EQ(j["inference_steps"], 2);
  EXPECT_EQ(j["guidance"], 3.0);
  EXPECT_EQ(j["dtype"], "fp32");
  ASSERT_EQ(j["run_seconds_all"].size(), 2u);  // the warm-up call is not among them
  const double median = j["run_seconds_median"];
  EXPECT_GT(median, 0);
  EXPECT_NEAR(j["images_per_second"].get<double>(), 3 / median, 1e-9);
  EXPECT_GE(j["run_seconds_max"].get<double>(), j["run_seconds_min"].get<double>());

  // Without --inference-steps / --guidance / --size: the family's defaults and the model's size.
  const auto fam = find_family("sd15");
  ASSERT_NE(fam, nullptr);
  const auto out2 = (d / "defaults.json").string();
  r = run_catimage("--threads 1 bench --pipeline " + tiny_model("tiny-sd1") + " --runs 1 --warmup 0 --json " + out2);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto k = json::parse(slurp(out2));
  EXPECT_EQ(k["inference_steps"], fam->default_steps);
  EXPECT_EQ(k["guidance"].get<double>(), fam->default_guidance);
  EXPECT_EQ(k["run_seconds_all"].size(), 1u);
}

TEST(BenchCli, PipelineOptionsAndStepOptionsDoNotMix) {
  const auto model = tiny_model("tiny-sd1");
  const std::vector<std::string> mixed = {
      "bench --pipeline " + model + " --arch sd15", "bench --pipeline " + model + " --cfg",
      "bench --pipeline " + model + " --steps 3", "bench --arch sd15 --runs 3", "bench --inference-steps 2"};
  for (const auto& args : mixed) {
    SCOPED_TRACE(args);
    const auto r = run_catimage(args);
    EXPECT_EQ(r.code, 2) << r.err;
  }
  const auto missing = run_catimage("bench --pipeline /nonexistent-folder");
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(contains(missing.err, "/nonexistent-folder")) << missing.err;
  // --prompts: a file of the user's; one that cannot be read is refused naming it
  const auto d = temp_dir();
  const auto mine = write(d / "mine.txt", "a red cube\ntwo dogs at dusk\n");
  const auto ok = run_catimage("--threads 1 bench --pipeline " + model + " --prompts " + mine +
                               " --size 64 --inference-steps 1 --runs 1 --warmup 0 --dtype fp32");
  EXPECT_EQ(ok.code, 0) << ok.err;
  const auto none = run_catimage("bench --pipeline " + model + " --prompts " + (d / "none.txt").string());
  EXPECT_EQ(none.code, 2);
  EXPECT_TRUE(contains(none.err, "none.txt")) << none.err;
}

// fp16 files hold the fp32 draw rounded (the same seed gives the same model whatever is stored),
// and a pipeline loads them.
TEST(BenchCli, RandomWeightsInHalfPrecisionAreTheFp32DrawRounded) {
  const auto d = temp_dir();
  for (const char* dt : {"fp32", "fp16"}) {
    fs::copy(fixture("tiny-sd1"), d / dt, fs::copy_options::recursive);
    const auto r = run_catimage(std::string("-q random-weights ") + (d / dt).string() + " --seed 3 --dtype " + dt);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  for (const char* comp : {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"}) {
    SCOPED_TRACE(comp);
    SafeTensorsFile full((d / "fp32" / comp).string()), half((d / "fp16" / comp).string());
    ASSERT_EQ(full.tensors().size(), half.tensors().size());
    const auto wf = WeightFiles::file((d / "fp32" / comp).string()),
               wh = WeightFiles::file((d / "fp16" / comp).string());
    for (const auto& [name, info] : half.tensors()) {
      EXPECT_EQ(info.dtype, DType::F16) << name;
      ASSERT_EQ(full.info(name).dtype, DType::F32) << name;
    }
    const auto& name = half.tensors().begin()->first;
    const auto a = wf.get(name), b = wh.get(name, torch::kFloat16);
    EXPECT_TRUE(torch::equal(a.to(torch::kFloat16), b)) << name;
  }
  const auto out = (d / "p.json").string();
  const auto r = run_catimage("--threads 1 bench --pipeline " + (d / "fp16").string() +
                              " --size 64 --inference-steps 1 --runs 1 --warmup 0 --dtype fp32 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(slurp(out))["dtype"], "fp32");  // fp16 files, computed in fp32
  const auto bad = run_catimage("random-weights " + (d / "fp16").string() + " --dtype fp8");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.err, "fp8")) << bad.err;
}

// --profile: a Kineto trace of more steps after the timed ones where libtorch has Kineto (PyTorch's
// libtorch, the GPU build), and a clear refusal before any work where it has not (Debian's 1.13).
TEST(BenchCli, ProfileWritesAKinetoTraceOrSaysThisLibtorchCannot) {
  const auto d = temp_dir();
  const auto trace = d / "trace.json", out = d / "bench.json";
  const auto r =
      run_catimage("--threads 1 bench --arch " + fixture("tiny-sd1/unet") +
                   " --size 64 --steps 1 --warmup 0 --profile " + trace.string() + " --json " + out.string());
  if (r.code == 0) {
    const auto t = json::parse(slurp(trace));
    bool has_op = false;
    for (const auto& e : t["traceEvents"])
      has_op = has_op || (e.value("cat", "") == "cpu_op" && e.value("name", "").rfind("aten::", 0) == 0);
    EXPECT_TRUE(has_op) << "no aten:: operator in the trace";
    const auto j = json::parse(slurp(out));
    EXPECT_EQ(j["profile"], trace.string());
    EXPECT_EQ(j["profile_calls"], 2);
  } else {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "--profile: this libtorch cannot write a trace")) << r.err;
    EXPECT_FALSE(fs::exists(trace));
    EXPECT_FALSE(fs::exists(out));  // refused before any work
  }
  EXPECT_EQ(run_catimage("bench --profile-calls 3").code, 2);  // needs --profile
}

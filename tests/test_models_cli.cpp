// `catimage models` (batch/model_report) and the shipped configs/default.json, whose candidates
// name their models by Hugging Face repo id: with those repos in a hub cache (tiny stand-ins laid
// out as the repos are), the unedited default config routes and generates, and `models` reports
// every candidate; a repo missing from the cache makes its candidate one that cannot run here.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/safetensors.hpp"
#include "hub_cache.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

// The repos configs/default.json names, each with its tiny stand-in.
void put_default_repos(HubCache& hub) {
  hub.put("stabilityai/sd-turbo", tiny_model("tiny-sd2"));
  hub.put("stabilityai/sdxl-turbo", tiny_model("tiny-sdxl"));
  hub.put("stable-diffusion-v1-5/stable-diffusion-v1-5", tiny_model("tiny-sd1"));
  hub.put("madebyollin/taesd", tiny_model("tiny-taesd"));
  hub.put("amused/amused-512", tiny_model("tiny-amused"));
}

struct Counted {
  std::int64_t parameters = 0;
  std::uintmax_t bytes = 0;
};

// Every tensor of the given safetensors files, and their sizes.
Counted count(const std::vector<fs::path>& files) {
  Counted c;
  for (const auto& f : files) {
    const SafeTensorsFile file(f.string());
    for (const auto& [name, info] : file.tensors()) c.parameters += info.numel();
    c.bytes += fs::file_size(f);
  }
  return c;
}

const json* find_candidate(const json& report, const std::string& name) {
  for (const auto& c : report["candidates"])
    if (c["candidate"] == name) return &c;
  return nullptr;
}

}  // namespace

TEST(ModelsCli, TheShippedDefaultConfigRunsFromTheHubCache) {
  const fs::path d = temp_dir();
  HubCache hub(d / "hub");
  put_default_repos(hub);
  // `models` with the shipped default (no -c): every candidate resolves in the cache
  auto r = run_catimage("models --device cpu --dtype fp32 --json");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const json report = json::parse(r.out);
  ASSERT_EQ(report["candidates"].size(), 4u);
  for (const auto& c : report["candidates"]) {
    EXPECT_TRUE(c["runs"].get<bool>()) << c.dump();
    EXPECT_EQ(c["dtype"], "fp32") << c.dump();
    EXPECT_TRUE(contains(c["references"][0]["path"].get<std::string>(), hub.root().string())) << c.dump();
  }
  // TAESD: SD 1.5's text encoder and UNet, and the TAESD decoder in place of its VAE
  const json* taesd = find_candidate(report, "TAESD");
  ASSERT_TRUE(taesd);
  EXPECT_EQ((*taesd)["family"], "sd15");
  EXPECT_EQ((*taesd)["references"][1]["role"], "vae");
  EXPECT_EQ((*taesd)["references"][1]["written"], "madebyollin/taesd");
  const fs::path sd1 = tiny_model("tiny-sd1"), vae = tiny_model("tiny-taesd");
  const Counted want =
      count({sd1 / "text_encoder" / "model.safetensors", sd1 / "unet" / "diffusion_pytorch_model.safetensors",
             vae / "diffusion_pytorch_model.safetensors"});
  EXPECT_EQ((*taesd)["parameters"].get<std::int64_t>(), want.parameters);
  EXPECT_EQ((*taesd)["bytes"].get<std::uintmax_t>(), want.bytes);
  // the table names each candidate and what its references resolved to
  r = run_catimage("models --device cpu");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "TAESD: vae madebyollin/taesd -> " + hub.root().string())) << r.out;
  EXPECT_TRUE(contains(r.out, "4 of 4 candidates can run here")) << r.out;
  // route --generate with the unedited shipped default config (size and steps from the command
  // line: the candidates' 512x512 takes minutes with the tiny stand-ins on a CPU)
  const auto prompts = write(d / "p.txt", "a red cube on a table\na portrait of an old sailor, oil painting\n");
  r = run_catimage("-q route " + prompts + " --generate --device cpu --width 64 --height 64 --steps 1 --out " +
                   (d / "out").string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t images = 0;
  std::istringstream manifest(slurp(d / "out" / "manifest.jsonl"));
  for (std::string line; std::getline(manifest, line);) {
    const json m = json::parse(line);
    EXPECT_TRUE(fs::exists(d / "out" / m["file"].get<std::string>())) << line;
    EXPECT_EQ(m["width"], 64) << line;
    ++images;
  }
  EXPECT_EQ(images, 2u);
}

// One candidate that resolves (a single-file checkpoint with its configs and a LoRA) and one
// whose repo is not in the cache: exit 1, the table lists the one that runs and says why the
// other cannot, with the download command.
TEST(ModelsCli, ACandidateThatCannotRunExitsOneNamingTheDownload) {
  const fs::path d = temp_dir();
  const HubCache hub(d / "hub");  // empty
  const std::string file = fixture("single-file/sd1.safetensors"), lora = fixture("lora/sd1-kohya.safetensors");
  json cfg = {{"candidates",
               {{{"name", "file"},
                 {"family", "sd15"},
                 {"weights", file},
                 {"config", fixture("single-file/sd1")},
                 {"lora", {{{"weights", lora}, {"scale", 0.5}}}},
                 {"cost", {{"value", 1}, {"unit", "seconds"}}}},
                {{"name", "absent"},
                 {"family", "sdxl"},
                 {"weights", "org/absent"},
                 {"cost", {{"value", 2}, {"unit", "seconds"}}}}}}};
  const std::string path = write(d / "cfg.json", cfg.dump());
  auto r = run_catimage("models -c " + path + " --device cpu --json");
  EXPECT_EQ(r.code, 1) << r.err;
  const json report = json::parse(r.out);
  const json* ok = find_candidate(report, "file");
  const json* absent = find_candidate(report, "absent");
  ASSERT_TRUE(ok && absent);
  EXPECT_TRUE((*ok)["runs"].get<bool>()) << ok->dump();
  EXPECT_EQ((*ok)["lora"][0]["weights"], lora);
  EXPECT_EQ((*ok)["lora"][0]["scale"], 0.5);
  EXPECT_EQ((*ok)["references"][1]["role"], "config");
  // the parameters of the pipeline the file was converted from; the file's bytes and the LoRA's
  const fs::path folder = d / "sd1";
  fs::copy(fixture("single-file/sd1"), folder, fs::copy_options::recursive);
  write_random_weights(folder.string(), 7);
  const Counted f =
      count({folder / "text_encoder" / "model.safetensors", folder / "unet" / "diffusion_pytorch_model.safetensors",
             folder / "vae" / "diffusion_pytorch_model.safetensors"});
  EXPECT_EQ((*ok)["parameters"].get<std::int64_t>(), f.parameters);
  EXPECT_EQ((*ok)["bytes"].get<std::uintmax_t>(), fs::file_size(file) + fs::file_size(lora));
  EXPECT_FALSE((*absent)["runs"].get<bool>());
  EXPECT_TRUE(contains((*absent)["why"].get<std::string>(), "huggingface-cli download org/absent")) << absent->dump();
  r = run_catimage("models -c " + path + " --device cpu");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.out, "absent: cannot run: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "`huggingface-cli download org/absent`")) << r.out;
  EXPECT_TRUE(contains(r.out, "1 of 2 candidates can run here")) << r.out;
  EXPECT_TRUE(contains(r.out, lora + ":0.5")) << r.out;
}

// Model references (io/model_ref): a local path, else a Hugging Face repo id org/name[@revision]
// resolved offline from the hub cache laid out as huggingface_hub lays it out (refs/, blobs/,
// snapshots/<commit>/ of relative symlinks into blobs/); a reference found nowhere is one error
// naming the places looked and the download command.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/hash.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

const std::string kCommitA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const std::string kCommitB = "0123456789abcdef0123456789abcdef01234567";
const std::string kCommitC = "fedcba9876543210fedcba9876543210fedcba98";

// Sets HF_HUB_CACHE / HF_HOME for one test and puts back what was there.
class HubEnv {
 public:
  HubEnv() {
    for (const char* k : {"HF_HUB_CACHE", "HF_HOME"})
      if (const char* v = std::getenv(k)) saved_[k == std::string("HF_HOME")] = v;
  }
  ~HubEnv() {
    const char* keys[] = {"HF_HUB_CACHE", "HF_HOME"};
    for (int i = 0; i < 2; ++i) {
      if (saved_[i])
        setenv(keys[i], saved_[i]->c_str(), 1);
      else
        unsetenv(keys[i]);
    }
  }
  void set(const char* k, const std::string& v) { setenv(k, v.c_str(), 1); }
  void unset(const char* k) { unsetenv(k); }

 private:
  std::optional<std::string> saved_[2];
};

// A snapshot of `model`'s files: each a relative symlink into the repo's blobs/.
void link_snapshot(const fs::path& repo, const std::string& commit, const fs::path& model) {
  const fs::path snap = repo / "snapshots" / commit;
  for (const auto& e : fs::recursive_directory_iterator(model)) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), model);
    const std::string bytes = slurp(e.path());
    const std::string blob = fnv1a128_hex(bytes) + fnv1a128_hex(rel.generic_string());
    fs::create_directories(repo / "blobs");
    if (!fs::exists(repo / "blobs" / blob)) write(repo / "blobs" / blob, bytes);
    fs::path up = "..";  // from snapshots/<commit>/<rel's folder> back to the repo
    for (auto it = rel.begin(); it != rel.end(); ++it) up /= "..";
    fs::create_directories((snap / rel).parent_path());
    fs::create_symlink(up / "blobs" / blob, snap / rel);
  }
}

// A hub cache holding org/tiny (the tiny SD1 model): refs/main -> A, refs/v1 -> B, and a
// snapshot C that no ref names.
fs::path make_cache(const fs::path& at) {
  const fs::path repo = at / "models--org--tiny";
  const fs::path model = tiny_model("tiny-sd1");
  for (const auto& c : {kCommitA, kCommitB, kCommitC}) link_snapshot(repo, c, model);
  fs::create_directories(repo / "refs");
  write(repo / "refs" / "main", kCommitA);  // huggingface_hub writes no newline
  write(repo / "refs" / "v1", kCommitB + "\n");
  return at;
}

}  // namespace

TEST(ModelRef, RepoIdShapes) {
  auto id = parse_repo_id("org/name@v1.0");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->org, "org");
  EXPECT_EQ(id->name, "name");
  EXPECT_EQ(id->revision, "v1.0");
  EXPECT_EQ(id->text(), "org/name@v1.0");
  EXPECT_TRUE(parse_repo_id("stabilityai/sd-turbo"));
  EXPECT_TRUE(parse_repo_id("a_b/C.d-e"));
  for (const char* no : {"name", "./org/name", "/org/name", "~/name", ".org/name", "org/.name", "org/", "/name",
                         "org/name@", "org/na me", "org/name@a b", "../x", "org/name/../x", "org/name//x",
                         "org/name/x/", "org/name/.hidden", "org/name/a b.safetensors"})
    EXPECT_FALSE(parse_repo_id(no)) << no;
  // a file or folder inside the repo
  id = parse_repo_id("stabilityai/sdxl-turbo@v2/unet/sd_xl_turbo_1.0_fp16.safetensors");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->name, "sdxl-turbo");
  EXPECT_EQ(id->revision, "v2");
  EXPECT_EQ(id->path, "unet/sd_xl_turbo_1.0_fp16.safetensors");
  EXPECT_EQ(id->text(), "stabilityai/sdxl-turbo@v2/unet/sd_xl_turbo_1.0_fp16.safetensors");
}

TEST(ModelRef, AFileInsideARepoResolvesInItsSnapshotAndNamesItsRepo) {
  HubEnv env;
  const fs::path cache = make_cache(temp_dir() / "hub");
  env.set("HF_HUB_CACHE", cache.string());
  const fs::path snaps = cache / "models--org--tiny" / "snapshots";
  EXPECT_EQ(resolve_model_ref("org/tiny/unet/config.json"), (snaps / kCommitA / "unet" / "config.json").string());
  EXPECT_EQ(resolve_model_ref("org/tiny@v1/unet"), (snaps / kCommitB / "unet").string());
  const std::string e = error_message([] { resolve_model_ref("org/tiny@v1/model.safetensors"); });
  EXPECT_TRUE(contains(e, "its snapshot " + (snaps / kCommitB).string() + " has no model.safetensors")) << e;
  EXPECT_TRUE(contains(e, "`huggingface-cli download org/tiny model.safetensors --revision v1`")) << e;
  // which repo a snapshot path belongs to (a single file takes its repo's shipped configs)
  const auto repo = snapshot_repo((snaps / kCommitA / "unet" / "config.json").string());
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->text(), "org/tiny");
  EXPECT_FALSE(snapshot_repo(tiny_model("tiny-sd1")));
}

TEST(ModelRef, RepoIdsResolveToTheirSnapshotInTheHubCache) {
  HubEnv env;
  const fs::path cache = make_cache(temp_dir() / "hub");
  env.set("HF_HUB_CACHE", cache.string());
  env.set("HF_HOME", "/nonexistent-hf-home");  // HF_HUB_CACHE comes first
  EXPECT_EQ(hub_cache_dir(), cache.string());
  const fs::path snaps = cache / "models--org--tiny" / "snapshots";
  EXPECT_EQ(resolve_model_ref("org/tiny"), (snaps / kCommitA).string());
  EXPECT_EQ(resolve_model_ref("org/tiny@main"), (snaps / kCommitA).string());
  EXPECT_EQ(resolve_model_ref("org/tiny@v1"), (snaps / kCommitB).string());
  EXPECT_EQ(resolve_model_ref("org/tiny@" + kCommitC), (snaps / kCommitC).string());  // no ref needed
  // the snapshot's symlinks read as the model's files
  EXPECT_EQ(slurp(snaps / kCommitA / "unet" / "config.json"), slurp(tiny_model("tiny-sd1") + "/unet/config.json"));
  EXPECT_TRUE(is_hub_ref("org/tiny"));
  EXPECT_FALSE(is_hub_ref("weights-folder"));
}

TEST(ModelRef, HfHomeIsTheFallbackOfHfHubCache) {
  HubEnv env;
  const fs::path home = temp_dir();
  make_cache(home / "hub");
  env.unset("HF_HUB_CACHE");
  env.set("HF_HOME", home.string());
  EXPECT_EQ(hub_cache_dir(), (home / "hub").string());
  EXPECT_EQ(resolve_model_ref("org/tiny@v1"), (home / "hub" / "models--org--tiny" / "snapshots" / kCommitB).string());
}

TEST(ModelRef, AMissingModelIsOneErrorNamingThePlacesLookedAndTheDownloadCommand) {
  HubEnv env;
  const fs::path cache = make_cache(temp_dir() / "hub");
  env.set("HF_HUB_CACHE", cache.string());
  std::string e = error_message([] { resolve_model_ref("org/missing"); });
  EXPECT_TRUE(contains(e, "no local path org/missing")) << e;
  EXPECT_TRUE(contains(e, "no refs/main in " + (cache / "models--org--missing").string())) << e;
  EXPECT_TRUE(contains(e, "catimage never downloads: run `huggingface-cli download org/missing`")) << e;
  e = error_message([] { resolve_model_ref("org/tiny@v9"); });
  EXPECT_TRUE(contains(e, "no refs/v9 in " + (cache / "models--org--tiny").string())) << e;
  EXPECT_TRUE(contains(e, "`huggingface-cli download org/tiny --revision v9`")) << e;
  const std::string other(40, 'e');
  e = error_message([&] { resolve_model_ref("org/tiny@" + other); });
  EXPECT_TRUE(contains(e, "no snapshot folder " + (cache / "models--org--tiny" / "snapshots" / other).string())) << e;
  EXPECT_TRUE(contains(e, "--revision " + other)) << e;
  write(cache / "models--org--tiny" / "refs" / "bad", "not-a-commit");
  e = error_message([] { resolve_model_ref("org/tiny@bad"); });
  EXPECT_TRUE(contains(e, "holds \"not-a-commit\", not a 40-hex commit")) << e;
  // what is not repo-id shaped is a local path whatever exists: the folder checks report it
  EXPECT_EQ(resolve_model_ref("./org/missing"), "./org/missing");
}

TEST(ModelRef, ALocalPathWinsOverASameNamedRepoId) {
  HubEnv env;
  env.set("HF_HUB_CACHE", make_cache(temp_dir() / "hub").string());
  const fs::path base = temp_dir();
  fs::create_directories(base / "org" / "tiny");
  EXPECT_EQ(resolve_model_ref("org/tiny", base.string()), (base / "org" / "tiny").string());
  // a config keeps a path that exists (against its folder), and a repo id that does not as written
  const json j = json::parse(R"({"candidates": [
      {"name": "a", "family": "sd15", "weights": "org/tiny", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "b", "family": "sd15", "weights": "org/other@v2", "vae": "org/tiny", "cost": {"value": 1, "unit": "seconds"}}]})");
  const CandidateSet cs = parse_candidates(j, "cfg.json", base.string());
  EXPECT_EQ(*cs.candidates[0].weights, (base / "org" / "tiny").string());
  EXPECT_EQ(*cs.candidates[1].weights, "org/other@v2");
  EXPECT_EQ(*cs.candidates[1].vae, (base / "org" / "tiny").string());
}

TEST(ModelRef, AConfigNamesRepoIdsLazilyAndPlanSaysWhyOneCannotRun) {
  HubEnv env;
  const fs::path cache = make_cache(temp_dir() / "hub");
  env.set("HF_HUB_CACHE", cache.string());
  const json j = json::parse(R"({"candidates": [
      {"name": "here", "family": "sd15", "weights": "org/tiny@v1", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "gone", "family": "sd15", "weights": "org/missing", "cost": {"value": 1, "unit": "seconds"}}]})");
  const CandidateSet cs = parse_candidates(j, "cfg.json", temp_dir().string());  // no model is looked for yet
  GenerationOverrides o;
  o.device = "cpu";
  const GenerationPlan here = plan(cs.candidates[0], o, "cfg.json");
  ASSERT_TRUE(here.runs()) << here.reason;
  EXPECT_EQ(here.pipeline.folder, (cache / "models--org--tiny" / "snapshots" / kCommitB).string());
  const GenerationPlan gone = plan(cs.candidates[1], o, "cfg.json");
  EXPECT_EQ(gone.verdict, GenerationPlan::Verdict::cannot_run_here);
  EXPECT_TRUE(contains(gone.reason, "cfg.json: candidate \"gone\": model org/missing: no local path org/missing"))
      << gone.reason;
  EXPECT_TRUE(contains(gone.why, "huggingface-cli download org/missing")) << gone.why;
}

TEST(ModelRef, GenerateFromARepoIdWritesThePngOfThePlainFolder) {
  HubEnv env;
  const fs::path d = temp_dir();
  const fs::path cache = make_cache(d / "hub");
  env.set("HF_HUB_CACHE", cache.string());  // the child catimage inherits it
  const fs::path plain = d / "tiny";        // the candidate's name is the folder's / the repo's name
  fs::copy(tiny_model("tiny-sd1"), plain, fs::copy_options::recursive);
  const auto prompts = write(d / "p.txt", "a red cube\n");
  auto r = run_catimage("generate --model " + plain.string() + " " + prompts + " --steps 1 --device cpu --out " +
                        (d / "plain").string());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_catimage("generate --model org/tiny " + prompts + " --steps 1 --device cpu --out " +
                   (d / "hub-out").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string png = slurp(d / "hub-out" / "1.png");
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png, slurp(d / "plain" / "1.png"));
  // not in the cache: exit 2 with the one error, before any work
  r = run_catimage("generate --model org/missing " + prompts + " --out " + (d / "none").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "huggingface-cli download org/missing")) << r.err;
  EXPECT_FALSE(fs::exists(d / "none"));
}

TEST(ModelRef, LoraFileReferencesNameTheRepoFile) {
  HubEnv env;
  const fs::path cache = temp_dir();
  env.set("HF_HUB_CACHE", cache.string());
  const std::string commit = kCommitA;
  auto repo = [&](const std::string& name, const std::vector<std::string>& files) {
    const fs::path r = cache / ("models--org--" + name);
    fs::create_directories(r / "refs");
    write(r / "refs" / "main", commit);
    for (const auto& f : files) {
      fs::create_directories((r / "snapshots" / commit / f).parent_path());
      write(r / "snapshots" / commit / f, "x");
    }
    return (r / "snapshots" / commit).string();
  };
  const std::string lcm = repo("lcm", {"pytorch_lora_weights.safetensors", "other.safetensors"});
  const std::string one = repo("one", {"only.safetensors", "README.md"});
  const std::string many = repo("many", {"a_lora.safetensors", "b_lora.safetensors", "unet/x.safetensors"});
  const std::string def = "pytorch_lora_weights.safetensors";  // diffusion/generation_plan kLoraDefaultFile
  EXPECT_EQ(resolve_file_ref("org/lcm", "", "LoRA", def), lcm + "/pytorch_lora_weights.safetensors");
  EXPECT_EQ(resolve_file_ref("org/one", "", "LoRA", def), one + "/only.safetensors");
  EXPECT_EQ(resolve_file_ref("org/many/b_lora.safetensors", "", "LoRA", def), many + "/b_lora.safetensors");
  EXPECT_EQ(resolve_file_ref("org/many@main/unet/x.safetensors", "", "LoRA", def), many + "/unet/x.safetensors");
  std::string e = error_message([&] { resolve_file_ref("org/many", "", "LoRA", def); });
  EXPECT_TRUE(contains(e,
                       "holds the .safetensors files a_lora.safetensors, b_lora.safetensors and no "
                       "pytorch_lora_weights.safetensors; name the file as org/many/FILE"))
      << e;
  e = error_message([&] { resolve_file_ref("org/many/c.safetensors", "", "LoRA", def); });
  EXPECT_TRUE(contains(e,
                       "has no file c.safetensors; catimage never downloads: run `huggingface-cli download "
                       "org/many c.safetensors`"))
      << e;
  e = error_message([&] { resolve_file_ref("org/absent/f.safetensors", "", "LoRA", def); });
  EXPECT_TRUE(contains(e, "LoRA org/absent/f.safetensors: no local path")) << e;
  EXPECT_TRUE(parse_repo_id("org/x@v1/dir/y.safetensors"));  // the reference shapes of ModelRef.RepoIdShapes
}

// catimage generate: run one candidate (or a model folder) on every prompt and write PNGs.
#include <filesystem>

#include "catimage/batch/generation_job.hpp"
#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/generation_options.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

namespace {

struct GenerateOptions {
  std::string config, candidate, model, vae, scheduler;
  GenerationJobOptions job;
  PromptInput input;
};

int run(GenerateOptions& o) {
  CandidateSet cs;
  int k = 0;
  if (!o.model.empty()) {
    // An ad-hoc candidate for a model folder.
    // Its family follows the folder's pipeline class (model_index.json).
    // A local folder or a Hugging Face repo id (its snapshot in the hub cache).
    const std::string folder = resolve_model_ref(o.model);
    const std::string vae = o.vae.empty() ? "" : resolve_model_ref(o.vae);
    const FamilyEntry& family = folder_family(read_model_index(
        folder, "a diffusers pipeline folder (model_index.json naming its pipeline class, a subfolder per component)"));
    Candidate c;
    c.name = fs::path(o.model).filename().string();  // a repo id's name, not its snapshot's commit
    if (c.name.empty()) c.name = fs::path(o.model).parent_path().filename().string();
    c.family = family.name;
    c.weights = folder;
    if (!vae.empty()) c.vae = vae;
    if (!o.scheduler.empty()) c.scheduler = o.scheduler;
    cs.source = "--model " + o.model;
    cs.candidates.push_back(c);
  } else {
    if (o.candidate.empty()) fail("give --candidate NAME (from the config) or --model FOLDER");
    if (!o.vae.empty() || !o.scheduler.empty())
      fail("--vae and --scheduler go with --model; set them in the config for a candidate");
    cs = load_config(o.config);
    k = cs.index(o.candidate);
    if (k < 0)
      fail("--candidate \"{}\" is not in {} (candidates: {})", o.candidate, cs.source, fmt::join(cs.names(), ", "));
  }
  PromptFile pf = read_prompt_input(o.input);
  run_generation(cs, generation_items(pf, std::vector<int>(pf.prompts.size(), k), o.job.seed), o.job);
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  auto* c = app.add_subcommand("generate", "Generate images for every prompt with one candidate or model folder");
  add_prompt_input(c, o->input);
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  auto* cand = c->add_option("--candidate", o->candidate, "Candidate to run (its \"weights\" folder must be set)");
  auto* model = c->add_option("--model", o->model, "A diffusers pipeline folder to run directly, of any family (its model_index.json names the pipeline), or a Hugging Face repo id org/name[@revision] in the local hub cache");
  cand->excludes(model);
  c->add_option("--vae", o->vae, "With --model: decoder override (folder, .safetensors or a repo id, e.g. TAESD)");
  c->add_option("--scheduler", o->scheduler,
                "With --model: a sampler as A1111 or ComfyUI name it (\"DPM++ 2M Karras\", \"euler_ancestral "
                "sgm_uniform\"), replacing the folder's: " +
                    sampler_names_help());
  add_generation_options(c, o->job);
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

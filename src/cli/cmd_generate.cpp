// catimage generate: run one candidate (or a model folder) on every prompt and write PNGs.
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "catimage/batch/generation_job.hpp"
#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/loaders/shipped_configs.hpp"
#include "catimage/diffusion/pipeline_options.hpp"
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
  std::string config, candidate, model, model_config, vae, scheduler;
  std::vector<std::string> lora;  // REF[:SCALE]
  GenerationJobOptions job;
  PromptInput input;
};

// --lora REF[:SCALE]: the scale after the last ':' (default 1).
LoraRef parse_lora_option(const std::string& text) {
  LoraRef r{text, 1.0};
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return r;
  const std::string scale = text.substr(colon + 1);
  char* end = nullptr;
  const double v = std::strtod(scale.c_str(), &end);
  if (scale.empty() || end != scale.c_str() + scale.size() || !std::isfinite(v))
    fail("--lora {}: \"{}\" after the last ':' is not a finite number (give REF or REF:SCALE)", text, scale);
  r.weights = text.substr(0, colon);
  r.scale = v;
  if (r.weights.empty()) fail("--lora {}: no LoRA before the scale (give REF or REF:SCALE)", text);
  return r;
}

int run(GenerateOptions& o) {
  CandidateSet cs;
  int k = 0;
  if (!o.model.empty()) {
    // An ad-hoc candidate for a model folder or single-file checkpoint.
    // Its family follows the folder's pipeline class (model_index.json), or the file's layout.
    // A local path or a Hugging Face repo id (its snapshot in the hub cache, or a file in it).
    PipelineOptions model;
    model.folder = resolve_model_ref(o.model);
    model.config = o.model_config;
    const std::string vae = o.vae.empty() ? "" : resolve_model_ref(o.vae);
    const FamilyEntry& family = model_family(
        model,
        "a diffusers pipeline folder (model_index.json naming its pipeline class, a subfolder per component) "
        "or a single-file .safetensors checkpoint");
    Candidate c;
    c.name = fs::path(o.model).filename().string();  // a repo id's name, not its snapshot's commit
    if (c.name.empty()) c.name = fs::path(o.model).parent_path().filename().string();
    if (fs::path(c.name).extension() == ".safetensors") c.name = fs::path(c.name).stem().string();  // a single file
    c.family = family.name;
    c.weights = model.folder;
    if (!o.model_config.empty()) c.config = o.model_config;
    if (!vae.empty()) c.vae = vae;
    if (!o.scheduler.empty()) c.scheduler = o.scheduler;
    cs.source = "--model " + o.model;
    cs.candidates.push_back(c);
  } else {
    if (o.candidate.empty()) fail("give --candidate NAME (from the config) or --model FOLDER");
    if (!o.vae.empty() || !o.scheduler.empty() || !o.model_config.empty())
      fail("--vae, --scheduler and --model-config go with --model; set them in the config for a candidate");
    cs = load_config(o.config);
    k = cs.index(o.candidate);
    if (k < 0)
      fail("--candidate \"{}\" is not in {} (candidates: {})", o.candidate, cs.source, fmt::join(cs.names(), ", "));
  }
  for (const auto& l : o.lora) cs.candidates[k].lora.push_back(parse_lora_option(l));  // after the candidate's own
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
  auto* model = c->add_option("--model", o->model,
                              "A diffusers pipeline folder to run directly, of any family (its model_index.json names "
                              "the pipeline), a single-file .safetensors checkpoint (SD 1.x, 2.x, SDXL), or a Hugging "
                              "Face repo id org/name[@revision][/file] in the local hub cache");
  cand->excludes(model);
  c->add_option("--model-config", o->model_config,
                "With a single-file --model: its pipeline configs, a shipped set (" + shipped_config_names() +
                    ", or the repo id each mirrors) or a folder (default: chosen from the file's keys)");
  c->add_option("--vae", o->vae, "With --model: decoder override (folder, .safetensors or a repo id, e.g. TAESD)");
  c->add_option("--scheduler", o->scheduler,
                "With --model: a sampler as A1111 or ComfyUI name it (\"DPM++ 2M Karras\", \"euler_ancestral "
                "sgm_uniform\"), replacing the folder's: " +
                    sampler_names_help());
  c->add_option("--lora", o->lora,
                "LoRA merged into the weights at load, REF[:SCALE] (default scale 1; repeat for several; with "
                "--candidate, after the candidate's own): a .safetensors file, or org/name[@revision][/FILE] in the "
                "hub cache (no FILE: pytorch_lora_weights.safetensors, else the repo's only .safetensors)")
      ->allow_extra_args(false)
      ->take_all();
  add_generation_options(c, o->job);
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

// catimage generate: run one candidate (or a model folder) on every prompt and write PNGs.
#include <filesystem>

#include "catimage/cli/commands.hpp"
#include "catimage/cli/common.hpp"
#include "catimage/cli/generation_job.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

void add_generation_options(CLI::App* c, GenerationJobOptions& o) {
  c->add_option("--out", o.out_dir, "Output folder for PNGs and the manifest (default: images)");
  c->add_option("--seed", o.seed, "Base seed: each image's seed is this plus the prompt's index in the file (default 0)");
  c->add_option("--batch", o.batch, "Images per forward pass (halved automatically on GPU out-of-memory)")
      ->check(CLI::PositiveNumber);
  c->add_option("--negative", o.negative_prompt, "Negative prompt for every image");
  c->add_option("--steps", o.steps, "Override the candidate's number of steps")->check(CLI::PositiveNumber);
  c->add_option("--guidance", o.guidance, "Override the candidate's CFG scale (<= 1: no guidance)");
  c->add_option("--width", o.width, "Override the image width")->check(CLI::PositiveNumber);
  c->add_option("--height", o.height, "Override the image height")->check(CLI::PositiveNumber);
  c->add_option("--device", o.device, "auto (CUDA if available), cpu, cuda or cuda:N");
  c->add_option("--dtype", o.dtype, "auto (fp16 on CUDA, fp32 on CPU), fp32, fp16 or bf16");
  c->add_flag("--channels-last", o.channels_last, "Channels-last UNet on CUDA");
  c->add_option("--shard", o.shard, "Do only prompts with index % N == K (K/N; Slurm arrays: "
                                  "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); each shard has its own manifest");
}

namespace {

struct GenerateOptions {
  std::string prompts, config, candidate, model, vae, scheduler;
  GenerationJobOptions job;
  std::size_t max_prompt_bytes = 16384;
  bool strict = false;
};

int run(GenerateOptions& o) {
  CandidateSet cs;
  int k = 0;
  if (!o.model.empty()) {
    // An ad-hoc candidate for a model folder.
    auto f = inspect_pipeline_folder(o.model, o.vae);
    Candidate c;
    c.name = fs::path(o.model).filename().string();
    if (c.name.empty()) c.name = fs::path(o.model).parent_path().filename().string();
    c.family = f.sdxl ? "sdxl" : "sd15";
    c.weights = o.model;
    if (!o.vae.empty()) c.vae = o.vae;
    if (!o.scheduler.empty()) c.scheduler = o.scheduler;
    cs.source = "--model " + o.model;
    cs.candidates.push_back(c);
  } else {
    if (o.candidate.empty()) fail("give --candidate NAME (from the config) or --model FOLDER");
    if (!o.vae.empty() || !o.scheduler.empty()) fail("--vae and --scheduler go with --model; set them in the config for a candidate");
    cs = load_config_or_default(o.config);
    k = cs.index(o.candidate);
    if (k < 0) fail("--candidate \"{}\" is not in {} (candidates: {})", o.candidate, cs.source, fmt::join(cs.names(), ", "));
  }
  PromptReadOptions ro;
  ro.max_bytes = o.max_prompt_bytes;
  ro.strict = o.strict;
  PromptFile pf = read_prompts(o.prompts, ro);
  report_skipped(pf);
  run_generation(cs, generation_items(pf, std::vector<int>(pf.prompts.size(), k)), o.job);
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  auto* c = app.add_subcommand("generate", "Generate images for every prompt with one candidate or model folder");
  c->add_option("prompts", o->prompts, "Prompt file: .txt (one per line), .jsonl or .csv with a \"prompt\" field; - for stdin")
      ->required();
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  auto* cand = c->add_option("--candidate", o->candidate, "Candidate to run (its \"weights\" folder must be set)");
  auto* model = c->add_option("--model", o->model, "A diffusers pipeline folder to run directly");
  cand->excludes(model);
  c->add_option("--vae", o->vae, "With --model: decoder override (folder or .safetensors, e.g. TAESD)");
  c->add_option("--scheduler", o->scheduler, "With --model: ddim, euler, euler_ancestral, dpmpp_2m or lcm");
  c->add_option("--max-prompt-bytes", o->max_prompt_bytes, "Longer prompts are skipped (and reported)")
      ->check(CLI::PositiveNumber);
  c->add_flag("--strict", o->strict, "Fail on the first unusable prompt line instead of skipping it");
  add_generation_options(c, o->job);
  return [o] { return run(*o); };
}

}  // namespace catimage::cli

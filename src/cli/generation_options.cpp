// Options shared by `generate` and `route --generate`.
#include "cli/generation_options.hpp"

#include "cli/common.hpp"

namespace catimage::cli {

void add_generation_options(CLI::App* c, GenerationJobOptions& o) {
  c->add_option("--out", o.out_dir, "Output folder for PNGs and the manifest (default: images)");
  c->add_option("--seed", o.seed,
                "Base seed (default 0): an image's seed is the prompt's own \"seed\" if the file gives one, else this "
                "plus its id (a text file's line number; other ids: plus their hash)")->check(kSeed);
  c->add_option("--batch", o.batch, "Images per forward pass (halved automatically on GPU out-of-memory)")
      ->check(at_least(1));
  c->add_option("--negative", o.negative_prompt, "Negative prompt for every image");
  c->add_option("--steps", o.steps, "Override the candidate's number of steps")->check(at_least(1));
  c->add_option("--guidance", o.guidance, "Override the candidate's CFG scale (<= 1: no guidance)")->check(kFinite);
  c->add_option("--width", o.width, "Override the image width")->check(at_least(1));
  c->add_option("--height", o.height, "Override the image height")->check(at_least(1));
  c->add_option("--device", o.device, "auto (CUDA if available), cpu, cuda or cuda:N");
  c->add_option("--dtype", o.dtype, "auto (fp16 on CUDA; on the CPU bf16 where it has AVX512-BF16 or AMX-BF16, except aMUSEd, else fp32; CATIMAGE_CPU_BF16=0/1 forces fp32/bf16), fp32, fp16 or bf16");
  c->add_flag("--channels-last", o.channels_last, "Channels-last UNet on CUDA");
  c->add_option_function<std::string>(
      "--shard", [&o](const std::string& text) { o.shard = Shard::parse(text); },
      "Do only prompts with index % N == K (K/N; Slurm arrays: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); each "
      "shard has its own manifest");
}

}  // namespace catimage::cli

#pragma once
// Model references: how a model is named wherever one is (a candidate's "weights" and "vae",
// generate --model / --vae, the --scorer folder). In this order:
//   1. a local path (a diffusers folder, a transformers folder or a .safetensors file);
//   2. a Hugging Face repo id `org/name[@revision]`, resolved offline from the local hub cache:
//      $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
//      ~/.cache/huggingface/hub; its folder models--org--name holds refs/<revision> (the
//      40-hex commit; revision "main" by default; a 40-hex revision is the commit itself) and
//      snapshots/<commit>/, whose files are symlinks into blobs/ and read as ordinary files;
//      `org/name[@revision]/path/in/repo` names a file or folder inside that snapshot (a
//      single-file checkpoint such as stabilityai/sd-turbo/sd_turbo.safetensors).
// catimage never downloads: a reference found nowhere is one Error naming every place looked
// and the `huggingface-cli download` command that fetches it.
#include <optional>
#include <string>
#include <vector>

namespace catimage {

struct RepoId {
  std::string org, name;
  std::string revision;  // "" : main
  std::string path;      // "" : the repo's snapshot; else a file or folder in it ("unet/x.safetensors")

  std::string text() const;  // org/name[@revision][/path]
};

// `text` as a repo id: org and name of [A-Za-z0-9._-] not starting with '.' or '-', an
// optional "@revision" of the same characters, then optionally "/" and a path of such segments.
// nullopt for anything else.
std::optional<RepoId> parse_repo_id(const std::string& text);

// The repo whose hub-cache snapshot holds `path` (.../models--org--name/snapshots/<commit>/...),
// without revision or path; nullopt when `path` is not inside a snapshot.
std::optional<RepoId> snapshot_repo(const std::string& path);

// The hub cache folder the environment names (see above).
std::string hub_cache_dir();

// `ref` as a local path (relative ones against `base_dir` when it is given) if one exists
// there; else, if it is repo-id shaped, its hub snapshot (or an Error naming the local path
// tried, the cache place tried and the download command); else the local path, whose absence
// the caller's folder checks report.
std::string resolve_model_ref(const std::string& ref, const std::string& base_dir = "");

// Whether `ref` is a repo id still to be resolved: repo-id shaped and not an existing path.
bool is_hub_ref(const std::string& ref);

// A weights FILE named like a model (a LoRA's "weights", e.g.
// `ByteDance/SDXL-Lightning/sdxl_lightning_4step_lora.safetensors`): a local path (relative ones
// against `base_dir`) if one exists; else, if `ref` is `org/name[@revision][/path]`, that file of
// the repo's hub snapshot; without a path, the snapshot's `default_file` when it holds one, else its
// only top-level .safetensors (diffusers' weight-name guess without the network). Errors (exit 2)
// name `what`, the local path, the cache place and the `huggingface-cli download` command, or
// the snapshot's .safetensors files to choose from. Else the local path, whose absence the
// caller reports.
std::string resolve_file_ref(const std::string& ref, const std::string& base_dir, const std::string& what,
                             const std::string& default_file);

// A folder holding `files` named like a model (a shipped config set's tokenizer:
// `openai/clip-vit-large-patch14`, `stabilityai/stable-diffusion-2-1/tokenizer`): a local folder
// if one exists at `ref`; else, if `ref` is `org/name[@revision][/folder]`, that folder of the
// repo's hub snapshot when it holds every one of `files`. Else one Error (exit 2) naming `what`,
// the local path and cache place looked at, what is missing, and the `huggingface-cli download`
// command that fetches just those files.
std::string resolve_repo_files(const std::string& ref, const std::vector<std::string>& files, const std::string& what);

}  // namespace catimage

#pragma once
// A diffusers model folder as users download it (`huggingface-cli download REPO --local-dir
// DIR`): model_index.json naming the pipeline class and its components, each component in a
// subfolder with its config (config.json, or scheduler_config.json) and safetensors weights.
// What every family's folder check shares (each family's pipeline checks its own components;
// diffusion/families chooses the family from the folder's class): reading model_index.json,
// checking its class, and listing every missing file in one error.
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct ModelIndex {
  std::string dir;
  std::string file;            // DIR/model_index.json
  std::string pipeline_class;  // its "_class_name"
  json index;                  // the whole file

  std::string path(const std::string& component) const;  // DIR/component
};

// Reads DIR/model_index.json. Fails naming the folder or the file: no such folder (saying it
// should be `expected`, e.g. from `huggingface-cli download EXAMPLE_REPO`, when given), no
// model_index.json, no string "_class_name".
ModelIndex read_model_index(const std::string& dir, const std::string& expected = "",
                            const std::string& example_repo = "");

// Fails naming model_index.json unless its class is one of `classes`; `what` is what the
// caller runs ("a PixArt pipeline").
void require_pipeline_class(const ModelIndex& mi, const std::vector<std::string>& classes, const std::string& what);

// What a folder lacks, collected so that one error lists every missing file with its path.
class MissingFiles {
 public:
  void file(const std::string& path);
  // COMPONENT_DIR/config.json and STEM's safetensors (single, sharded or fp16, see
  // io/weights); a pickled file in their place (.bin, .ckpt, ...) is named as never loaded.
  void weights(const std::string& component_dir, const std::string& stem);
  // Like weights() without the config.json, e.g. a decoder override folder.
  void weights_only(const std::string& component_dir, const std::string& stem);
  // Fails "model folder DIR is incomplete; missing: ..." when anything is missing.
  void check(const std::string& dir) const;

 private:
  std::vector<std::string> missing_;
};

}  // namespace catimage

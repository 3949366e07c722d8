#include "catimage/diffusion/model_folder.hpp"

#include <spdlog/fmt/ranges.h>

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string ModelIndex::path(const std::string& component) const { return (fs::path(dir) / component).string(); }

ModelIndex read_model_index(const std::string& dir, const std::string& expected, const std::string& example_repo) {
  std::error_code ec;  // a path the user gave: a symlink loop or no permission is an input error naming it
  if (!fs::is_directory(dir, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) fail("model folder {} cannot be read: {}", dir, ec.message());
    std::string should;
    if (!expected.empty()) should = "; it should be " + expected;
    if (!example_repo.empty())
      should += fmt::format(", e.g. from `huggingface-cli download {} --local-dir {}`", example_repo, dir);
    fail("model folder {} does not exist{}", dir, should);
  }
  ModelIndex mi;
  mi.dir = dir;
  mi.file = (fs::path(dir) / "model_index.json").string();
  if (!fs::is_regular_file(mi.file, ec)) fail("{}: no model_index.json; is this a diffusers pipeline folder?", dir);
  mi.index = read_json_file(mi.file);
  if (!mi.index.is_object() || !mi.index.contains("_class_name") || !mi.index["_class_name"].is_string())
    fail("{}: expected an object with \"_class_name\"", mi.file);
  mi.pipeline_class = mi.index["_class_name"].get<std::string>();
  return mi;
}

void require_pipeline_class(const ModelIndex& mi, const std::vector<std::string>& classes, const std::string& what) {
  for (const auto& c : classes)
    if (c == mi.pipeline_class) return;
  fail("{}: pipeline \"{}\" is not {} (expected {})", mi.file, mi.pipeline_class, what, fmt::join(classes, " or "));
}

void MissingFiles::file(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return;
  const bool unreadable = ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory;
  missing_.push_back(unreadable ? path + " (" + ec.message() + ")" : path);
}

void MissingFiles::weights(const std::string& component_dir, const std::string& stem) {
  file((fs::path(component_dir) / "config.json").string());
  weights_only(component_dir, stem);
}

void MissingFiles::weights_only(const std::string& component_dir, const std::string& stem) {
  if (WeightFiles::exists(component_dir, stem)) return;
  std::string entry = (fs::path(component_dir) / (stem + ".safetensors")).string();
  if (const auto pickled = WeightFiles::pickled_only(component_dir, stem); !pickled.empty())
    entry += fmt::format(" (only {} found: pickled weights are never loaded)", pickled);
  missing_.push_back(entry);
}

void MissingFiles::check(const std::string& dir) const {
  if (!missing_.empty()) fail("model folder {} is incomplete; missing: {}", dir, fmt::join(missing_, ", "));
}

}  // namespace catimage

#include <filesystem>

#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::unique_ptr<Predictor> load_predictor(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("{}: predictor folder not found", dir);
  auto mpath = (fs::path(dir) / "predictor.json").string();
  const json j = read_json_file(mpath);
  if (j.is_object() && j.contains("kind") && j["kind"] == "cascade-ridge")
    fail(
        "{}: a cascade predictor (kind \"cascade-ridge\", first {}) needs the first image's score: give it with "
        "--cascade-predictor, not as a prompt-only --predictor",
        mpath, j.value("first", std::string("?")));
  auto meta = meta_from_json(j, mpath);
  const auto& kind = predictor_kind(meta.kind, mpath);
  return kind.load(dir, std::move(meta));
}

}  // namespace catimage

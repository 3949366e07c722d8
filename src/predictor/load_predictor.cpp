#include <filesystem>

#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::unique_ptr<Predictor> load_predictor(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("{}: predictor folder not found", dir);
  auto mpath = (fs::path(dir) / "predictor.json").string();
  auto meta = meta_from_json(read_json_file(mpath), mpath);
  const auto& kind = predictor_kind(meta.kind, mpath);
  return kind.load(dir, std::move(meta));
}

}  // namespace catimage

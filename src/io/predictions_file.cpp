#include "catimage/io/predictions_file.hpp"

#include "catimage/util/strings.hpp"

namespace catimage {

PredictionsFile::PredictionsFile(const std::string& path) : table_(load_quality_table(path)) {
  for (std::size_t i = 0; i < table_.rows.size(); ++i) {
    ids_.emplace(table_.rows[i].id, i);
    prompts_.emplace(trim(table_.rows[i].prompt), i);
  }
}

const QualityRecord* PredictionsFile::by_id(const std::string& id) const {
  auto it = ids_.find(id);
  return it == ids_.end() ? nullptr : &table_.rows[it->second];
}

const QualityRecord* PredictionsFile::by_prompt(const std::string& prompt) const {
  auto it = prompts_.find(trim(prompt));
  return it == prompts_.end() ? nullptr : &table_.rows[it->second];
}

}  // namespace catimage

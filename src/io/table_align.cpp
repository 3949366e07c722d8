#include "catimage/io/table_align.hpp"

#include <map>

#include "catimage/util/error.hpp"

namespace catimage {

QualityTable aligned_to(const QualityTable& other, const QualityTable& primary) {
  const QualityTable o = other.reordered(primary.candidates);
  std::map<std::string, const QualityRecord*> by_id;
  for (const auto& row : o.rows) by_id[row.id] = &row;
  QualityTable out;
  out.source = o.source;
  out.content_hash = o.content_hash;
  out.candidates = o.candidates;
  out.rows.reserve(primary.rows.size());
  for (const auto& row : primary.rows) {
    auto it = by_id.find(row.id);
    if (it == by_id.end()) fail("{}: no row with id \"{}\" (of {})", o.source, row.id, primary.source);
    out.rows.push_back(*it->second);
  }
  return out;
}

}  // namespace catimage

#pragma once
// A table of block type name -> constructor, as diffusers' get_down_block / get_up_block
// dispatch on the config's block type names (internal to the UNet's block files).
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

template <class Block, class Options>
using BlockTable = std::vector<std::pair<std::string, std::function<std::shared_ptr<Block>(const Options&)>>>;

template <class Block, class Options>
std::vector<std::string> block_names(const BlockTable<Block, Options>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.first);
  return names;
}

// `what`: "down" or "up", for the error on an unknown type.
template <class Block, class Options>
std::shared_ptr<Block> make_block(const BlockTable<Block, Options>& table, const char* what, const std::string& type,
                                  const Options& o) {
  for (const auto& [name, make] : table)
    if (name == type) return make(o);
  fail("{} block type {} is not supported ({})", what, type, join(block_names(table), ", "));
}

}  // namespace catimage

#pragma once
// One share of a batch split across processes (Slurm job arrays): prompt i belongs to the
// shard with i % count == index.
#include <cstddef>
#include <string>

namespace catimage {

struct Shard {
  int index = 0, count = 1;

  // Parses "K/N" (0 <= K < N); errors name the option and show the Slurm form.
  static Shard parse(const std::string& text);
  bool owns(std::size_t item) const { return static_cast<int>(item % count) == index; }
  bool whole() const { return count == 1; }
};

}  // namespace catimage

#pragma once
// A progress bar with rate and ETA on stderr, drawn only when stderr is a terminal
// (and never in quiet mode); otherwise silent.
#include <chrono>
#include <cstddef>
#include <string>

namespace catimage {

class Progress {
 public:
  Progress(std::string label, std::size_t total, std::string unit = "it");
  ~Progress();
  void advance(std::size_t n = 1);
  void set_postfix(std::string s);
  void finish();
  static void set_enabled(bool on);  // global switch (off with --quiet)

 private:
  void draw(bool final);
  std::string label_, unit_, postfix_;
  std::size_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool active_, finished_ = false;
};

}  // namespace catimage

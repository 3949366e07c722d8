#pragma once
// Progress of a long loop on stderr, with done/total, rate and ETA:
// - on a terminal, a bar redrawn in place (at most every 0.1 s);
// - otherwise (a cluster log, a pipe), one plain line per update, at most every
//   `line_interval` seconds (default 10; CATIMAGE_PROGRESS_SECONDS overrides), no carriage
//   returns, plus a final line;
// - nothing in quiet mode.
#include <chrono>
#include <cstddef>
#include <string>

namespace catimage {

// Whether standard output is a terminal (route prints a table there, JSONL otherwise).
bool stdout_is_terminal();

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
  enum class Mode { off, bar, lines } mode_;
  double interval_ = 0.1;
  bool finished_ = false;
};

}  // namespace catimage

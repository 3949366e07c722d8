#include "catimage/util/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <spdlog/fmt/fmt.h>

namespace catimage {

namespace {
bool g_enabled = true;

std::string hms(double s) {
  if (!(s >= 0) || s > 360000) return "--:--";
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{:02}:{:02}", t / 60, t % 60);
}
}  // namespace

void Progress::set_enabled(bool on) { g_enabled = on; }

Progress::Progress(std::string label, std::size_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()), last_draw_(start_),
      active_(g_enabled && isatty(STDERR_FILENO)) {}

Progress::~Progress() { finish(); }

void Progress::advance(std::size_t n) {
  done_ += n;
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(100) || done_ == total_) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_postfix(std::string s) { postfix_ = std::move(s); }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (active_) draw(true);
}

void Progress::draw(bool final) {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? done_ / el : 0.0;
  double frac = total_ ? static_cast<double>(done_) / total_ : 0.0;
  const int width = 28;
  int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  double eta = rate > 0 && total_ >= done_ ? (total_ - done_) / rate : -1;
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %5.1f%% %.1f %s/s elapsed %s eta %s %s\x1b[K%s",
               label_.c_str(), bar.c_str(), done_, total_, 100 * frac, rate, unit_.c_str(),
               hms(el).c_str(), final ? "00:00" : hms(eta).c_str(), postfix_.c_str(),
               final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace catimage

#pragma once
// A Chrome trace (chrome://tracing, ui.perfetto.dev) of what libtorch runs while one is open:
// the operators on the CPU and, with `cuda`, every CUDA kernel and memcpy with its launch —
// Kineto's trace, the one torch.profiler writes for Python (scripts/bench_diffusers_model.py
// --profile), so the two sides' kernels compare line by line (scripts/kernel_table.py).
#include <string>

namespace catimage {

class TorchTrace {
 public:
  // Fails, naming --profile, where this libtorch cannot write a trace (built without Kineto, as
  // Debian's 1.13 is; PyTorch's own libtorch has it): a trace started and saved empty at once.
  static void check_available();
  // Starts recording.
  explicit TorchTrace(bool cuda);
  TorchTrace(const TorchTrace&) = delete;
  TorchTrace& operator=(const TorchTrace&) = delete;
  ~TorchTrace();  // stops recording if save was not called
  // Stops recording and writes the trace (JSON) to `path`.
  void save(const std::string& path);

 private:
  bool open_ = false;
};

}  // namespace catimage

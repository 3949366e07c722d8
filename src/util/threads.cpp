#include "catimage/util/threads.hpp"

#include <ATen/Parallel.h>

#include <thread>

namespace catimage {

int set_torch_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

}  // namespace catimage

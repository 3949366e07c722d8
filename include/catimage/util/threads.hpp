#pragma once

namespace catimage {

// Sets libtorch's intra-op threads (Debian's build defaults to 1): n <= 0 means all cores.
// Returns the number set.
int set_torch_threads(int n);

}  // namespace catimage

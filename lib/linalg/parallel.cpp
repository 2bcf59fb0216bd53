#include "linalg/parallel.hpp"

namespace embedlab::linalg::detail {

int worker_count(int requested) {
  if (requested > 0) return requested;
  const int t = embedlab::threads();
  return t > 0 ? t : 1;
}

}  // namespace embedlab::linalg::detail

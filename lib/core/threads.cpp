#include "core/threads.hpp"

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace embedlab {
void set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
int threads() { return openblas_get_num_threads(); }
}  // namespace embedlab

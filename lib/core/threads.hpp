#pragma once
// Thread control for OpenBLAS (the only parallel runtime embedlab uses).
namespace embedlab {
void set_threads(int n);  // n >= 1
int threads();
}  // namespace embedlab

// One thread count for everything: trit's OpenMP loops and OpenBLAS share it.
#pragma once

namespace trit {

void set_threads(int n);  // n <= 0: all cores
int num_threads();

}  // namespace trit

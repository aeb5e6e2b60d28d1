// One thread count for everything: trit's OpenMP loops and OpenBLAS share it.
#pragma once

namespace trit {

void set_threads(int n);  // n <= 0: all cores
int num_threads();

// Work sharing for callers that keep one parallel region open across many products (the engine's
// decode step): with count > 0 a product computes only share `index` of `count` of its rows and
// opens no region of its own; the caller places the barriers. count 0: the product opens its own.
struct Share {
  int index = 0, count = 0;
};

}  // namespace trit

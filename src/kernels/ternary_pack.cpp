#include "kernels/ternary_pack.h"

#include <cstring>

#include "core/error.h"

namespace trit {

namespace {

inline uint8_t code_of(int8_t t) { return static_cast<uint8_t>(t + 1); }

// Base-3 digits q[0..count) (most significant first, padded with zero digits to 5), pre-scaled.
inline uint8_t encode_trits5(const uint8_t* q, int count) {
  unsigned v = 0;
  for (int n = 0; n < 5; ++n) v = v * 3 + (n < count ? q[n] : 0);
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}

}  // namespace

size_t trit2_row_bytes(int cols) { return static_cast<size_t>((cols + kTrit2Chunk - 1) / kTrit2Chunk) * 32; }
size_t trit1_row_bytes(int cols) { return static_cast<size_t>((cols + kTrit1Chunk - 1) / kTrit1Chunk) * 32; }
size_t tq2_0_row_bytes(int cols) { return static_cast<size_t>(cols / kTQBlock) * kTQ2Bytes; }
size_t tq1_0_row_bytes(int cols) { return static_cast<size_t>(cols / kTQBlock) * kTQ1Bytes; }

void pack_trit2(const int8_t* codes, int rows, int cols, uint8_t* out) {
  const size_t rb = trit2_row_bytes(cols);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int8_t* c = codes + static_cast<size_t>(r) * cols;
    uint8_t* o = out + r * rb;
    for (size_t chunk = 0; chunk < rb / 32; ++chunk)
      for (int j = 0; j < 32; ++j) {
        uint8_t b = 0;
        for (int n = 0; n < 4; ++n) {
          const size_t e = chunk * kTrit2Chunk + j + 32 * n;
          b |= static_cast<uint8_t>((e < static_cast<size_t>(cols) ? code_of(c[e]) : 1) << (2 * n));
        }
        o[chunk * 32 + j] = b;
      }
  }
}

void unpack_trit2(const uint8_t* in, int rows, int cols, int8_t* codes) {
  const size_t rb = trit2_row_bytes(cols);
  for (int r = 0; r < rows; ++r)
    for (int e = 0; e < cols; ++e) {
      const uint8_t b = in[r * rb + static_cast<size_t>(e / kTrit2Chunk) * 32 + e % 32];
      codes[static_cast<size_t>(r) * cols + e] = static_cast<int8_t>(((b >> (2 * ((e % kTrit2Chunk) / 32))) & 3) - 1);
    }
}

void pack_trit1(const int8_t* codes, int rows, int cols, uint8_t* out) {
  const size_t rb = trit1_row_bytes(cols);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int8_t* c = codes + static_cast<size_t>(r) * cols;
    for (size_t chunk = 0; chunk < rb / 32; ++chunk)
      for (int j = 0; j < 32; ++j) {
        uint8_t q[5];
        for (int n = 0; n < 5; ++n) {
          const size_t e = chunk * kTrit1Chunk + j + 32 * n;
          q[n] = e < static_cast<size_t>(cols) ? code_of(c[e]) : 1;
        }
        out[r * rb + chunk * 32 + j] = encode_trits5(q, 5);
      }
  }
}

void unpack_trit1(const uint8_t* in, int rows, int cols, int8_t* codes) {
  const size_t rb = trit1_row_bytes(cols);
  for (int r = 0; r < rows; ++r)
    for (size_t chunk = 0; chunk < rb / 32; ++chunk)
      for (int j = 0; j < 32; ++j) {
        int8_t t[5];
        decode_trits5(in[r * rb + chunk * 32 + j], t);
        for (int n = 0; n < 5; ++n) {
          const size_t e = chunk * kTrit1Chunk + j + 32 * n;
          if (e < static_cast<size_t>(cols)) codes[static_cast<size_t>(r) * cols + e] = t[n];
        }
      }
}

void pack_tq2_0(const int8_t* codes, const uint16_t* block_scale, int rows, int cols, uint8_t* out) {
  TRIT_CHECK(cols % kTQBlock == 0, "TQ2_0 needs rows of a multiple of 256 elements, got %d", cols);
  const int nb = cols / kTQBlock;
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < nb; ++b) {
      const int8_t* c = codes + static_cast<size_t>(r) * cols + static_cast<size_t>(b) * kTQBlock;
      uint8_t* o = out + (static_cast<size_t>(r) * nb + b) * kTQ2Bytes;
      std::memset(o, 0, 64);
      for (int e = 0; e < kTQBlock; ++e) o[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(code_of(c[e]) << (2 * ((e % 128) / 32)));
      std::memcpy(o + 64, &block_scale[static_cast<size_t>(r) * nb + b], 2);
    }
}

void unpack_tq2_0(const uint8_t* in, int rows, int cols, int8_t* codes, uint16_t* block_scale) {
  const int nb = cols / kTQBlock;
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < nb; ++b) {
      const uint8_t* blk = in + (static_cast<size_t>(r) * nb + b) * kTQ2Bytes;
      int8_t* c = codes + static_cast<size_t>(r) * cols + static_cast<size_t>(b) * kTQBlock;
      for (int e = 0; e < kTQBlock; ++e) c[e] = static_cast<int8_t>(((blk[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3) - 1);
      std::memcpy(&block_scale[static_cast<size_t>(r) * nb + b], blk + 64, 2);
    }
}

void pack_tq1_0(const int8_t* codes, const uint16_t* block_scale, int rows, int cols, uint8_t* out) {
  TRIT_CHECK(cols % kTQBlock == 0, "TQ1_0 needs rows of a multiple of 256 elements, got %d", cols);
  const int nb = cols / kTQBlock;
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < nb; ++b) {
      const int8_t* c = codes + static_cast<size_t>(r) * cols + static_cast<size_t>(b) * kTQBlock;
      uint8_t* o = out + (static_cast<size_t>(r) * nb + b) * kTQ1Bytes;
      uint8_t q[5];
      for (int m = 0; m < 32; ++m) {  // elements 0..159
        for (int n = 0; n < 5; ++n) q[n] = code_of(c[m + 32 * n]);
        o[m] = encode_trits5(q, 5);
      }
      for (int m = 0; m < 16; ++m) {  // elements 160..239
        for (int n = 0; n < 5; ++n) q[n] = code_of(c[160 + m + 16 * n]);
        o[32 + m] = encode_trits5(q, 5);
      }
      for (int j = 0; j < 4; ++j) {  // elements 240..255, four digits then a zero digit
        for (int m = 0; m < 4; ++m) q[m] = code_of(c[240 + j + 4 * m]);
        q[4] = 0;
        o[48 + j] = encode_trits5(q, 5);
      }
      std::memcpy(o + 52, &block_scale[static_cast<size_t>(r) * nb + b], 2);
    }
}

void unpack_tq1_0(const uint8_t* in, int rows, int cols, int8_t* codes, uint16_t* block_scale) {
  const int nb = cols / kTQBlock;
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < nb; ++b) {
      const uint8_t* blk = in + (static_cast<size_t>(r) * nb + b) * kTQ1Bytes;
      int8_t* c = codes + static_cast<size_t>(r) * cols + static_cast<size_t>(b) * kTQBlock;
      int8_t t[5];
      for (int m = 0; m < 32; ++m) {
        decode_trits5(blk[m], t);
        for (int n = 0; n < 5; ++n) c[m + 32 * n] = t[n];
      }
      for (int m = 0; m < 16; ++m) {
        decode_trits5(blk[32 + m], t);
        for (int n = 0; n < 5; ++n) c[160 + m + 16 * n] = t[n];
      }
      for (int j = 0; j < 4; ++j) {
        decode_trits5(blk[48 + j], t);
        for (int m = 0; m < 4; ++m) c[240 + j + 4 * m] = t[m];
      }
      std::memcpy(&block_scale[static_cast<size_t>(r) * nb + b], blk + 52, 2);
    }
}

}  // namespace trit

// Packing of ternary codes t in {-1, 0, +1} (int8, row-major [rows, cols], cols = input dim) into
// the storage types of GGUF files. Codes are stored as q = t + 1 in {0, 1, 2}. Scales travel
// separately (trit types) or inside the blocks (ggml types); packing is lossless by construction.
//
// trit2 (2 bits/weight + scales): each row is split into chunks of 128 elements, 32 bytes each
//   (the row's last chunk is padded with q = 1, i.e. zeros). Byte j of a chunk holds elements
//   j, j+32, j+64, j+96 of the chunk at bits 0-1, 2-3, 4-5, 6-7: one 32-byte load plus shifts
//   gives four runs of 32 consecutive codes.
// trit1 (1.6 bits/weight + scales): chunks of 160 elements, 32 bytes each (padded with q = 1).
//   Byte j holds elements j + 32n (n = 0..4) as the base-3 number v = sum q_n 3^(4-n), stored
//   pre-scaled as ceil(v * 256 / 243) so that digit n is ((uint8)(byte * 3^n) * 3) >> 8.
// TQ2_0 / TQ1_0: ggml's blocks of 256 (ggml/src/ggml-common.h): 66 and 54 bytes with one fp16
//   scale d each; value = (q - 1) * d. TQ2_0 byte 32*(e/128) + e%32 holds element e at bits
//   2*((e%128)/32). TQ1_0: qs[0..31] hold elements m + 32n (n = 0..4), qs[32..47] elements
//   160 + m + 16n, qh[0..3] elements 240 + j + 4m (m = 0..3, then a zero digit), each byte base-3
//   with the most significant digit first, pre-scaled as in trit1; d is the last field.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trit {

constexpr int kTrit2Chunk = 128, kTrit1Chunk = 160, kTQBlock = 256;
constexpr size_t kTQ2Bytes = 66, kTQ1Bytes = 54;

size_t trit2_row_bytes(int cols);
size_t trit1_row_bytes(int cols);
size_t tq2_0_row_bytes(int cols);  // cols must be a multiple of 256
size_t tq1_0_row_bytes(int cols);

void pack_trit2(const int8_t* codes, int rows, int cols, uint8_t* out);
void unpack_trit2(const uint8_t* in, int rows, int cols, int8_t* codes);
void pack_trit1(const int8_t* codes, int rows, int cols, uint8_t* out);
void unpack_trit1(const uint8_t* in, int rows, int cols, int8_t* codes);

// block_scale: one fp16 bit pattern per 256-element block, [rows * cols/256].
void pack_tq2_0(const int8_t* codes, const uint16_t* block_scale, int rows, int cols, uint8_t* out);
void unpack_tq2_0(const uint8_t* in, int rows, int cols, int8_t* codes, uint16_t* block_scale);
void pack_tq1_0(const int8_t* codes, const uint16_t* block_scale, int rows, int cols, uint8_t* out);
void unpack_tq1_0(const uint8_t* in, int rows, int cols, int8_t* codes, uint16_t* block_scale);

// Decodes one pre-scaled base-3 byte into 5 codes (most significant first), as t in {-1, 0, 1}.
inline void decode_trits5(uint8_t byte, int8_t out[5]) {
  static constexpr uint8_t pow3[5] = {1, 3, 9, 27, 81};
  for (int n = 0; n < 5; ++n) {
    const uint8_t q = static_cast<uint8_t>(byte * pow3[n]);
    out[n] = static_cast<int8_t>(((static_cast<uint16_t>(q) * 3) >> 8) - 1);
  }
}

}  // namespace trit

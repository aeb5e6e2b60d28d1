// GGUF v3 files (the format as llama.cpp defines it, ggml/docs/gguf.md): a header, metadata
// key/values, tensor infos, then tensor data aligned to general.alignment (default 32).
// Everything little-endian. Tensor dims are written ggml-style: ne[0] is the contiguous axis, so a
// PyTorch [out, in] weight has dims {in, out}.
//
// Tensor types: ggml's F32 (0), F16 (1), Q8_0 (8), I8 (24), BF16 (30), TQ1_0 (34), TQ2_0 (35), and
// trit's own (see kernels/ternary_pack.h): TRIT2 (1000, 2.0 bits/weight) and TRIT1 (1001, 1.6
// bits/weight), whose scales are the F32 tensor "<name minus .weight>.scale".
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/file.h"

namespace trit {

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11,
  F64 = 12
};

enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q8_0 = 8, I8 = 24, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, TRIT2 = 1000, TRIT1 = 1001
};

const char* tensor_type_name(TensorType t);
bool tensor_type_known(uint32_t id);
// Bytes of a tensor of `type` with contiguous rows of `cols` elements and `rows` rows; throws
// trit::Error if cols is not a multiple of the type's block.
uint64_t tensor_bytes(TensorType type, uint64_t cols, uint64_t rows);

// A metadata value: scalars widen to int64/uint64/double; arrays keep their element type.
struct GgufValue {
  GgufValueType type = GgufValueType::U32;
  GgufValueType elem = GgufValueType::U8;  // arrays only
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<std::string>, std::vector<double>,
               std::vector<int64_t>>
      v;
  uint64_t as_u64() const;
  double as_f64() const;
  const std::string& as_str() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ne[0] first
  TensorType type;
  uint64_t offset;  // relative to the data section
  uint64_t bytes;
  uint64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  uint64_t rows() const;
  uint64_t elements() const { return cols() * rows(); }
};

class GgufWriter {
 public:
  void set_u32(const std::string& k, uint32_t v);
  void set_i32(const std::string& k, int32_t v);
  void set_u64(const std::string& k, uint64_t v);
  void set_f32(const std::string& k, float v);
  void set_bool(const std::string& k, bool v);
  void set_str(const std::string& k, const std::string& v);
  void set_str_array(const std::string& k, const std::vector<std::string>& v);
  void set_f32_array(const std::string& k, const std::vector<float>& v);
  void set_i32_array(const std::string& k, const std::vector<int32_t>& v);
  // `data` must stay valid until write(); dims ne[0] first.
  void add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims, const void* data,
                  uint64_t bytes);
  void add_tensor_owned(const std::string& name, TensorType type, std::vector<uint64_t> dims, std::vector<uint8_t> data);
  // The bytes are produced by `fill` while the file is written, one tensor at a time, so that a
  // model larger than memory in its unpacked form can be written.
  void add_tensor_lazy(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                       std::function<void(uint8_t* dst, uint64_t bytes)> fill);
  void set_u8_array(const std::string& k, const std::string& bytes);
  // Atomic: temp file, fsync, rename.
  void write(const std::string& path, uint32_t alignment = 32) const;

 private:
  struct KV {
    std::string key;
    std::string encoded;  // type id + value, already serialized
  };
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<uint64_t> dims;
    const void* data;
    uint64_t bytes;
    std::function<void(uint8_t*, uint64_t)> fill;
  };
  void put(const std::string& k, std::string encoded);
  std::vector<KV> kv_;
  std::vector<Tensor> tensors_;
  std::vector<std::vector<uint8_t>> owned_;
};

// Maps a GGUF file read-only and validates everything before anything uses it: magic, version,
// counts, string and array lengths, dims, types, alignment, tensor extents and overlaps. Errors
// name the file and the problem.
class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<std::string>& key_order() const { return key_order_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* tensor(const std::string& name) const;
  const uint8_t* data(const GgufTensorInfo& t) const { return file_.data() + data_offset_ + t.offset; }
  uint64_t file_size() const { return file_.size(); }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  uint32_t version_ = 0, alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace trit

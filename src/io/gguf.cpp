#include "io/gguf.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/ternary_pack.h"

namespace trit {

namespace {

// ggml's other tensor types (ggml/src/ggml.c type traits): readable, so that files holding them can
// be listed and their extents checked, but not computed by trit.
struct ForeignType {
  uint32_t id;
  const char* name;
  uint32_t block, bytes;  // elements per block, bytes per block
};
constexpr ForeignType kForeignTypes[] = {
    {2, "Q4_0", 32, 18},       {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
    {9, "Q8_1", 32, 36},       {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176},    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},   {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},   {20, "IQ4_NL", 32, 18},
    {21, "IQ3_S", 256, 110},   {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136}, {25, "I16", 1, 2},
    {26, "I32", 1, 4},         {27, "I64", 1, 8},        {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
};

const ForeignType* foreign_type(uint32_t id) {
  for (const auto& t : kForeignTypes)
    if (t.id == id) return &t;
  return nullptr;
}

}  // namespace

const char* tensor_type_name(TensorType t) {
  switch (t) {
    case TensorType::F32: return "F32";
    case TensorType::F16: return "F16";
    case TensorType::Q8_0: return "Q8_0";
    case TensorType::I8: return "I8";
    case TensorType::BF16: return "BF16";
    case TensorType::TQ1_0: return "TQ1_0";
    case TensorType::TQ2_0: return "TQ2_0";
    case TensorType::TRIT2: return "TRIT2";
    case TensorType::TRIT1: return "TRIT1";
  }
  const ForeignType* f = foreign_type(static_cast<uint32_t>(t));
  return f ? f->name : "?";
}

bool tensor_type_known(uint32_t id) {
  switch (static_cast<TensorType>(id)) {
    case TensorType::F32: case TensorType::F16: case TensorType::Q8_0: case TensorType::I8: case TensorType::BF16:
    case TensorType::TQ1_0: case TensorType::TQ2_0: case TensorType::TRIT2: case TensorType::TRIT1: return true;
  }
  return foreign_type(id) != nullptr;
}

uint64_t tensor_bytes(TensorType type, uint64_t cols, uint64_t rows) {
  auto blocks = [&](uint64_t block, uint64_t bytes) {
    TRIT_CHECK(cols % block == 0, "%s rows need a multiple of %llu elements, got %llu", tensor_type_name(type),
               static_cast<unsigned long long>(block), static_cast<unsigned long long>(cols));
    return cols / block * bytes * rows;
  };
  switch (type) {
    case TensorType::F32: return cols * rows * 4;
    case TensorType::F16: case TensorType::BF16: return cols * rows * 2;
    case TensorType::I8: return cols * rows;
    case TensorType::Q8_0: return blocks(32, 34);
    case TensorType::TQ1_0: return blocks(256, kTQ1Bytes);
    case TensorType::TQ2_0: return blocks(256, kTQ2Bytes);
    case TensorType::TRIT2: return (cols + kTrit2Chunk - 1) / kTrit2Chunk * 32 * rows;
    case TensorType::TRIT1: return (cols + kTrit1Chunk - 1) / kTrit1Chunk * 32 * rows;
  }
  if (const ForeignType* f = foreign_type(static_cast<uint32_t>(type))) return blocks(f->block, f->bytes);
  fail(strf("unknown tensor type %u", static_cast<unsigned>(type)));
}

uint64_t GgufTensorInfo::rows() const {
  uint64_t r = 1;
  for (size_t i = 1; i < dims.size(); ++i) r *= dims[i];
  return r;
}

uint64_t GgufValue::as_u64() const {
  if (auto p = std::get_if<uint64_t>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) {
    TRIT_CHECK(*p >= 0, "metadata value %lld is negative", static_cast<long long>(*p));
    return static_cast<uint64_t>(*p);
  }
  if (auto p = std::get_if<bool>(&v)) return *p;
  fail("metadata value is not an integer");
}

double GgufValue::as_f64() const {
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<uint64_t>(&v)) return static_cast<double>(*p);
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  fail("metadata value is not a number");
}

const std::string& GgufValue::as_str() const {
  if (auto p = std::get_if<std::string>(&v)) return *p;
  fail("metadata value is not a string");
}

// ---- writer ----

namespace {
template <typename T>
void append(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void append_str(std::string& s, const std::string& v) {
  append<uint64_t>(s, v.size());
  s += v;
}
uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
}  // namespace

void GgufWriter::put(const std::string& k, std::string encoded) {
  for (auto& kv : kv_)
    if (kv.key == k) {
      kv.encoded = std::move(encoded);
      return;
    }
  kv_.push_back({k, std::move(encoded)});
}

#define TRIT_GGUF_SCALAR(fn, T, id)                        \
  void GgufWriter::fn(const std::string& k, T v) {         \
    std::string e;                                         \
    append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::id)); \
    append<T>(e, v);                                       \
    put(k, std::move(e));                                  \
  }
TRIT_GGUF_SCALAR(set_u32, uint32_t, U32)
TRIT_GGUF_SCALAR(set_i32, int32_t, I32)
TRIT_GGUF_SCALAR(set_u64, uint64_t, U64)
TRIT_GGUF_SCALAR(set_f32, float, F32)
#undef TRIT_GGUF_SCALAR

void GgufWriter::set_bool(const std::string& k, bool v) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::BOOL));
  append<uint8_t>(e, v ? 1 : 0);
  put(k, std::move(e));
}

void GgufWriter::set_str(const std::string& k, const std::string& v) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::STRING));
  append_str(e, v);
  put(k, std::move(e));
}

void GgufWriter::set_str_array(const std::string& k, const std::vector<std::string>& v) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::ARRAY));
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::STRING));
  append<uint64_t>(e, v.size());
  for (const auto& s : v) append_str(e, s);
  put(k, std::move(e));
}

void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::ARRAY));
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::F32));
  append<uint64_t>(e, v.size());
  for (float x : v) append<float>(e, x);
  put(k, std::move(e));
}

void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::ARRAY));
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::I32));
  append<uint64_t>(e, v.size());
  for (int32_t x : v) append<int32_t>(e, x);
  put(k, std::move(e));
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims, const void* data,
                            uint64_t bytes) {
  TRIT_CHECK(!name.empty() && name.size() < 64, "tensor name '%s' must have 1..63 bytes", name.c_str());
  TRIT_CHECK(!dims.empty() && dims.size() <= 4, "tensor %s: 1..4 dims", name.c_str());
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  const uint64_t expect = tensor_bytes(type, dims[0], rows);
  TRIT_CHECK(expect == bytes, "tensor %s: %llu bytes given, its type and shape need %llu", name.c_str(),
             static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(expect));
  for (const auto& t : tensors_) TRIT_CHECK(t.name != name, "tensor %s added twice", name.c_str());
  tensors_.push_back({name, type, std::move(dims), data, bytes, nullptr});
}

void GgufWriter::add_tensor_lazy(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                                 std::function<void(uint8_t*, uint64_t)> fill) {
  TRIT_CHECK(!dims.empty() && dims.size() <= 4, "tensor %s: 1..4 dims", name.c_str());
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  const uint64_t bytes = tensor_bytes(type, dims[0], rows);
  add_tensor(name, type, std::move(dims), nullptr, bytes);
  tensors_.back().fill = std::move(fill);
}

void GgufWriter::set_u8_array(const std::string& k, const std::string& bytes) {
  std::string e;
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::ARRAY));
  append<uint32_t>(e, static_cast<uint32_t>(GgufValueType::U8));
  append<uint64_t>(e, bytes.size());
  e += bytes;
  put(k, std::move(e));
}

void GgufWriter::add_tensor_owned(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                                  std::vector<uint8_t> data) {
  owned_.push_back(std::move(data));
  add_tensor(name, type, std::move(dims), owned_.back().data(), owned_.back().size());
}

void GgufWriter::write(const std::string& path, uint32_t alignment) const {
  std::string head;
  head += "GGUF";
  append<uint32_t>(head, 3);
  append<uint64_t>(head, tensors_.size());
  const bool has_align = std::any_of(kv_.begin(), kv_.end(), [](const KV& kv) { return kv.key == "general.alignment"; });
  append<uint64_t>(head, kv_.size() + (has_align || alignment == 32 ? 0 : 1));
  for (const auto& kv : kv_) {
    append_str(head, kv.key);
    head += kv.encoded;
  }
  if (!has_align && alignment != 32) {
    append_str(head, "general.alignment");
    append<uint32_t>(head, static_cast<uint32_t>(GgufValueType::U32));
    append<uint32_t>(head, alignment);
  }
  uint64_t off = 0;
  for (const auto& t : tensors_) {
    append_str(head, t.name);
    append<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) append<uint64_t>(head, d);
    append<uint32_t>(head, static_cast<uint32_t>(t.type));
    append<uint64_t>(head, off);
    off += pad_to(t.bytes, alignment);
  }
  head.resize(pad_to(head.size(), alignment), '\0');
  AtomicFile f(path);
  f.write(head);
  static const char zeros[256] = {};
  std::vector<uint8_t> buf;
  for (const auto& t : tensors_) {
    if (t.fill) {
      buf.assign(t.bytes, 0);
      t.fill(buf.data(), t.bytes);
      f.write(buf.data(), t.bytes);
    } else {
      f.write(t.data, t.bytes);
    }
    f.write(zeros, pad_to(t.bytes, alignment) - t.bytes);
  }
  f.commit();
}

// ---- reader ----

namespace {

class Cursor {
 public:
  Cursor(const uint8_t* p, uint64_t n, const std::string& path) : p_(p), n_(n), path_(path) {}
  void need(uint64_t k, const char* what) const {
    TRIT_CHECK(k <= n_ - pos_, "GGUF file '%s' is truncated: %s needs %llu bytes at offset %llu, %llu remain",
               path_.c_str(), what, static_cast<unsigned long long>(k), static_cast<unsigned long long>(pos_),
               static_cast<unsigned long long>(n_ - pos_));
  }
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    const uint64_t len = get<uint64_t>(what);
    TRIT_CHECK(len <= (1u << 30), "GGUF file '%s': %s has an absurd length %llu", path_.c_str(), what,
               static_cast<unsigned long long>(len));
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return n_ - pos_; }

 private:
  const uint8_t* p_;
  uint64_t n_, pos_ = 0;
  const std::string& path_;
};

uint64_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;
  }
}

// Reads a scalar of type t, widened.
std::variant<uint64_t, int64_t, double, bool> read_scalar(Cursor& c, GgufValueType t, const char* what) {
  switch (t) {
    case GgufValueType::U8: return static_cast<uint64_t>(c.get<uint8_t>(what));
    case GgufValueType::I8: return static_cast<int64_t>(c.get<int8_t>(what));
    case GgufValueType::U16: return static_cast<uint64_t>(c.get<uint16_t>(what));
    case GgufValueType::I16: return static_cast<int64_t>(c.get<int16_t>(what));
    case GgufValueType::U32: return static_cast<uint64_t>(c.get<uint32_t>(what));
    case GgufValueType::I32: return static_cast<int64_t>(c.get<int32_t>(what));
    case GgufValueType::F32: return static_cast<double>(c.get<float>(what));
    case GgufValueType::BOOL: return c.get<uint8_t>(what) != 0;
    case GgufValueType::U64: return c.get<uint64_t>(what);
    case GgufValueType::I64: return c.get<int64_t>(what);
    case GgufValueType::F64: return c.get<double>(what);
    default: fail("not a scalar type");
  }
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(path) {
  const char* p = path.c_str();
  Cursor c(file_.data(), file_.size(), path);
  TRIT_CHECK(file_.size() >= 24, "'%s' is too short to be a GGUF file (%zu bytes)", p, file_.size());
  TRIT_CHECK(std::memcmp(file_.data(), "GGUF", 4) == 0, "'%s' is not a GGUF file (bad magic)", p);
  c.get<uint32_t>("magic");
  version_ = c.get<uint32_t>("version");
  TRIT_CHECK(version_ == 2 || version_ == 3, "'%s' has GGUF version %u; trit reads versions 2 and 3", p, version_);
  const uint64_t n_tensors = c.get<uint64_t>("tensor count"), n_kv = c.get<uint64_t>("metadata count");
  // Every metadata entry takes at least 8+4 bytes, every tensor info at least 8+4+8+4+8.
  TRIT_CHECK(n_kv <= c.remaining() / 12, "GGUF file '%s' claims an absurd %llu metadata entries for its size (truncated or corrupt)", p,
             static_cast<unsigned long long>(n_kv));
  TRIT_CHECK(n_tensors <= c.remaining() / 32, "GGUF file '%s' claims an absurd %llu tensors for its size (truncated or corrupt)", p,
             static_cast<unsigned long long>(n_tensors));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str("metadata key");
    TRIT_CHECK(!kv_.count(key), "GGUF file '%s': metadata key '%s' appears twice", p, key.c_str());
    GgufValue val;
    const uint32_t type = c.get<uint32_t>("metadata type");
    TRIT_CHECK(type <= 12, "GGUF file '%s': metadata '%s' has unknown value type %u", p, key.c_str(), type);
    val.type = static_cast<GgufValueType>(type);
    if (val.type == GgufValueType::STRING) {
      val.v = c.str("metadata string");
    } else if (val.type == GgufValueType::ARRAY) {
      const uint32_t et = c.get<uint32_t>("array type");
      TRIT_CHECK(et <= 12 && et != static_cast<uint32_t>(GgufValueType::ARRAY), "GGUF file '%s': array '%s' has "
                 "element type %u", p, key.c_str(), et);
      val.elem = static_cast<GgufValueType>(et);
      const uint64_t n = c.get<uint64_t>("array length");
      const uint64_t min_size = val.elem == GgufValueType::STRING ? 8 : scalar_size(val.elem);
      TRIT_CHECK(n <= c.remaining() / min_size, "GGUF file '%s': array '%s' claims an absurd %llu elements", p,
                 key.c_str(), static_cast<unsigned long long>(n));
      if (val.elem == GgufValueType::STRING) {
        std::vector<std::string> a;
        a.reserve(n);
        for (uint64_t k = 0; k < n; ++k) a.push_back(c.str("array string"));
        val.v = std::move(a);
      } else if (val.elem == GgufValueType::F32 || val.elem == GgufValueType::F64) {
        std::vector<double> a(n);
        for (uint64_t k = 0; k < n; ++k) a[k] = std::get<double>(read_scalar(c, val.elem, "array element"));
        val.v = std::move(a);
      } else {
        std::vector<int64_t> a(n);
        for (uint64_t k = 0; k < n; ++k) {
          auto s = read_scalar(c, val.elem, "array element");
          a[k] = std::holds_alternative<uint64_t>(s) ? static_cast<int64_t>(std::get<uint64_t>(s))
                 : std::holds_alternative<int64_t>(s) ? std::get<int64_t>(s)
                                                       : static_cast<int64_t>(std::get<bool>(s));
        }
        val.v = std::move(a);
      }
    } else {
      std::visit([&](auto x) { val.v = x; }, read_scalar(c, val.type, "metadata value"));
    }
    key_order_.push_back(key);
    kv_.emplace(std::move(key), std::move(val));
  }
  if (auto a = find("general.alignment")) {
    TRIT_CHECK(a->type == GgufValueType::U32, "GGUF file '%s': general.alignment must be a uint32", p);
    alignment_ = static_cast<uint32_t>(a->as_u64());
    TRIT_CHECK(alignment_ > 0 && (alignment_ & (alignment_ - 1)) == 0 && alignment_ <= (1u << 20),
               "GGUF file '%s': general.alignment %u is not a power of two", p, alignment_);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.str("tensor name");
    TRIT_CHECK(!t.name.empty() && t.name.size() < 64, "GGUF file '%s': tensor name of %zu bytes (must be 1..63)", p,
               t.name.size());
    const uint32_t nd = c.get<uint32_t>("tensor dims");
    TRIT_CHECK(nd >= 1 && nd <= 4, "GGUF file '%s': tensor %s has %u dims (1..4)", p, t.name.c_str(), nd);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      const uint64_t ne = c.get<uint64_t>("tensor dim");
      TRIT_CHECK(ne > 0 && ne < (1ULL << 40) && elements <= (1ULL << 48) / ne,
                 "GGUF file '%s': tensor %s has an absurd dimension %llu", p, t.name.c_str(),
                 static_cast<unsigned long long>(ne));
      elements *= ne;
      t.dims.push_back(ne);
    }
    const uint32_t type = c.get<uint32_t>("tensor type");
    TRIT_CHECK(tensor_type_known(type), "GGUF file '%s': tensor %s has unknown or unsupported type %u", p,
               t.name.c_str(), type);
    t.type = static_cast<TensorType>(type);
    t.offset = c.get<uint64_t>("tensor offset");
    try {
      t.bytes = tensor_bytes(t.type, t.cols(), t.rows());
    } catch (const Error& e) {
      fail(strf("GGUF file '%s': tensor %s: %s", p, t.name.c_str(), e.what()));
    }
    TRIT_CHECK(t.offset % alignment_ == 0, "GGUF file '%s': tensor %s offset %llu is not aligned to %u", p,
               t.name.c_str(), static_cast<unsigned long long>(t.offset), alignment_);
    for (const auto& o : tensors_) TRIT_CHECK(o.name != t.name, "GGUF file '%s': tensor %s appears twice", p, t.name.c_str());
    tensors_.push_back(std::move(t));
  }
  data_offset_ = pad_to(c.pos(), alignment_);
  TRIT_CHECK(data_offset_ <= file_.size(), "GGUF file '%s' is truncated before its tensor data", p);
  const uint64_t data_size = file_.size() - data_offset_;
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : tensors_) {
    TRIT_CHECK(t.offset <= data_size && t.bytes <= data_size - t.offset,
               "GGUF file '%s': tensor %s (%llu bytes at data offset %llu) lies outside the file (data section of "
               "%llu bytes): truncated?", p, t.name.c_str(), static_cast<unsigned long long>(t.bytes),
               static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(data_size));
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto a, auto b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    TRIT_CHECK(by_offset[i - 1]->offset + by_offset[i - 1]->bytes <= by_offset[i]->offset,
               "GGUF file '%s': tensors %s and %s overlap", p, by_offset[i - 1]->name.c_str(),
               by_offset[i]->name.c_str());
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace trit

#include "io/model_loader.h"

#include "core/error.h"
#include "kernels/quant.h"
#include "kernels/ternary_pack.h"
#include "model/layout.h"

namespace trit {

namespace {

uint32_t get_u32(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  TRIT_CHECK(v, "model '%s' has no metadata key %s", f.path().c_str(), key.c_str());
  return static_cast<uint32_t>(v->as_u64());
}

float get_f32(const GgufFile& f, const std::string& key, float def) {
  const GgufValue* v = f.find(key);
  return v ? static_cast<float>(v->as_f64()) : def;
}

}  // namespace

Config config_from_gguf(const GgufFile& f) {
  const GgufValue* arch = f.find("general.architecture");
  TRIT_CHECK(arch && arch->type == GgufValueType::STRING, "model '%s' has no general.architecture", f.path().c_str());
  const std::string A = arch->as_str();
  TRIT_CHECK(A == "llama" || A == "trit", "model '%s' has architecture '%s'; trit runs llama and trit models",
             f.path().c_str(), A.c_str());
  Config c;
  c.hidden_size = static_cast<int>(get_u32(f, A + ".embedding_length"));
  c.intermediate_size = static_cast<int>(get_u32(f, A + ".feed_forward_length"));
  c.num_hidden_layers = static_cast<int>(get_u32(f, A + ".block_count"));
  c.num_attention_heads = static_cast<int>(get_u32(f, A + ".attention.head_count"));
  c.num_key_value_heads = f.find(A + ".attention.head_count_kv")
                              ? static_cast<int>(get_u32(f, A + ".attention.head_count_kv"))
                              : c.num_attention_heads;
  c.max_position_embeddings = static_cast<int>(get_u32(f, A + ".context_length"));
  c.rope_theta = get_f32(f, A + ".rope.freq_base", 10000.0f);
  c.rms_norm_eps = get_f32(f, A + ".attention.layer_norm_rms_epsilon", 1e-5f);
  const GgufTensorInfo* emb = f.tensor("token_embd.weight");
  TRIT_CHECK(emb && emb->dims.size() == 2, "model '%s' has no 2-D token_embd.weight", f.path().c_str());
  c.vocab_size = static_cast<int>(emb->dims[1]);
  c.tie_word_embeddings = f.tensor("output.weight") == nullptr;
  if (auto v = f.find("trit.precision")) c.precision = v->as_str() == "fp" ? Precision::FP : Precision::Ternary;
  else c.precision = Precision::FP;  // a file from elsewhere: compute as stored, no activation quantization
  if (auto v = f.find("trit.group_size")) c.group_size = static_cast<int>(std::get<int64_t>(v->v));
  c.act_bits = f.find("trit.act_bits") ? static_cast<int>(get_u32(f, "trit.act_bits")) : 0;
  if (auto v = f.find("trit.subln")) c.subln = std::get<bool>(v->v);
  if (auto v = f.find("trit.hidden_act")) c.hidden_act = v->as_str();
  if (f.find(A + ".rope.dimension_count"))
    TRIT_CHECK(static_cast<int>(get_u32(f, A + ".rope.dimension_count")) == c.hidden_size / c.num_attention_heads,
               "model '%s': partial RoPE (rope.dimension_count != head size) is not supported", f.path().c_str());
  try {
    c.validate();
  } catch (const Error& e) {
    fail(strf("model '%s': %s", f.path().c_str(), e.what()));
  }
  return c;
}

LoadedModel load_model_gguf(const std::string& path) {
  LoadedModel m;
  m.file = std::make_shared<GgufFile>(path);
  const GgufFile& f = *m.file;
  EngineWeights& w = m.weights;
  w.config = config_from_gguf(f);
  const Config& c = w.config;
  w.act_quant = c.ternary() && c.act_bits == 8;
  const char* p = path.c_str();

  auto need = [&](const std::string& name, std::vector<uint64_t> dims) -> const GgufTensorInfo& {
    const GgufTensorInfo* t = f.tensor(name);
    TRIT_CHECK(t, "model '%s' has no tensor %s", p, name.c_str());
    TRIT_CHECK(t->dims == dims, "model '%s': tensor %s has the wrong shape for the metadata", p, name.c_str());
    return *t;
  };
  auto norm = [&](const std::string& name, int n) {
    const GgufTensorInfo& t = need(name, {static_cast<uint64_t>(n)});
    TRIT_CHECK(t.type == TensorType::F32, "model '%s': norm %s must be F32", p, name.c_str());
    w.bytes_per_token += t.bytes;
    return reinterpret_cast<const float*>(f.data(t));
  };
  auto dense = [&](const GgufTensorInfo& t) {
    DenseMatrix d{};
    d.data = f.data(t);
    d.rows = static_cast<int>(t.rows());
    d.cols = static_cast<int>(t.cols());
    switch (t.type) {
      case TensorType::F32: d.type = DenseType::F32; break;
      case TensorType::F16: d.type = DenseType::F16; break;
      case TensorType::BF16: d.type = DenseType::BF16; break;
      case TensorType::I8: {
        d.type = DenseType::I8;
        const std::string sname = t.name.substr(0, t.name.size() - 7) + ".scale";
        const GgufTensorInfo& s = need(sname, {t.rows()});
        TRIT_CHECK(s.type == TensorType::F32, "model '%s': %s must be F32", p, sname.c_str());
        d.row_scales = reinterpret_cast<const float*>(f.data(s));
        break;
      }
      default:
        fail(strf("model '%s': tensor %s has type %s; the engine computes F32, F16, BF16 and I8 there", p,
                  t.name.c_str(), tensor_type_name(t.type)));
    }
    return d;
  };
  auto linear = [&](const std::string& name, int rows, int cols) {
    const GgufTensorInfo& t = need(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)});
    LinearWeight lw;
    w.bytes_per_token += t.bytes;
    if (t.type == TensorType::TRIT2 || t.type == TensorType::TRIT1) {
      const std::string sname = name.substr(0, name.size() - 7) + ".scale";
      const GgufTensorInfo* s = f.tensor(sname);
      TRIT_CHECK(s && s->type == TensorType::F32 && s->dims.size() == 1, "model '%s': %s needs an F32 %s", p,
                 name.c_str(), sname.c_str());
      const uint64_t n = s->dims[0];
      int group;
      if (n == 1) group = kScaleTensor;
      else if (n == static_cast<uint64_t>(rows)) group = kScaleRow;
      else {
        TRIT_CHECK(n % rows == 0 && cols % (n / rows) == 0 && (cols / (n / rows)) % 32 == 0,
                   "model '%s': %s has %llu scales, which fit no scale grouping of a %dx%d matrix", p, sname.c_str(),
                   static_cast<unsigned long long>(n), rows, cols);
        group = static_cast<int>(cols / (n / rows));
      }
      w.bytes_per_token += s->bytes;
      lw.ternary = true;
      lw.t2 = Trit2Matrix{f.data(t), reinterpret_cast<const float*>(f.data(*s)), rows, cols, group, false,
                          t.type == TensorType::TRIT1};
      return lw;
    }
    if (t.type == TensorType::TQ2_0) {  // llama.cpp's 2-bit blocks: the trit2 kernels with inline scales
      lw.ternary = true;
      lw.t2 = Trit2Matrix{f.data(t), nullptr, rows, cols, 256, true};
      return lw;
    }
    TRIT_CHECK(t.type == TensorType::F32 || t.type == TensorType::F16 || t.type == TensorType::BF16,
               "model '%s': %s is %s; the engine runs TRIT2, TRIT1, TQ2_0, F32, F16 and BF16 linear weights (repack "
               "with `trit pack --type trit2`)", p, name.c_str(), tensor_type_name(t.type));
    lw.dense = dense(t);
    return lw;
  };

  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, V = c.vocab_size;
  const GgufTensorInfo& emb = need("token_embd.weight", {static_cast<uint64_t>(C), static_cast<uint64_t>(V)});
  w.embd = dense(emb);
  if (const GgufTensorInfo* out = f.tensor("output.weight")) {
    need("output.weight", {static_cast<uint64_t>(C), static_cast<uint64_t>(V)});
    w.head = dense(*out);
    w.bytes_per_token += out->bytes;
  } else {
    w.head = w.embd;
    w.bytes_per_token += emb.bytes;
  }
  w.output_norm = norm("output_norm.weight", C);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm = norm(b + "attn_norm.weight", C);
    L.ffn_norm = norm(b + "ffn_norm.weight", C);
    if (c.subln) {
      L.attn_sub_norm = norm(b + "attn_sub_norm.weight", H * hd);
      L.ffn_sub_norm = norm(b + "ffn_sub_norm.weight", F);
    }
    L.wq = linear(b + "attn_q.weight", H * hd, C);
    L.wk = linear(b + "attn_k.weight", KV * hd, C);
    L.wv = linear(b + "attn_v.weight", KV * hd, C);
    L.wo = linear(b + "attn_output.weight", C, H * hd);
    L.wgate = linear(b + "ffn_gate.weight", F, C);
    L.wup = linear(b + "ffn_up.weight", F, C);
    L.wdown = linear(b + "ffn_down.weight", C, F);
    w.layers.push_back(L);
  }
  w.keep_alive = m.file;
  if (const GgufValue* spm = f.find("trit.tokenizer.spm")) {
    const auto& bytes = std::get<std::vector<int64_t>>(spm->v);
    m.tokenizer_spm.resize(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) m.tokenizer_spm[i] = static_cast<char>(bytes[i]);
  }
  return m;
}

}  // namespace trit

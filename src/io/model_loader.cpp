#include "io/model_loader.h"

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "io/tokenizer.h"
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

// The vocabulary of tokenizer.ggml.*, with llama.cpp's defaults for a SentencePiece vocabulary where
// a special-token key is absent (<unk> the token of type 2, <s> 1 and </s> 2 when they are control
// tokens). Throws trit::Error naming a key of the wrong type.
GgmlVocab ggml_vocab_from_gguf(const GgufFile& f) {
  const char* p = f.path().c_str();
  auto array = [&](const std::string& key) -> const GgufValue& {
    const GgufValue* v = f.find(key);
    TRIT_CHECK(v, "model '%s' has no %s", p, key.c_str());
    TRIT_CHECK(v->type == GgufValueType::ARRAY, "model '%s': %s is not an array", p, key.c_str());
    return *v;
  };
  GgmlVocab vocab;
  const GgufValue* model = f.find("tokenizer.ggml.model");
  TRIT_CHECK(model && model->type == GgufValueType::STRING, "model '%s': tokenizer.ggml.model is not a string", p);
  vocab.model = model->as_str();
  if (vocab.model != "llama") return vocab;  // from_ggml_vocab refuses it, naming the model
  const auto* tokens = std::get_if<std::vector<std::string>>(&array("tokenizer.ggml.tokens").v);
  TRIT_CHECK(tokens, "model '%s': tokenizer.ggml.tokens is not an array of strings", p);
  vocab.tokens = *tokens;
  const auto* scores = std::get_if<std::vector<double>>(&array("tokenizer.ggml.scores").v);
  TRIT_CHECK(scores, "model '%s': tokenizer.ggml.scores is not an array of floats", p);
  vocab.scores.assign(scores->begin(), scores->end());
  const auto* types = std::get_if<std::vector<int64_t>>(&array("tokenizer.ggml.token_type").v);
  TRIT_CHECK(types, "model '%s': tokenizer.ggml.token_type is not an array of integers", p);
  for (int64_t t : *types)  // out-of-range values stay out of range (from_ggml_vocab names them)
    vocab.token_types.push_back(static_cast<int32_t>(std::clamp<int64_t>(t, INT32_MIN, INT32_MAX)));

  const int n = static_cast<int>(std::min<size_t>(vocab.tokens.size(), vocab.token_types.size()));
  auto special_id = [&](const std::string& key, int default_id, int default_type) {
    if (const GgufValue* v = f.find("tokenizer.ggml." + key)) {
      if (const auto* id = std::get_if<uint64_t>(&v->v))
        return *id > static_cast<uint64_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(*id);
      const auto* signed_id = std::get_if<int64_t>(&v->v);
      TRIT_CHECK(signed_id, "model '%s': tokenizer.ggml.%s is not an integer", p, key.c_str());
      return static_cast<int>(std::clamp<int64_t>(*signed_id, -1, INT32_MAX));  // a negative id: none
    }
    const bool default_fits = default_id >= 0 && default_id < n && vocab.token_types[default_id] == default_type;
    return default_fits ? default_id : -1;
  };
  vocab.unk_id = special_id("unknown_token_id", -1, 2);
  vocab.bos_id = special_id("bos_token_id", 1, 3);
  vocab.eos_id = special_id("eos_token_id", 2, 3);
  vocab.pad_id = special_id("padding_token_id", -1, 3);
  if (const GgufValue* v = f.find("tokenizer.ggml.add_space_prefix")) {
    const bool* b = std::get_if<bool>(&v->v);
    TRIT_CHECK(b, "model '%s': tokenizer.ggml.add_space_prefix is not a bool", p);
    vocab.add_space_prefix = *b;
  }
  return vocab;
}

// trit's own files carry the serialized SentencePiece model; files from llama.cpp only its
// vocabulary, from which the model is rebuilt. A file whose tokenizer cannot be had still loads,
// to run by token ids (as it did before rebuilding existed); tokenizer_missing says why, for the
// callers that need text.
void load_tokenizer(const GgufFile& f, LoadedModel& m) {
  const char* p = f.path().c_str();
  if (const GgufValue* spm = f.find("trit.tokenizer.spm")) {
    const auto* bytes = std::get_if<std::vector<int64_t>>(&spm->v);
    TRIT_CHECK(bytes && spm->type == GgufValueType::ARRAY && spm->elem == GgufValueType::U8,
               "model '%s': trit.tokenizer.spm is not an array of bytes", p);
    m.tokenizer_spm.resize(bytes->size());
    for (size_t i = 0; i < bytes->size(); ++i) m.tokenizer_spm[i] = static_cast<char>((*bytes)[i]);
    return;
  }
  if (!f.find("tokenizer.ggml.model")) {
    m.tokenizer_missing = strf("model '%s' carries no tokenizer (neither trit.tokenizer.spm nor tokenizer.ggml.*)", p);
    return;
  }
  try {
    m.tokenizer_spm = Tokenizer::from_ggml_vocab(ggml_vocab_from_gguf(f), strf("model '%s'", p)).serialized();
  } catch (const Error& e) {
    m.tokenizer_missing = e.what();
  }
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
        fail(strf("model '%s': tensor %s has type %s; the engine computes F32, F16, BF16 and I8 embeddings and "
                  "heads (for a file from llama-quantize: add --token-embedding-type f16 --output-tensor-type f16)",
                  p, t.name.c_str(), tensor_type_name(t.type)));
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
    if (t.type == TensorType::TQ2_0 || t.type == TensorType::TQ1_0) {  // llama.cpp's blocks, inline scales
      lw.ternary = true;
      lw.t2 = Trit2Matrix{f.data(t), nullptr, rows, cols, 256, t.type == TensorType::TQ2_0, false,
                          t.type == TensorType::TQ1_0};
      return lw;
    }
    TRIT_CHECK(t.type == TensorType::F32 || t.type == TensorType::F16 || t.type == TensorType::BF16,
               "model '%s': %s is %s; the engine runs TRIT2, TRIT1, TQ2_0, TQ1_0, F32, F16 and BF16 linear weights (repack "
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
  load_tokenizer(f, m);
  return m;
}

}  // namespace trit

#include "io/model_file.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/tokenizer.h"
#include "kernels/quant.h"
#include "kernels/ternary_pack.h"

namespace trit {

TensorType parse_weight_type(const std::string& s) {
  if (s == "trit2") return TensorType::TRIT2;
  if (s == "trit1") return TensorType::TRIT1;
  if (s == "tq2_0") return TensorType::TQ2_0;
  if (s == "tq1_0") return TensorType::TQ1_0;
  if (s == "bf16") return TensorType::BF16;
  if (s == "f16") return TensorType::F16;
  if (s == "f32") return TensorType::F32;
  fail(strf("unknown weight type '%s' (expected trit2, trit1, tq2_0, tq1_0, bf16, f16 or f32)", s.c_str()));
}

TensorType parse_embd_type(const std::string& s) {
  if (s == "f32") return TensorType::F32;
  if (s == "f16") return TensorType::F16;
  if (s == "bf16") return TensorType::BF16;
  if (s == "int8") return TensorType::I8;
  fail(strf("unknown embedding type '%s' (expected f32, f16, bf16 or int8)", s.c_str()));
}

std::string gguf_tensor_name(const std::string& n) {
  if (n == "model.embed_tokens.weight") return "token_embd.weight";
  if (n == "model.norm.weight") return "output_norm.weight";
  if (n == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (n.rfind(pre, 0) != 0) return n;
  const size_t dot = n.find('.', pre.size());
  const std::string idx = n.substr(pre.size(), dot - pre.size()), rest = n.substr(dot + 1);
  static const std::pair<const char*, const char*> map[] = {
      {"input_layernorm.weight", "attn_norm.weight"},  {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},    {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"}, {"self_attn.sub_norm.weight", "attn_sub_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},         {"mlp.down_proj.weight", "ffn_down.weight"},
      {"mlp.sub_norm.weight", "ffn_sub_norm.weight"}};
  for (auto [from, to] : map)
    if (rest == from) return "blk." + idx + "." + to;
  return n;
}

namespace {

std::string scale_name(const std::string& gguf_name) {
  const std::string w = ".weight";
  return gguf_name.substr(0, gguf_name.size() - w.size()) + ".scale";
}

// Row permutation of Q/K: HF rotate_half order -> llama.cpp adjacent pairs. dst row for src row.
std::vector<int> rope_row_order(int rows, int hd) {
  std::vector<int> src_of(rows);
  for (int h = 0; h < rows / hd; ++h)
    for (int i = 0; i < hd / 2; ++i)
      for (int t = 0; t < 2; ++t) src_of[h * hd + 2 * i + t] = h * hd + t * hd / 2 + i;
  return src_of;
}

template <typename T>
void permute_rows(T* data, int rows, size_t row_len, const std::vector<int>& src_of) {
  std::vector<T> tmp(data, data + static_cast<size_t>(rows) * row_len);
  for (int r = 0; r < rows; ++r)
    std::memcpy(data + static_cast<size_t>(r) * row_len, tmp.data() + static_cast<size_t>(src_of[r]) * row_len,
                row_len * sizeof(T));
}

void convert_dense(const float* v, size_t n, TensorType type, uint8_t* dst) {
  switch (type) {
    case TensorType::F32: std::memcpy(dst, v, n * 4); return;
    case TensorType::F16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(v[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case TensorType::BF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(v[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    default: fail(strf("cannot store dense values as %s", tensor_type_name(type)));
  }
}

}  // namespace

void write_model_gguf(const std::string& path, const Config& c, const WeightSource& src, const Tokenizer* tok,
                      const PackOptions& opt) {
  const TensorType wt = opt.weight_type, et = opt.embd_type;
  const bool ternary_type = wt == TensorType::TRIT2 || wt == TensorType::TRIT1 || wt == TensorType::TQ2_0 ||
                            wt == TensorType::TQ1_0;
  TRIT_CHECK(!ternary_type || c.ternary(),
             "this model was trained in full precision (--precision fp): packing its linear layers to ternary would "
             "change it; use --type bf16, f16 or f32");
  TRIT_CHECK(et == TensorType::F32 || et == TensorType::F16 || et == TensorType::BF16 || et == TensorType::I8,
             "embedding type must be f32, f16, bf16 or int8");
  const bool llama = !c.subln && c.hidden_act == "silu" && wt != TensorType::TRIT2 && wt != TensorType::TRIT1 &&
                     et != TensorType::I8;
  const std::string A = llama ? "llama" : "trit";
  const Layout L = make_layout(c);
  const int hd = c.head_dim();

  GgufWriter w;
  w.set_str("general.architecture", A);
  w.set_str("general.name", "trit " + std::to_string(L.total / 1000000) + "M");
  w.set_u32(A + ".context_length", c.max_position_embeddings);
  w.set_u32(A + ".embedding_length", c.hidden_size);
  w.set_u32(A + ".block_count", c.num_hidden_layers);
  w.set_u32(A + ".feed_forward_length", c.intermediate_size);
  w.set_u32(A + ".attention.head_count", c.num_attention_heads);
  w.set_u32(A + ".attention.head_count_kv", c.num_key_value_heads);
  w.set_f32(A + ".rope.freq_base", c.rope_theta);
  w.set_f32(A + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.set_u32(A + ".vocab_size", c.vocab_size);
  w.set_u32(A + ".rope.dimension_count", hd);
  w.set_str("trit.precision", c.ternary() ? "ternary" : "fp");
  w.set_i32("trit.group_size", c.group_size);
  w.set_u32("trit.act_bits", c.act_bits);
  w.set_bool("trit.subln", c.subln);
  w.set_str("trit.hidden_act", c.hidden_act);
  w.set_bool("trit.tie_word_embeddings", c.tie_word_embeddings);
  if (tok) {
    const int V = tok->vocab_size();
    TRIT_CHECK(V <= c.vocab_size, "tokenizer has %d pieces, the model's vocabulary %d", V, c.vocab_size);
    std::vector<std::string> tokens(c.vocab_size);
    std::vector<float> scores(c.vocab_size, 0.0f);
    std::vector<int32_t> types(c.vocab_size, 5);
    for (int i = 0; i < c.vocab_size; ++i) {
      if (i < V) {
        tokens[i] = tok->piece(i);
        scores[i] = tok->score(i);
        types[i] = tok->ggml_token_type(i);
      } else {
        tokens[i] = "[PAD" + std::to_string(i) + "]";  // unused ids past the tokenizer's pieces
      }
    }
    w.set_str("tokenizer.ggml.model", "llama");
    w.set_str_array("tokenizer.ggml.tokens", tokens);
    w.set_f32_array("tokenizer.ggml.scores", scores);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", tok->bos_id());
    w.set_u32("tokenizer.ggml.eos_token_id", tok->eos_id());
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);
    w.set_u8_array("trit.tokenizer.spm", tok->serialized());
  } else {
    // No tokenizer (a random model for speed work): llama.cpp loads a vocabulary of type "none".
    w.set_str("tokenizer.ggml.model", "none");
  }
  if (llama) {
    // llama.cpp's llama_ftype of the file's main weight type (it guesses it otherwise).
    const uint32_t ftype = wt == TensorType::TQ2_0   ? 37
                           : wt == TensorType::TQ1_0 ? 36
                           : wt == TensorType::BF16  ? 32
                           : wt == TensorType::F16   ? 1
                                                     : 0;
    w.set_u32("general.file_type", ftype);
  }

  for (const TensorInfo& t : L.tensors) {
    const std::string name = gguf_tensor_name(t.name);
    const bool is_qk = t.name.find("q_proj") != std::string::npos || t.name.find("k_proj") != std::string::npos;
    const std::vector<uint64_t> dims = t.is_matrix() ? std::vector<uint64_t>{static_cast<uint64_t>(t.cols),
                                                                             static_cast<uint64_t>(t.rows)}
                                                     : std::vector<uint64_t>{t.size()};
    const std::vector<int> order = is_qk ? rope_row_order(t.rows, hd) : std::vector<int>{};
    if (t.kind == TensorKind::Norm) {
      w.add_tensor_lazy(name, TensorType::F32, dims, [&src, t](uint8_t* dst, uint64_t) {
        src.dense(t, reinterpret_cast<float*>(dst));
      });
      continue;
    }
    if (t.kind == TensorKind::Embedding || t.kind == TensorKind::Head) {
      if (et == TensorType::I8) {
        // int8 with one scale per row (symmetric absmax): the head/embedding option for memory.
        auto shared = std::make_shared<std::vector<float>>(t.rows);
        w.add_tensor_lazy(name, TensorType::I8, dims, [&src, t, shared](uint8_t* dst, uint64_t) {
          std::vector<float> v(t.size());
          src.dense(t, v.data());
          for (int r = 0; r < t.rows; ++r) {
            float amax = 0;
            for (int k = 0; k < t.cols; ++k) amax = std::max(amax, std::fabs(v[static_cast<size_t>(r) * t.cols + k]));
            const float s = amax > 0 ? amax / 127.0f : 1.0f;
            (*shared)[r] = s;
            for (int k = 0; k < t.cols; ++k)
              dst[static_cast<size_t>(r) * t.cols + k] = static_cast<uint8_t>(
                  static_cast<int8_t>(std::nearbyint(v[static_cast<size_t>(r) * t.cols + k] / s)));
          }
        });
        w.add_tensor_lazy(scale_name(name), TensorType::F32, {static_cast<uint64_t>(t.rows)},
                          [shared](uint8_t* dst, uint64_t n) { std::memcpy(dst, shared->data(), n); });
      } else {
        w.add_tensor_lazy(name, et, dims, [&src, t, et](uint8_t* dst, uint64_t) {
          std::vector<float> v(t.size());
          src.dense(t, v.data());
          convert_dense(v.data(), v.size(), et, dst);
        });
      }
      continue;
    }
    // BitLinear
    if (!ternary_type) {
      w.add_tensor_lazy(name, wt, dims, [&src, t, wt, order](uint8_t* dst, uint64_t) {
        std::vector<float> v(t.size());
        src.dense(t, v.data());
        if (!order.empty()) permute_rows(v.data(), t.rows, t.cols, order);
        convert_dense(v.data(), v.size(), wt, dst);
      });
      continue;
    }
    const size_t n_scales = ternary_scale_count(t.rows, t.cols, c.group_size);
    const int group = c.group_size;
    auto load = [&src, t, order, n_scales, group](std::vector<int8_t>& codes, std::vector<float>& scales) {
      codes.resize(t.size());
      scales.resize(n_scales);
      src.ternary(t, codes.data(), scales.data());
      if (!order.empty()) {
        permute_rows(codes.data(), t.rows, t.cols, order);
        if (group != kScaleTensor) permute_rows(scales.data(), t.rows, n_scales / t.rows, order);
      }
    };
    if (wt == TensorType::TRIT2 || wt == TensorType::TRIT1) {
      auto scales_keep = std::make_shared<std::vector<float>>();
      w.add_tensor_lazy(name, wt, dims, [load, t, wt, scales_keep](uint8_t* dst, uint64_t) {
        std::vector<int8_t> codes;
        load(codes, *scales_keep);
        (wt == TensorType::TRIT2 ? pack_trit2 : pack_trit1)(codes.data(), t.rows, t.cols, dst);
      });
      w.add_tensor_lazy(scale_name(name), TensorType::F32, {n_scales}, [scales_keep](uint8_t* dst, uint64_t n) {
        std::memcpy(dst, scales_keep->data(), n);
      });
      continue;
    }
    // TQ2_0 / TQ1_0: one fp16 scale per 256 weights.
    TRIT_CHECK(t.cols % kTQBlock == 0, "%s cannot be stored as %s: its rows have %d weights, not a multiple of 256",
               t.name.c_str(), tensor_type_name(wt), t.cols);
    const bool round = opt.round_scales_fp16;
    w.add_tensor_lazy(name, wt, dims, [load, t, wt, group, round](uint8_t* dst, uint64_t) {
      std::vector<int8_t> codes;
      std::vector<float> scales;
      load(codes, scales);
      const int nb = t.cols / kTQBlock;
      std::vector<uint16_t> d(static_cast<size_t>(t.rows) * nb);
      const int per_row = group == kScaleTensor ? 0 : group == kScaleRow ? 1 : t.cols / group;
      for (int r = 0; r < t.rows; ++r)
        for (int b = 0; b < nb; ++b) {
          auto scale_of = [&](int col) {
            if (group == kScaleTensor) return scales[0];
            if (group == kScaleRow) return scales[r];
            return scales[static_cast<size_t>(r) * per_row + col / group];
          };
          const float s = scale_of(b * kTQBlock);
          bool any = false;
          for (int k = 0; k < kTQBlock; ++k) {
            const int col = b * kTQBlock + k;
            any |= codes[static_cast<size_t>(r) * t.cols + col] != 0;
            TRIT_CHECK(scale_of(col) == s,
                       "%s cannot be stored losslessly as %s: its scale groups of %d weights hold different scales "
                       "inside one 256-weight block (TQ types keep one scale per 256); use --type trit2 or trit1",
                       t.name.c_str(), tensor_type_name(wt), group);
          }
          // ggml's quantizer sets d = max|x| of the block: the scale, or 0 for an all-zero block.
          const uint16_t h = f32_to_f16(any ? s : 0.0f);
          TRIT_CHECK(!any || round || f16_to_f32(h) == s,
                     "%s cannot be stored losslessly as %s: its scale %.9g is not exactly representable in fp16 (TQ "
                     "types store fp16 scales); use --type trit2/trit1, or --round-scales to accept a relative scale "
                     "change of at most 2^-11",
                     t.name.c_str(), tensor_type_name(wt), s);
          d[static_cast<size_t>(r) * nb + b] = h;
        }
      (wt == TensorType::TQ2_0 ? pack_tq2_0 : pack_tq1_0)(codes.data(), d.data(), t.rows, t.cols, dst);
    });
  }
  w.write(path);
}

}  // namespace trit

// The C API over the engine, the loader, the tokenizer and the sampler.
#include "api/trit.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/threads.h"
#include "infer/engine.h"
#include "infer/sampler.h"
#include "io/model_loader.h"
#include "io/tokenizer.h"

struct trit_model {
  std::unique_ptr<trit::Engine> engine;
  std::unique_ptr<trit::Tokenizer> tokenizer;
  std::string tokenizer_missing;  // why tokenizer is null: the error trit_tokenize/trit_detokenize report
  std::unique_ptr<trit::Sampler> sampler;
  trit_sample_params sampler_params{};
  std::vector<uint32_t> history;
  std::string error;
};

namespace {
void copy_error(const std::string& msg, char* err, size_t len) {
  if (!err || len == 0) return;
  const size_t n = std::min(len - 1, msg.size());
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}
}  // namespace

extern "C" {

trit_model* trit_load(const char* path, int n_ctx, int n_threads, char* err, size_t err_len) {
  try {
    trit::set_threads(n_threads);
    auto m = std::make_unique<trit_model>();
    trit::LoadedModel lm = trit::load_model_gguf(path ? path : "");
    if (!lm.tokenizer_spm.empty())
      m->tokenizer = std::make_unique<trit::Tokenizer>(trit::Tokenizer::from_bytes(lm.tokenizer_spm, path));
    m->tokenizer_missing = lm.tokenizer_missing;
    const int ctx = n_ctx > 0 ? n_ctx : std::min(lm.weights.config.max_position_embeddings, 4096);
    m->engine = std::make_unique<trit::Engine>(std::move(lm.weights), ctx);
    return m.release();
  } catch (const std::exception& e) {
    copy_error(e.what(), err, err_len);
    return nullptr;
  }
}

void trit_free(trit_model* m) { delete m; }
const char* trit_last_error(const trit_model* m) { return m ? m->error.c_str() : "no model"; }
int trit_vocab_size(const trit_model* m) { return m->engine->config().vocab_size; }
int trit_n_ctx(const trit_model* m) { return m->engine->n_ctx(); }
int32_t trit_token_bos(const trit_model* m) { return m->tokenizer ? m->tokenizer->bos_id() : -1; }
int32_t trit_token_eos(const trit_model* m) { return m->tokenizer ? m->tokenizer->eos_id() : -1; }

int trit_tokenize(trit_model* m, const char* text, int add_bos, int32_t* ids, int max_ids) {
  try {
    if (!m->tokenizer) throw trit::Error(m->tokenizer_missing);
    std::vector<uint32_t> v = m->tokenizer->encode(text ? text : "");
    if (add_bos && m->tokenizer->bos_id() >= 0) v.insert(v.begin(), static_cast<uint32_t>(m->tokenizer->bos_id()));
    for (int i = 0; i < std::min<int>(max_ids, static_cast<int>(v.size())); ++i) ids[i] = static_cast<int32_t>(v[i]);
    return static_cast<int>(v.size());
  } catch (const std::exception& e) {
    m->error = e.what();
    return -1;
  }
}

int trit_detokenize(trit_model* m, const int32_t* ids, int n, char* buf, size_t buf_len) {
  try {
    if (!m->tokenizer) throw trit::Error(m->tokenizer_missing);
    std::vector<uint32_t> v;
    for (int i = 0; i < n; ++i) {
      if (ids[i] < 0 || ids[i] >= trit_vocab_size(m)) throw trit::Error("token id out of range");
      v.push_back(static_cast<uint32_t>(ids[i]));
    }
    const std::string s = m->tokenizer->decode(v);
    copy_error(s, buf, buf_len);
    return static_cast<int>(s.size());
  } catch (const std::exception& e) {
    m->error = e.what();
    return -1;
  }
}

const float* trit_eval(trit_model* m, int32_t token, int pos) {
  try {
    return m->engine->eval(token, pos);
  } catch (const std::exception& e) {
    m->error = e.what();
    return nullptr;
  }
}

trit_sample_params trit_default_sample_params(void) {
  const trit::SamplerParams d;
  return trit_sample_params{d.temperature, d.top_k, d.top_p, d.min_p, d.repetition_penalty, d.seed};
}

int32_t trit_sample(trit_model* m, const float* logits, const trit_sample_params* p, const int32_t* history,
                    int n_history) {
  try {
    if (!logits || !p) throw trit::Error("trit_sample: logits and params are required");
    if (!m->sampler || std::memcmp(&m->sampler_params, p, sizeof *p) != 0) {
      trit::SamplerParams sp;
      sp.temperature = p->temperature;
      sp.top_k = p->top_k;
      sp.top_p = p->top_p;
      sp.min_p = p->min_p;
      sp.repetition_penalty = p->repetition_penalty;
      sp.seed = p->seed;
      m->sampler = std::make_unique<trit::Sampler>(sp);
      m->sampler_params = *p;
    }
    m->history.assign(history, history + std::max(0, n_history));
    return static_cast<int32_t>(m->sampler->sample(logits, trit_vocab_size(m), m->history));
  } catch (const std::exception& e) {
    m->error = e.what();
    return -1;
  }
}

}  // extern "C"

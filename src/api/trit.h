/* trit.h: the C API of trit's inference engine, for programs that embed it.
 *
 *   char err[256];
 *   trit_model* m = trit_load("model.gguf", 2048, 2, err, sizeof err);
 *   int32_t ids[512];
 *   int n = trit_tokenize(m, "Hello", 1, ids, 512);
 *   const float* logits = NULL;
 *   for (int i = 0; i < n; ++i) logits = trit_eval(m, ids[i], i);
 *   trit_sample_params sp = trit_default_sample_params();
 *   int32_t next = trit_sample(m, logits, &sp, ids, n);
 *   trit_free(m);
 *
 * Functions that can fail return NULL or a negative number and leave a message for
 * trit_last_error(m). Nothing here allocates per token. */
#ifndef TRIT_H
#define TRIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trit_model trit_model;

typedef struct {
  float temperature; /* 0: greedy */
  int top_k;         /* 0: off */
  float top_p;       /* 1: off */
  float min_p;       /* 0: off */
  float repetition_penalty;
  uint64_t seed;
} trit_sample_params;

/* Maps a GGUF model and prepares a context of n_ctx tokens (0: the model's own, at most 4096).
 * n_threads <= 0: all cores. On failure returns NULL and writes a message into err. */
trit_model* trit_load(const char* path, int n_ctx, int n_threads, char* err, size_t err_len);
void trit_free(trit_model* m);
const char* trit_last_error(const trit_model* m);

int trit_vocab_size(const trit_model* m);
int trit_n_ctx(const trit_model* m);
int32_t trit_token_bos(const trit_model* m);
int32_t trit_token_eos(const trit_model* m);

/* Writes at most max_ids ids; returns how many the text needs (> max_ids: call again), or -1. */
int trit_tokenize(trit_model* m, const char* text, int add_bos, int32_t* ids, int max_ids);
/* The text of `n` ids written into buf (NUL-terminated); returns its length, or -1. */
int trit_detokenize(trit_model* m, const int32_t* ids, int n, char* buf, size_t buf_len);

/* Runs `token` at position `pos` (0-based, < n_ctx); returns the logits [vocab] (valid until the
 * next call), or NULL. */
const float* trit_eval(trit_model* m, int32_t token, int pos);

trit_sample_params trit_default_sample_params(void);
/* `history` (the ids so far) feeds the repetition penalty; returns the sampled id, or -1. */
int32_t trit_sample(trit_model* m, const float* logits, const trit_sample_params* p, const int32_t* history,
                    int n_history);

#ifdef __cplusplus
}
#endif

#endif

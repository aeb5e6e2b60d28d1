// Tokenizers rebuilt from the tokenizer.ggml.* vocabulary (what a GGUF written by llama.cpp carries
// instead of trit.tokenizer.spm): identical to the SentencePiece model the vocabulary came from,
// loaded by load_model_gguf, used by `trit generate` and the C API; bad vocabularies refused by name.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "api/trit.h"
#include "core/error.h"
#include "core/file.h"
#include "io/gguf.h"
#include "io/model_file.h"
#include "io/model_loader.h"
#include "io/tokenizer.h"
#include "model_source.h"
#include "test_util.h"
#include "train/model.h"

using namespace trit;

namespace {

// Texts that exercise what a rebuilt model could get wrong: the dummy prefix, runs of spaces,
// newlines and tabs (kept, not collapsed), digits, characters outside the vocabulary (byte
// fallback), and bytes that are not UTF-8.
const std::vector<std::string> kTexts = {
    "The state of the union is strong.",
    "the union",
    "  two  leading spaces and   three inside  ",
    "line one\nline two\n\n\nafter blank lines\n",
    "tab\tseparated\tvalues",
    "year 1987 and 2024: 31415926",
    "naïve café — 三角形 🙂 Ωμέγα",
    "\x01\x02 control bytes \x7f",
    "not utf-8: \xff\xfe\xc3",
    " ",
    "",
};

Tokenizer train_small_tokenizer(const test::TempDir& tmp, int vocab_size) {
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "The state of the union is strong, said the president in year " + std::to_string(1800 + i) +
            ".\n  Indented line\twith a tab, café and naïve.\n";
  write_file_atomic(tmp / "corpus.txt", text);
  TokenizerTrainOptions o;
  o.inputs = {tmp / "corpus.txt"};
  o.vocab_size = vocab_size;
  o.out = tmp / "t.model";
  train_tokenizer(o);
  return Tokenizer::from_file(o.out);
}

// The vocabulary as write_model_gguf stores it in tokenizer.ggml.*.
GgmlVocab vocab_of(const Tokenizer& t) {
  GgmlVocab v;
  for (int i = 0; i < t.vocab_size(); ++i) {
    v.tokens.push_back(t.piece(i));
    v.scores.push_back(t.score(i));
    v.token_types.push_back(t.ggml_token_type(i));
  }
  v.unk_id = 0;
  v.bos_id = t.bos_id();
  v.eos_id = t.eos_id();
  return v;
}

void expect_same_tokenizer(const Tokenizer& rebuilt, const Tokenizer& original) {
  EXPECT_EQ(rebuilt.bos_id(), original.bos_id());
  EXPECT_EQ(rebuilt.eos_id(), original.eos_id());
  for (int i = 0; i < original.vocab_size(); ++i) {
    ASSERT_EQ(rebuilt.piece(i), original.piece(i)) << i;
    ASSERT_EQ(rebuilt.score(i), original.score(i)) << i;
    ASSERT_EQ(rebuilt.ggml_token_type(i), original.ggml_token_type(i)) << i;
  }
  for (const std::string& s : kTexts) {
    const auto ids = original.encode(s);
    EXPECT_EQ(rebuilt.encode(s), ids) << "'" << s << "'";
    EXPECT_EQ(rebuilt.decode(ids), original.decode(ids)) << "'" << s << "'";
  }
  std::vector<uint32_t> every_id;
  for (int i = 0; i < original.vocab_size(); ++i) every_id.push_back(static_cast<uint32_t>(i));
  EXPECT_EQ(rebuilt.decode(every_id), original.decode(every_id));
}

// Copies a GGUF file's metadata and tensors into a new file, leaving out the keys in `drop`;
// `edit` may then add or override keys (GgufWriter replaces a key set twice).
void copy_gguf(const std::string& from, const std::string& to, const std::set<std::string>& drop,
               const std::function<void(GgufWriter&)>& edit = {}) {
  GgufFile f(from);
  GgufWriter w;
  for (const std::string& k : f.key_order()) {
    if (drop.count(k)) continue;
    const GgufValue& v = *f.find(k);
    switch (v.type) {
      case GgufValueType::U32: w.set_u32(k, static_cast<uint32_t>(v.as_u64())); break;
      case GgufValueType::I32: w.set_i32(k, static_cast<int32_t>(std::get<int64_t>(v.v))); break;
      case GgufValueType::U64: w.set_u64(k, v.as_u64()); break;
      case GgufValueType::F32: w.set_f32(k, static_cast<float>(v.as_f64())); break;
      case GgufValueType::BOOL: w.set_bool(k, std::get<bool>(v.v)); break;
      case GgufValueType::STRING: w.set_str(k, v.as_str()); break;
      case GgufValueType::ARRAY:
        if (v.elem == GgufValueType::STRING) {
          w.set_str_array(k, std::get<std::vector<std::string>>(v.v));
        } else if (v.elem == GgufValueType::F32) {
          const auto& d = std::get<std::vector<double>>(v.v);
          w.set_f32_array(k, std::vector<float>(d.begin(), d.end()));
        } else if (v.elem == GgufValueType::I32) {
          const auto& i = std::get<std::vector<int64_t>>(v.v);
          w.set_i32_array(k, std::vector<int32_t>(i.begin(), i.end()));
        } else if (v.elem == GgufValueType::U8) {
          const auto& b = std::get<std::vector<int64_t>>(v.v);
          w.set_u8_array(k, std::string(b.begin(), b.end()));
        } else {
          ADD_FAILURE() << "copy_gguf: array " << k << " has an element type this test does not copy";
        }
        break;
      default: ADD_FAILURE() << "copy_gguf: " << k << " has a value type this test does not copy";
    }
  }
  if (edit) edit(w);
  for (const GgufTensorInfo& t : f.tensors()) w.add_tensor(t.name, t.type, t.dims, f.data(t), t.bytes);
  w.write(to);
}

// A random weight-only nano model of `vocab` ids written as trit writes it (F32 embeddings).
Config write_nano_model(const std::string& path, int vocab, uint64_t seed, const Tokenizer* tok) {
  Config c = preset_config("nano");
  c.vocab_size = vocab;
  c.act_bits = 0;
  Model m(c, 1, 32);
  m.init_random(seed);
  m.quantize_weights(0);
  PackOptions opt;
  opt.embd_type = TensorType::F32;
  write_model_gguf(path, c, test::model_source(m), tok, opt);
  return c;
}

void expect_error_containing(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(GgmlVocab, RebuiltTokenizerEncodesAndDecodesLikeTheOriginal) {
  test::TempDir tmp;
  const Tokenizer original = train_small_tokenizer(tmp, 400);
  const Tokenizer rebuilt = Tokenizer::from_ggml_vocab(vocab_of(original), "test vocabulary");
  EXPECT_EQ(rebuilt.vocab_size(), original.vocab_size());
  expect_same_tokenizer(rebuilt, original);
  // In-vocabulary and byte-fallback text alike decode back exactly, and merges survived.
  for (const std::string s : {"The state of the union is strong.", "naïve café — 三角形 🙂", "a\n\n  b\t"})
    EXPECT_EQ(rebuilt.decode(rebuilt.encode(s)), s);
  EXPECT_LT(rebuilt.encode("the state of the union").size(), 12u);

  // Special ids given as "none" (-1) are found from the pieces' types: the one unknown token.
  GgmlVocab without_unk_id = vocab_of(original);
  without_unk_id.unk_id = -1;
  expect_same_tokenizer(Tokenizer::from_ggml_vocab(without_unk_id, "test vocabulary"), original);

  // add_space_prefix = false: no dummy U+2581 in front of the first word.
  GgmlVocab no_prefix = vocab_of(original);
  no_prefix.add_space_prefix = false;
  const Tokenizer raw = Tokenizer::from_ggml_vocab(no_prefix, "test vocabulary");
  const auto ids = raw.encode("state");
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(raw.piece(ids[0]).rfind("\xe2\x96\x81", 0), 0u) << raw.piece(ids[0]);
  EXPECT_EQ(original.piece(original.encode("state")[0]).rfind("\xe2\x96\x81", 0), 0u);
  EXPECT_EQ(raw.decode(ids), "state");
}

TEST(GgmlVocab, BadVocabulariesAreRefusedByName) {
  test::TempDir tmp;
  const Tokenizer original = train_small_tokenizer(tmp, 300);
  const GgmlVocab good = vocab_of(original);
  auto refused = [&](const std::function<void(GgmlVocab&)>& spoil, const std::string& needle) {
    GgmlVocab v = good;
    spoil(v);
    expect_error_containing([&] { Tokenizer::from_ggml_vocab(v, "model 'x.gguf'"); }, needle);
  };
  refused([](GgmlVocab& v) { v.model = "gpt2"; }, "only SentencePiece (\"llama\") vocabularies");
  refused([](GgmlVocab& v) { v.model = "gpt2"; }, "'gpt2'");
  refused([](GgmlVocab& v) { v = GgmlVocab{}; }, "tokenizer.ggml.tokens is empty");
  refused([](GgmlVocab& v) { v.scores.pop_back(); }, "tokenizer.ggml.scores has 299 entries for 300 tokens");
  refused([](GgmlVocab& v) { v.token_types.push_back(1); }, "tokenizer.ggml.token_type has 301 entries for 300");
  refused([](GgmlVocab& v) { v.bos_id = 300; }, "bos_token_id 300 is out of range (300 tokens)");
  refused([](GgmlVocab& v) { v.eos_id = -7; }, "eos_token_id -7 is out of range");
  refused([](GgmlVocab& v) { v.unk_id = 5; }, "unknown_token_id is 5, but the token of the unknown type (2) is 0");
  refused([](GgmlVocab& v) { v.token_types[7] = 9; }, "token 7 has tokenizer.ggml.token_type 9");
  refused([](GgmlVocab& v) { v.token_types[0] = 1; }, "no token has the unknown type");
  refused([](GgmlVocab& v) { v.token_types[9] = 2; }, "tokens 0 and 9 are both of the unknown type");
  refused([](GgmlVocab& v) { v.bos_id = 299; }, "bos_token_id 299");
  refused([](GgmlVocab& v) { v.tokens[260] = ""; }, "token 260 is an empty string");
  ASSERT_EQ(good.tokens[3 + 0x41], "<0x41>");
  // <0x41> demoted to a normal piece leaves 255 byte pieces: byte fallback could not spell 'A'.
  refused([](GgmlVocab& v) { v.token_types[3 + 0x41] = 1; }, "255 byte tokens");
  // A duplicate piece is caught by SentencePiece itself; the error still names the model.
  refused([](GgmlVocab& v) { v.tokens[299] = v.tokens[298]; }, "model 'x.gguf'");
}

TEST(GgmlVocab, GgufWithoutTritTokenizerLoadsWithARebuiltTokenizer) {
  test::TempDir tmp;
  const Tokenizer tok = train_small_tokenizer(tmp, 300);
  // 20 ids past the tokenizer: written as unused [PAD] tokens.
  write_nano_model(tmp / "ours.gguf", 320, 11, &tok);
  const LoadedModel ours = load_model_gguf(tmp / "ours.gguf");
  EXPECT_EQ(ours.tokenizer_spm, tok.serialized());

  // As llama.cpp writes it: the vocabulary only.
  copy_gguf(tmp / "ours.gguf", tmp / "llama.gguf", {"trit.tokenizer.spm"});
  ASSERT_FALSE(GgufFile(tmp / "llama.gguf").find("trit.tokenizer.spm"));
  const LoadedModel lm = load_model_gguf(tmp / "llama.gguf");
  ASSERT_FALSE(lm.tokenizer_spm.empty()) << lm.tokenizer_missing;
  EXPECT_TRUE(lm.tokenizer_missing.empty());
  const Tokenizer rebuilt = Tokenizer::from_bytes(lm.tokenizer_spm, "rebuilt");
  EXPECT_EQ(rebuilt.vocab_size(), 320);
  EXPECT_EQ(rebuilt.ggml_token_type(310), 5);
  expect_same_tokenizer(rebuilt, tok);

  // The C API and `trit generate` use it.
  char err[256];
  trit_model* tm = trit_load((tmp / "llama.gguf").c_str(), 32, 1, err, sizeof err);
  ASSERT_NE(tm, nullptr) << err;
  int32_t ids[64];
  const int n = trit_tokenize(tm, "the union is strong", 1, ids, 64);
  const auto expected = tok.encode("the union is strong");
  ASSERT_EQ(n, static_cast<int>(expected.size()) + 1);
  EXPECT_EQ(ids[0], 1);
  for (int i = 1; i < n; ++i) EXPECT_EQ(static_cast<uint32_t>(ids[i]), expected[i - 1]);
  trit_free(tm);
  const auto r = test::run_trit("generate -m " + tmp / "llama.gguf" + " -p 'the union' -n 4 --temp 0 -t 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // A llama vocabulary with add_space_prefix written as false is honoured.
  copy_gguf(tmp / "ours.gguf", tmp / "noprefix.gguf", {"trit.tokenizer.spm"},
            [](GgufWriter& w) { w.set_bool("tokenizer.ggml.add_space_prefix", false); });
  const LoadedModel np = load_model_gguf(tmp / "noprefix.gguf");
  const Tokenizer np_tok = Tokenizer::from_bytes(np.tokenizer_spm, "rebuilt");
  EXPECT_NE(np_tok.encode("state"), tok.encode("state"));
  EXPECT_EQ(np_tok.decode(np_tok.encode("state")), "state");
}

TEST(GgmlVocab, UnusableVocabulariesLeaveAModelThatRunsByIds) {
  test::TempDir tmp;
  const Tokenizer tok = train_small_tokenizer(tmp, 300);
  write_nano_model(tmp / "ours.gguf", 300, 12, &tok);

  // A GPT-2 style (byte-level BPE with merges) vocabulary is not rebuilt: the model loads without a
  // tokenizer, and what needs text says why.
  copy_gguf(tmp / "ours.gguf", tmp / "gpt2.gguf", {"trit.tokenizer.spm"}, [](GgufWriter& w) {
    w.set_str("tokenizer.ggml.model", "gpt2");
    w.set_str_array("tokenizer.ggml.merges", {"\xc4\xa0 t", "h e"});
  });
  const LoadedModel gpt2 = load_model_gguf(tmp / "gpt2.gguf");
  EXPECT_TRUE(gpt2.tokenizer_spm.empty());
  EXPECT_NE(gpt2.tokenizer_missing.find("only SentencePiece (\"llama\") vocabularies"), std::string::npos)
      << gpt2.tokenizer_missing;
  EXPECT_EQ(gpt2.weights.config.vocab_size, 300);
  auto r = test::run_trit("generate -m " + tmp / "gpt2.gguf" + " -p 'the union' -n 4 -t 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("tokenizer.ggml.model is 'gpt2'"), std::string::npos) << r.output;
  char err[256];
  trit_model* tm = trit_load((tmp / "gpt2.gguf").c_str(), 32, 1, err, sizeof err);
  ASSERT_NE(tm, nullptr) << err;
  int32_t ids[8];
  EXPECT_EQ(trit_tokenize(tm, "hello", 1, ids, 8), -1);
  EXPECT_NE(std::string(trit_last_error(tm)).find("only SentencePiece"), std::string::npos) << trit_last_error(tm);
  trit_free(tm);

  // A llama vocabulary whose arrays disagree: loads, and the reason names the array.
  copy_gguf(tmp / "ours.gguf", tmp / "short.gguf", {"trit.tokenizer.spm"},
            [](GgufWriter& w) { w.set_f32_array("tokenizer.ggml.scores", std::vector<float>(299, 0.0f)); });
  const LoadedModel shortv = load_model_gguf(tmp / "short.gguf");
  EXPECT_TRUE(shortv.tokenizer_spm.empty());
  EXPECT_NE(shortv.tokenizer_missing.find("tokenizer.ggml.scores has 299 entries for 300 tokens"), std::string::npos)
      << shortv.tokenizer_missing;

  // No tokenizer at all.
  copy_gguf(tmp / "ours.gguf", tmp / "bare.gguf",
            {"trit.tokenizer.spm", "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
             "tokenizer.ggml.token_type"});
  const LoadedModel bare = load_model_gguf(tmp / "bare.gguf");
  EXPECT_TRUE(bare.tokenizer_spm.empty());
  EXPECT_NE(bare.tokenizer_missing.find("carries no tokenizer"), std::string::npos) << bare.tokenizer_missing;
  r = test::run_trit("generate -m " + tmp / "bare.gguf" + " -p 'the union' -n 4 -t 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("carries no tokenizer"), std::string::npos) << r.output;
}

// ggml's other tensor types (here Q4_0 embeddings, as llama-quantize writes by default) are read and
// listed; the loader then names the tensor, its type and how to requantize.
TEST(GgmlVocab, ForeignTensorTypesAreListedAndRefusedByName) {
  test::TempDir tmp;
  const Config c = write_nano_model(tmp / "ours.gguf", preset_config("nano").vocab_size, 12, nullptr);
  GgufFile f(tmp / "ours.gguf");
  GgufWriter w;
  w.set_str("general.architecture", f.find("general.architecture")->as_str());
  for (const std::string& k : f.key_order()) {
    const GgufValue& v = *f.find(k);
    if (v.type == GgufValueType::U32) w.set_u32(k, static_cast<uint32_t>(v.as_u64()));
    else if (v.type == GgufValueType::F32) w.set_f32(k, static_cast<float>(v.as_f64()));
    else if (v.type == GgufValueType::STRING) w.set_str(k, v.as_str());
    else if (v.type == GgufValueType::BOOL) w.set_bool(k, std::get<bool>(v.v));
  }
  const auto q4_0 = static_cast<TensorType>(2);
  const uint64_t q4_bytes = tensor_bytes(q4_0, c.hidden_size, c.vocab_size);
  EXPECT_EQ(q4_bytes, static_cast<uint64_t>(c.hidden_size) / 32 * 18 * c.vocab_size);
  const std::vector<uint8_t> zeros(q4_bytes, 0);
  for (const GgufTensorInfo& t : f.tensors()) {
    if (t.name == "token_embd.weight") w.add_tensor(t.name, q4_0, t.dims, zeros.data(), zeros.size());
    else w.add_tensor(t.name, t.type, t.dims, f.data(t), t.bytes);
  }
  w.write(tmp / "q4.gguf");
  GgufFile g(tmp / "q4.gguf");
  const GgufTensorInfo* e = g.tensor("token_embd.weight");
  ASSERT_TRUE(e);
  EXPECT_STREQ(tensor_type_name(e->type), "Q4_0");
  EXPECT_EQ(e->bytes, q4_bytes);
  expect_error_containing([&] { load_model_gguf(tmp / "q4.gguf"); }, "token_embd.weight has type Q4_0");
  expect_error_containing([&] { load_model_gguf(tmp / "q4.gguf"); }, "--token-embedding-type f16");
}

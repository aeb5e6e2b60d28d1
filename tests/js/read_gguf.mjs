// Reads a GGUF file with Hugging Face's independent parser (@huggingface/gguf) and prints what it
// found as JSON, for tests/io/test_gguf.cpp to compare with trit's reader.
import { gguf } from "@huggingface/gguf";

const path = process.argv[2];
const { metadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
const plain = (v) => (typeof v === "bigint" ? v.toString() : v);
const meta = {};
for (const [k, v] of Object.entries(metadata)) {
  if (Array.isArray(v)) meta[k] = { array: v.length, first: plain(v[0]), last: plain(v[v.length - 1]) };
  else meta[k] = plain(v);
}
const tensors = tensorInfos.map((t) => ({
  name: t.name,
  shape: t.shape.map(plain),
  dtype: t.dtype,
  offset: plain(t.offset),
}));
console.log(JSON.stringify({ metadata: meta, tensors, tensorDataOffset: plain(tensorDataOffset) }));

// Usage (NODE_PATH=BUILD/oracle/node_modules): node scripts/gen_tokenizer_word_ids.js SOURCE_DIR BUILD/oracle/built > tests/data/tokenizers/word_ids.json
// (BUILD/oracle/built: written by tests/oracle/oracle.js build, as the tokenizer_oracle test does)
const [src, built] = [process.argv[2], process.argv[3]];
const os = require('os');
// Oracle ids of words in their word-initial form (embedlab tests/data/tokenizers/word_ids.json).
const t = require('@anush008/tokenizers');
const words = ["the", "cat", "house", "king", "queen", "language", "embedding", "geometry", "Paris", "naïve", "Straße", "東京", "xyzzy"];
const files = {
  "llama2-mini": [src + "/tests/data/tokenizers/llama2-mini.tokenizer.json", w => w],
  "qwen3-mini": [src + "/tests/data/tokenizers/qwen3-mini.tokenizer.json", w => " " + w],
  "llama2-mini-metaspace": [os.tmpdir() + "/llama2-mini-metaspace.json", w => w],
  "bert-base-uncased": [built + "/bert-base-uncased/tokenizer.json", w => w],
};
const fs = require('fs');
{ // llama2-mini with the Metaspace pre-tokenizer (prepend_scheme) in place of the Prepend + Replace normalizer
  const j = JSON.parse(fs.readFileSync(files["llama2-mini"][0], 'utf8'));
  j.normalizer = null;
  j.pre_tokenizer = {type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: false};
  fs.writeFileSync(os.tmpdir() + "/llama2-mini-metaspace.json", JSON.stringify(j));
}
(async () => {
  const out = {"_provenance": "ids by Hugging Face tokenizers 0.22 (npm @anush008/tokenizers@0.6.0) of encode(form, null, {addSpecialTokens: false}); form = the word (llama2-mini: its normalizer prepends U+2581; bert-base-uncased: the tokenizer.json the oracle builds from bert-base-uncased/vocab.txt) or ' ' + word (qwen3-mini, byte-level); llama2-mini-metaspace: llama2-mini with normalizer null and pre_tokenizer {type: Metaspace, replacement: U+2581, prepend_scheme: always, split: false}"};
  for (const [name, [file, form]] of Object.entries(files)) {
    const tk = t.Tokenizer.fromFile(file);
    out[name] = {};
    for (const w of words) {
      const e = await tk.encode(form(w), null, {addSpecialTokens: false});
      out[name][w] = {ids: Array.from(e.getIds()), tokens: e.getTokens()};
    }
  }
  console.log(JSON.stringify(out, null, 1));
})();

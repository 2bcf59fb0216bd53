#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets (tests/fuzz/corpus/<target>/): small valid files of every
reader and one file per bad input of ../shared/CONVENTIONS.md. Deterministic; rerun after a change
and commit the result. Usage: /usr/bin/python3 scripts/gen_fuzz_corpus.py [OUT_DIR]"""
import gzip
import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- safetensors ---------------------------------------------------------------------------------
def st(header, data=b"", raw_len=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h) if raw_len is None else raw_len) + h + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def safetensors():
    v12 = f32([i * 0.25 - 1 for i in range(12)])
    put("safetensors", "valid_f32", st({"emb": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}}, v12))
    put("safetensors", "valid_multi_meta", st({
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]},
        "b": {"dtype": "BF16", "shape": [2], "data_offsets": [8, 12]},
        "c": {"dtype": "F64", "shape": [1, 1], "data_offsets": [12, 20]},
        "d": {"dtype": "I32", "shape": [], "data_offsets": [20, 24]}},
        struct.pack("<4e", 1, -2, 0.5, 3) + b"\x80\x3f\x00\xc0" + struct.pack("<d", 2.5) + struct.pack("<i", 7)))
    put("safetensors", "short_file", b"\x10\x00\x00")
    put("safetensors", "header_past_eof", st(b'{"a":1}', raw_len=4096))
    put("safetensors", "header_len_2_64", st(b"{}", raw_len=2**64 - 8))
    put("safetensors", "header_over_100MB", st(b"{}", raw_len=100_000_001))
    put("safetensors", "not_utf8", st(b'{"\xff\xfe":{}}'))
    put("safetensors", "not_json", st(b"{not json"))
    put("safetensors", "json_array", st(b"[1,2,3]"))
    put("safetensors", "duplicate_names", st(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        f32([1, 2])))
    put("safetensors", "metadata_not_string", st({"__metadata__": {"k": 1}}))
    one = {"dtype": "F32", "shape": [1, 1]}
    put("safetensors", "overlapping", st({"a": dict(one, data_offsets=[0, 4]), "b": dict(one, data_offsets=[2, 6])},
                                         f32([1, 2])))
    put("safetensors", "reversed", st({"a": dict(one, data_offsets=[4, 0])}, f32([1])))
    put("safetensors", "gapped", st({"a": dict(one, data_offsets=[0, 4]), "b": dict(one, data_offsets=[8, 12])},
                                    f32([1, 2, 3])))
    put("safetensors", "not_at_zero", st({"a": dict(one, data_offsets=[4, 8])}, f32([1, 2])))
    put("safetensors", "trailing_bytes", st({"a": dict(one, data_offsets=[0, 4])}, f32([1, 2])))
    put("safetensors", "data_short", st({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32([1])))
    put("safetensors", "shape_overflow", st({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}},
                                            f32([1])))
    put("safetensors", "dtype_f8", st({"a": {"dtype": "F8_E4M3", "shape": [2, 2], "data_offsets": [0, 4]}}, b"\1\2\3\4"))
    put("safetensors", "dtype_unknown", st({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
    put("safetensors", "bytes_mismatch", st({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}},
                                            f32([1, 2, 3])))
    # Header of 5 bytes: the data section starts at 13, not aligned for float.
    put("safetensors", "unaligned", st(b'{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}', f32([1, 2])))
    put("safetensors", "zero_rows", st({"a": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]}}))
    put("safetensors", "rank3", st({"a": {"dtype": "F32", "shape": [1, 1, 2], "data_offsets": [0, 8]}}, f32([1, 2])))
    put("safetensors", "negative_shape", st({"a": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}},
                                            f32([1, 2])))


# --- npy ------------------------------------------------------------------------------------------
def npy(header_dict, data=b"", version=(1, 0), magic=b"\x93NUMPY", raw_len=None):
    h = header_dict.encode() if isinstance(header_dict, str) else header_dict
    fmt = "<H" if version[0] == 1 else "<I"
    pre = len(magic) + 2 + struct.calcsize(fmt)
    pad = (-(pre + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    n = len(h) if raw_len is None else raw_len
    return magic + bytes(version) + struct.pack(fmt, n) + h


def npy_file(descr="'<f4'", fortran="False", shape="(2, 3)", data=None, **kw):
    d = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    if data is None:
        data = f32([0.5 * i for i in range(6)])
    return npy(d, **kw) + data


def npys():
    put("npy", "valid_f4", npy_file())
    put("npy", "valid_v2", npy_file(version=(2, 0)))
    put("npy", "valid_v3", npy_file(version=(3, 0)))
    put("npy", "valid_f8", npy_file("'<f8'", data=struct.pack("<6d", *range(6))))
    put("npy", "valid_f2", npy_file("'<f2'", data=struct.pack("<6e", *range(6))))
    put("npy", "big_endian", npy_file("'>f4'", data=struct.pack(">6f", *range(6))))
    put("npy", "fortran", npy_file(fortran="True"))
    put("npy", "bad_magic", npy_file(magic=b"\x93NUMPZ"))
    put("npy", "version_4", npy_file(version=(4, 0)))
    put("npy", "header_past_eof", npy_file(raw_len=60000))
    put("npy", "missing_key", npy("{'descr': '<f4', 'shape': (2, 3), }") + f32(range(6)))
    put("npy", "extra_key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }") + f32(range(6)))
    put("npy", "negative_shape", npy_file(shape="(-2, 3)"))
    put("npy", "fortran_not_bool", npy_file(fortran="1"))
    put("npy", "object_dtype", npy_file("'|O'"))
    put("npy", "structured_dtype", npy_file("[('a', '<f4'), ('b', '<f4')]"))
    put("npy", "data_short", npy_file(data=f32([1, 2])))
    put("npy", "malformed_dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }") + f32(range(6)))
    put("npy", "rank1", npy_file(shape="(6,)"))
    put("npy", "shape_overflow", npy_file(shape="(4611686018427387904, 4611686018427387904)"))


# --- GloVe / word2vec text ------------------------------------------------------------------------
def word_texts():
    glove = "the 0.1 0.2 -0.3\ncat 1e-3 2.5 3\nnaïve 0 0 1\nहु 0.5 0.5 0.5\n"
    put("word_text", "valid_glove", glove)
    put("word_text", "valid_word2vec_header", "3 2\nа 0.1 0.2\nб 1 2\nв -1 -2\n")
    put("word_text", "valid_gzip", gzip.compress(glove.encode(), mtime=0))
    put("word_text", "crlf", "a 1 2\r\nb 3 4\r\n")
    put("word_text", "ragged", "a 1 2 3\nb 1 2\n")
    put("word_text", "non_numeric", "a 1 x 3\n")
    put("word_text", "non_finite", "a 1 nan 3\nb inf 1 2\n")
    put("word_text", "duplicate", "a 1 2\nb 3 4\na 5 6\n")
    put("word_text", "invalid_utf8", b"\xff\xfe 1 2\n")
    put("word_text", "empty", b"")
    put("word_text", "header_lies_count", "1000000000 2\na 1 2\n")
    put("word_text", "header_lies_dim", "2 99999999\na 1 2\n")
    put("word_text", "truncated_last", "a 1 2 3\nb 1 2")
    put("word_text", "truncated_gzip", gzip.compress(glove.encode(), mtime=0)[:30])


# --- word2vec binary ------------------------------------------------------------------------------
def w2v(header, records, newline=True):
    out = header.encode()
    for word, values in records:
        out += (word if isinstance(word, bytes) else word.encode()) + b" " + f32(values) + (b"\n" if newline else b"")
    return out


def word2vec_bins():
    recs = [("cat", [1, 2, 3]), ("собака", [0.5, -0.5, 0]), ("x", [0, 0, 1])]
    put("word2vec_bin", "valid", w2v("3 3\n", recs))
    put("word2vec_bin", "valid_no_newline", w2v("3 3\n", recs, newline=False))
    put("word2vec_bin", "count_lies", w2v("1000000000 3\n", recs))
    put("word2vec_bin", "dim_lies", w2v("3 1000000000\n", recs))
    put("word2vec_bin", "count_short", w2v("5 3\n", recs))
    put("word2vec_bin", "truncated_last", w2v("3 3\n", recs)[:-7])
    put("word2vec_bin", "duplicate", w2v("2 3\n", [("a", [1, 2, 3]), ("a", [1, 2, 3])]))
    put("word2vec_bin", "invalid_utf8", w2v("1 3\n", [(b"\xc3\x28", [1, 2, 3])]))
    put("word2vec_bin", "non_finite", w2v("1 3\n", [("a", [1, float("nan"), 3])]))
    put("word2vec_bin", "bad_header", b"three 3\n")
    put("word2vec_bin", "empty", b"")
    put("word2vec_bin", "header_overflow", w2v("18446744073709551615 18446744073709551615\n", recs))


# --- INI ------------------------------------------------------------------------------------------
def inis():
    with open(os.path.join(ROOT, "configs", "random_variance.ini"), "rb") as f:
        put("ini", "random_variance", f.read())
    ok = "[experiment]\nname = toy\n[sweep]\n# a comment\nn = 5\nx = 0.25\nflag = false\nmode = exact\n" \
         "dims = 2,16,128\nweights = -0.5,0.5\n[words]\nlist = a,b\n"
    put("ini", "valid_toy", ok)
    put("ini", "unknown_key", ok + "[sweep]\nnn = 3\n")
    put("ini", "duplicate_key", ok.replace("n = 5\n", "n = 5\nn = 6\n"))
    put("ini", "no_equals", ok + "just words\n")
    put("ini", "wrong_type", ok.replace("n = 5", "n = abc"))
    put("ini", "out_of_range", ok.replace("x = 0.25", "x = 7"))
    put("ini", "not_allowed", ok.replace("mode = exact", "mode = slow"))
    put("ini", "missing_required", ok.replace("name = toy\n", ""))
    put("ini", "hash_in_value", ok.replace("n = 5", "n = 5 # five"))
    put("ini", "malformed_section", "[sweep\nn = 1\n")
    put("ini", "empty_key", "[sweep]\n = 1\n")
    put("ini", "bad_list", ok.replace("dims = 2,16,128", "dims = 2,,x"))
    put("ini", "empty", b"")


# --- HDF5 -----------------------------------------------------------------------------------------
def hdf5s():
    """One valid file and one per refusal of the isolation front end (needs h5py; skipped without)."""
    try:
        import h5py
        import numpy as np
    except ImportError:
        print("h5py missing: no HDF5 seeds")
        return
    d = os.path.join(OUT, "hdf5")
    os.makedirs(d, exist_ok=True)
    v = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5) / 4

    def make(name, fill):
        with h5py.File(os.path.join(d, name), "w", libver="earliest", track_order=False) as f:
            fill(f)

    make("valid", lambda f: f.create_dataset("embeddings", data=v, track_times=False))
    make("valid_f64_chunked", lambda f: f.create_dataset("embeddings", data=v.astype(np.float64), chunks=(1, 4),
                                                         compression="gzip", track_times=False))
    make("nested_soft_link", lambda f: (f.create_dataset("a/b", data=v, track_times=False),
                                        f.__setitem__("embeddings", h5py.SoftLink("/a/b"))))
    make("external_link", lambda f: f.__setitem__("embeddings", h5py.ExternalLink("other.h5", "/x")))
    make("external_storage", lambda f: f.create_dataset("embeddings", shape=(3, 4), dtype="f4",
                                                        external=[("raw.bin", 0, 48)], track_times=False))

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(3, 4), dtype="f4")
        layout[:] = h5py.VirtualSource("other.h5", "/x", shape=(3, 4))
        f.create_virtual_dataset("embeddings", layout)
    make("virtual", virtual)
    make("int_dtype", lambda f: f.create_dataset("embeddings", data=np.arange(6).reshape(2, 3), track_times=False))
    make("rank1", lambda f: f.create_dataset("embeddings", data=np.arange(4, dtype=np.float32), track_times=False))
    make("empty_rows", lambda f: f.create_dataset("embeddings", shape=(0, 4), dtype="f4", track_times=False))
    with open(os.path.join(d, "valid"), "rb") as f:
        whole = f.read()
    put("hdf5", "truncated", whole[:len(whole) // 2])
    put("hdf5", "not_hdf5", b"\x89HDF\r\n\x1a\nnot really")


# --- tokenizer ------------------------------------------------------------------------------------
def tokenizer_texts():
    texts = ["Hello world", " the cat sat on the mat.", "naïve café — ☃ 😀", "<|endoftext|>x<|endoftext|>",
             "  \n\n\t multiple   spaces", "don't I'll we've", "1234567890 3.14", "Привет, мир", "日本語のテキスト"]
    for i, t in enumerate(texts):
        put("tokenizer", "text%02d" % i, t)
    put("tokenizer", "invalid_utf8", b"ok \xff\xfe bytes \xc3")
    put("tokenizer", "cut_multibyte", "😀".encode()[:3])
    cases = os.path.join(ROOT, "tests", "data", "gpt2-golden", "tokenizer_cases.json")
    if os.path.exists(cases):
        with open(cases) as f:
            for i, c in enumerate(json.load(f)["cases"][:20]):
                if len(c["text"].encode()) < 2000:
                    put("tokenizer", "golden%02d" % i, c["text"])


# --- tokenizer.json -------------------------------------------------------------------------------
def tokenizer_jsons():
    chars = list("abcdefghijklmnopqrstuvwxyz ") + ["\u0120", "\u2581", "##a", "<0x41>", "[UNK]", "<unk>", "<s>", "</s>"]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({"ab": len(vocab), "abc": len(vocab) + 1})
    merges = ["a b", "ab c"]
    full = {
        "version": "1.0",
        "added_tokens": [{"id": vocab["<s>"], "content": "<s>", "single_word": False, "lstrip": True, "rstrip": False,
                          "normalized": False, "special": True},
                         {"id": 99, "content": "xyz", "single_word": True, "lstrip": False, "rstrip": True,
                          "normalized": True, "special": False}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "StripAccents"}, {"type": "Strip", "strip_left": True,
             "strip_right": False}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Prepend", "prepend": "\u2581"}, {"type": "BertNormalizer", "clean_text": True,
             "handle_chinese_chars": True, "strip_accents": None, "lowercase": False}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
            {"type": "Digits", "individual_digits": True}, {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": True,
                  "vocab": vocab, "merges": merges},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                    {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0},
                    {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
                    {"type": "WordPiece", "prefix": "##", "cleanup": True}, {"type": "ByteLevel"}]},
    }
    put("tokenizer_json", "full_bpe", json.dumps(full))
    wp = {"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 100, "vocab": vocab},
          "post_processor": {"type": "BertProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]]},
          "decoder": {"type": "WordPiece"}}
    put("tokenizer_json", "wordpiece", json.dumps(wp))
    pairs = dict(full, model=dict(full["model"], merges=[["a", "b"], ["ab", "c"]]))
    put("tokenizer_json", "merge_pairs", json.dumps(pairs))
    hostile = {
        "unknown_type": dict(full, normalizer={"type": "Precompiled", "precompiled_charsmap": "AAAA"}),
        "cyclic_merges": dict(full, model=dict(full["model"], merges=["a b", "ab c", "a b", "b a"])),
        "missing_merge_token": dict(full, model=dict(full["model"], merges=["a q"])),
        "invalid_regex": dict(full, pre_tokenizer={"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Removed"}),
        "catastrophic_regex": dict(full, pre_tokenizer={"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Removed"}),
        "id_out_of_range": dict(full, model=dict(full["model"], vocab=dict(vocab, zz=123456789))),
        "negative_id": dict(full, model=dict(full["model"], vocab=dict(vocab, zz=-1))),
        "huge_added_id": dict(full, added_tokens=[{"id": 4294967295, "content": "q", "special": True}]),
        "not_object": [1, 2, 3],
        "empty": {},
    }
    for name, j in hostile.items():
        put("tokenizer_json", name, json.dumps(j))
    put("tokenizer_json", "truncated", json.dumps(full)[:300])


# --- GPT-2 config.json ---------------------------------------------------------------------------
def gpt2_configs():
    hub = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
           "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
           "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
           "n_inner": None, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1,
           "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
           "scale_attn_weights": True, "summary_activation": None, "tie_word_embeddings": True,
           "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
           "vocab_size": 50257}
    put("gpt2_config", "hub_gpt2", json.dumps(hub, indent=2))
    small = {"n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 16, "vocab_size": 32}
    put("gpt2_config", "small", json.dumps(small))
    for i, act in enumerate(["gelu", "relu", "silu", "gelu_pytorch_tanh", "foo", 3]):
        put("gpt2_config", "activation%d" % i, json.dumps(dict(small, activation_function=act)))
    variants = {"no_scale": {"scale_attn_weights": False}, "inverse_layer": {"scale_attn_by_inverse_layer_idx": True},
                "reorder": {"reorder_and_upcast_attn": True}, "untied": {"tie_word_embeddings": False},
                "n_inner": {"n_inner": 20}, "eps": {"layer_norm_epsilon": 0.5}, "flag_string": {"scale_attn_weights": "yes"},
                "eps_zero": {"layer_norm_epsilon": 0}, "n_inner_zero": {"n_inner": 0}, "n_ctx_only": {"n_positions": None,
                "n_ctx": 16}, "indivisible": {"n_head": 3}, "huge_layers": {"n_layer": 2147483647},
                "negative": {"n_embd": -8}, "float_size": {"n_embd": 8.0}, "llama": {"model_type": "llama"}}
    for name, v in variants.items():
        put("gpt2_config", name, json.dumps(dict(small, **v)))
    put("gpt2_config", "duplicate_key", '{"n_layer": 1, "n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 4, '
        '"vocab_size": 5}')
    put("gpt2_config", "not_object", "[1, 2]")
    put("gpt2_config", "not_json", "{n_layer: 1")
    put("gpt2_config", "invalid_utf8", b'{"model_type": "gpt2\xff"}')
    put("gpt2_config", "empty", b"")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    safetensors()
    npys()
    word_texts()
    word2vec_bins()
    hdf5s()
    inis()
    tokenizer_texts()
    tokenizer_jsons()
    gpt2_configs()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s (%d bytes)" % (OUT, total))


if __name__ == "__main__":
    main()

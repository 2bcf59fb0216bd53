#!/usr/bin/python3
"""Peer benchmark for bench_model: a plain PyTorch GPT-2 (no transformers) on the same checkpoint.

    build/bin/bench_model --keep /tmp/gpt2-bench        # writes config.json + model.safetensors
    /usr/bin/python3 scripts/bench_model_torch.py /tmp/gpt2-bench [--prompt 128] [--gen 32]

Measures prefill tokens/s (the prompt at once, logits of the last position) and generation tokens/s
(one token per step with a KV cache, greedy), with 1 and 2 threads (OPENBLAS_NUM_THREADS and
torch.set_num_threads), keeping the best of each. Prints a markdown table. Needs Debian's
python3-torch (apt-get install python3-torch); the safetensors file is parsed here (JSON header +
raw little-endian F32), so the `safetensors` package is not needed.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("error: PyTorch is not installed (Debian: apt-get install python3-torch)")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = np.fromfile(f, dtype=np.uint8)
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            sys.exit(f"error: {path}: tensor '{name}': dtype {e['dtype']} (expected F32)")
        b, end = e["data_offsets"]
        arr = data[b:end].view("<f4").reshape(e["shape"])
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        out[key] = torch.from_numpy(arr)
    return out


class Gpt2:
    """Minimal GPT-2: pre-LayerNorm blocks, causal attention with a KV cache, gelu_new, tied lm_head."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.L, self.H, self.C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.out = w.get("lm_head.weight", w["wte.weight"])

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, (self.C,), self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    @staticmethod
    def gelu(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    def forward(self, ids, cache, pos):
        """ids: (T,) long; cache: per layer [K, V] of (H, P, hs); returns logits of the last position."""
        T, C, H = ids.shape[0], self.C, self.H
        hs = C // H
        x = self.w["wte.weight"][ids] + self.w["wpe.weight"][pos:pos + T]  # (T, C)
        for l in range(self.L):
            p = f"h.{l}."
            h = self.ln(x, p + "ln_1")
            qkv = torch.addmm(self.w[p + "attn.c_attn.bias"], h, self.w[p + "attn.c_attn.weight"])  # (T, 3C)
            q, k, v = qkv.split(C, dim=1)
            q = q.view(T, H, hs).transpose(0, 1)  # (H, T, hs)
            k = k.view(T, H, hs).transpose(0, 1)
            v = v.view(T, H, hs).transpose(0, 1)
            K, V = cache[l]
            K[:, pos:pos + T] = k
            V[:, pos:pos + T] = v
            keys, vals = K[:, :pos + T], V[:, :pos + T]
            att = torch.matmul(q, keys.transpose(1, 2)) / math.sqrt(hs)  # (H, T, pos+T)
            if T > 1:
                mask = torch.ones(T, pos + T, dtype=torch.bool).tril(diagonal=pos)
                att = att.masked_fill(~mask, float("-inf"))
            att = torch.softmax(att, dim=-1)
            y = torch.matmul(att, vals).transpose(0, 1).reshape(T, C)
            x = x + torch.addmm(self.w[p + "attn.c_proj.bias"], y, self.w[p + "attn.c_proj.weight"])
            h = self.ln(x, p + "ln_2")
            f = self.gelu(torch.addmm(self.w[p + "mlp.c_fc.bias"], h, self.w[p + "mlp.c_fc.weight"]))
            x = x + torch.addmm(self.w[p + "mlp.c_proj.bias"], f, self.w[p + "mlp.c_proj.weight"])
        last = self.ln(x[-1:], "ln_f")
        return (last @ self.out.t())[0]

    def new_cache(self, capacity):
        hs = self.C // self.H
        return [[torch.zeros(self.H, capacity, hs), torch.zeros(self.H, capacity, hs)] for _ in range(self.L)]


def measure(model, prompt, n_gen, reps):
    cache = model.new_cache(len(prompt) + n_gen)
    ids = torch.tensor(prompt, dtype=torch.long)
    with torch.inference_mode():
        model.forward(ids[:8], cache, 0)  # warm-up
        t_prefill, t_gen, greedy = 1e300, 1e300, []
        for _ in range(reps):
            t0 = time.perf_counter()
            z = model.forward(ids, cache, 0)
            t_prefill = min(t_prefill, time.perf_counter() - t0)
            greedy = []
            t0 = time.perf_counter()
            for k in range(n_gen):
                nxt = int(torch.argmax(z))  # first maximal index = lowest id on ties
                greedy.append(nxt)
                z = model.forward(torch.tensor([nxt]), cache, len(prompt) + k)
            t_gen = min(t_gen, time.perf_counter() - t0)
    return len(prompt) / t_prefill, n_gen / t_gen, greedy


def run_one(args, threads):
    """One measurement in this process (OPENBLAS_NUM_THREADS was set before torch was imported)."""
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    model = Gpt2(load_safetensors(os.path.join(args.dir, "model.safetensors")), cfg)
    # bench_model's prompt when it left one (then the greedy ids must equal bench_model's)
    prompt_path = os.path.join(args.dir, "bench_prompt.json")
    if os.path.exists(prompt_path):
        prompt = json.load(open(prompt_path))["ids"][:args.prompt]
    else:
        rng = np.random.default_rng(7)
        prompt = [int(i) for i in rng.integers(0, cfg["vocab_size"], args.prompt)]
    pf, gen, greedy = measure(model, prompt, args.gen, args.reps)
    print(json.dumps({"threads": threads, "prefill": pf, "generation": gen, "greedy": greedy[:8]}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="checkpoint written by bench_model --keep DIR")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_one(args, args.child)
        return

    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    rows = []
    for th in args.threads:
        # a fresh interpreter per thread count: OpenBLAS reads OPENBLAS_NUM_THREADS when it loads
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(th), OMP_NUM_THREADS=str(th))
        cmd = [sys.executable, os.path.abspath(__file__), args.dir, "--prompt", str(args.prompt), "--gen",
               str(args.gen), "--reps", str(args.reps), "--child", str(th)]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"error: measurement with {th} threads failed: {res.stderr.strip()}")
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))

    print(f"## PyTorch {torch.__version__} minimal GPT-2 ({cfg['n_layer']} layers, C={cfg['n_embd']}, "
          f"V={cfg['vocab_size']}, prompt {args.prompt}, {args.gen} generated)\n")
    print("| threads | prefill tok/s | generation tok/s |\n|---|---|---|")
    for r in rows:
        print(f"| {r['threads']} | {r['prefill']:.1f} | {r['generation']:.1f} |")
    bp = max(rows, key=lambda r: r["prefill"])
    bg = max(rows, key=lambda r: r["generation"])
    print(f"| best | {bp['prefill']:.1f} ({bp['threads']} thr) | {bg['generation']:.1f} ({bg['threads']} thr) |")
    print(f"\ngreedy ids (first 8): {' '.join(map(str, rows[0]['greedy']))}")
    print(f"RESULT prefill_tps={bp['prefill']:.2f} gen_tps={bg['generation']:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Perplexity of llama.cpp (through llama-cpp-python) on a raw text file with exactly the windows `aprhost eval`
uses, for a side-by-side check of `aprhost eval` (docs/tools.md). Not a test.

    scripts/eval-llamacpp.py [MODEL] --dataset FILE [--ctx 512] [--stride 256] [--threads 2] [--json]

MODEL defaults to models/SmolLM2-135M-Instruct.Q4_1.gguf. Method (core/src/perplexity.cpp):
  tokens  = the whole text tokenized by llama.cpp's tokenizer, BOS prepended once when the model asks for it,
            no special-token parsing;
  windows = begin 0, stride, 2·stride, ... each of up to ctx tokens, stopping at the window that reaches the end;
            a window scores positions [max(end of the previous window, begin + 1), end), so every token after the
            first is scored exactly once, each with its window's preceding tokens as context;
  NLL     = -log softmax(logits of position p - 1)[token p], computed in float64 from llama.cpp's float32 logits;
  PPL     = exp(mean NLL), 95 % CI = PPL ± 1.96 · PPL · (sd(NLL) / sqrt(n)) (delta method).
The KV cache is cleared before each window. This is NOT llama.cpp's own `llama-perplexity` method (which scores
only the second half of non-overlapping windows), so the numbers compare with `aprhost eval`, not with that tool.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np


def plan_windows(n, ctx, stride):
    out, prev_end, begin = [], 0, 0
    while begin < n:
        end = min(begin + ctx, n)
        frm = max(prev_end, begin + 1)
        if frm < end:
            out.append((begin, end, frm))
        prev_end = end
        if end == n:
            break
        begin += stride
    return out


def main():
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=os.path.join(repo, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--stride", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON record")
    args = ap.parse_args()
    if not os.path.isfile(args.model):
        sys.exit(f"eval-llamacpp: {args.model} missing; run scripts/fetch-models.sh")
    if args.ctx < 2 or not 1 <= args.stride <= args.ctx:
        sys.exit("eval-llamacpp: need ctx >= 2 and 1 <= stride <= ctx")

    import llama_cpp
    from llama_cpp import Llama

    with open(args.dataset, "rb") as f:
        text = f.read()
    llm = Llama(args.model, n_ctx=args.ctx, n_batch=args.ctx, n_ubatch=min(args.ctx, 512), n_threads=args.threads,
                n_threads_batch=args.threads, logits_all=True, verbose=False)
    tokens = llm.tokenize(text, add_bos=True, special=False)  # add_bos follows the model's own flag
    windows = plan_windows(len(tokens), args.ctx, args.stride)
    nll = []
    t0 = time.perf_counter()
    for i, (b, e, frm) in enumerate(windows):
        llm.reset()  # n_tokens = 0: eval() then removes every cached position before feeding the window
        llm.eval(tokens[b:e])
        logits = np.asarray(llm.scores[: e - b], dtype=np.float64)
        for p in range(frm, e):
            row = logits[p - b - 1]
            m = row.max()
            nll.append(m + math.log(np.exp(row - m).sum()) - row[tokens[p]])
        if sys.stderr.isatty():
            print(f"\r{i + 1}/{len(windows)} windows", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    secs = time.perf_counter() - t0
    a = np.asarray(nll)
    mean = float(a.mean())
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0
    ppl = math.exp(mean)
    rec = {"engine": "llama.cpp", "llama_cpp_python": llama_cpp.__version__, "model": os.path.basename(args.model),
           "dataset": args.dataset, "ctx": args.ctx, "stride": args.stride, "tokens": len(tokens),
           "tokens_scored": len(a), "windows": len(windows), "mean_nll": mean, "nll_stderr": se, "ppl": ppl,
           "ppl_ci95": [ppl - 1.96 * ppl * se, ppl + 1.96 * ppl * se], "finite": bool(np.isfinite(a).all()),
           "eval_s": secs}
    if args.json:
        print(json.dumps(rec, indent=2))
    else:
        print(f"llama.cpp {llama_cpp.__version__}: {rec['model']} on {args.dataset}: {len(tokens)} tokens, "
              f"{len(windows)} windows (ctx {args.ctx}, stride {args.stride}), {len(a)} scored")
        print(f"perplexity {ppl:.4f} (95 % CI {rec['ppl_ci95'][0]:.4f} – {rec['ppl_ci95'][1]:.4f}) | "
              f"mean NLL {mean:.5f} ± {se:.5f} | {secs:.1f} s")


if __name__ == "__main__":
    main()

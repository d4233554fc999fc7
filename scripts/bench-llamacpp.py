#!/usr/bin/env python3
"""Prefill and decode throughput of llama.cpp (through llama-cpp-python) on the same model, prompt and number of
generated tokens as scripts/bench-cpu.sh, measured the way aprhost measures them, for side-by-side numbers in
docs/benchmarks.md. Not a test: timings depend on the machine and its load.

    scripts/bench-llamacpp.py [MODEL] [--threads 2] [--reps 3] [--gen 128] [--ctx 4096] [--warmup 1] [--json]

MODEL defaults to models/SmolLM2-135M-Instruct.Q4_1.gguf. How it measures (as core/src/generator.cpp does):
  prefill tok/s = prompt tokens / time of the one batched eval of the prompt;
  TTFT          = from the start of that eval to the first token picked;
  decode tok/s  = (generated - 1) / time from the first token picked to the last one, i.e. the single-token evals
                  (and the argmax picks) after the first sampled token.
Greedy (argmax over the logits, no llama.cpp sampler), EOS ignored, the prompt tokenized with the model's own BOS
flag and no special-token parsing, one batch for the whole prompt, median over --reps runs on the loaded model
after --warmup untimed runs (prompt + 8 tokens; as llama-bench does, so OpenMP start-up and first page faults
are not timed: bench-cpu.sh starts a fresh aprhost process per run, whose start-up is outside its timers too).
llama.cpp's own counters (llama_perf_context) are reported too. Note: llama.cpp keeps the KV cache in f16 by
default (aprhost: f32), and a pip build of llama.cpp uses every ISA of the build machine (AVX-512 where present).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

# The prompt of scripts/bench-cpu.sh, byte for byte (its newlines included).
PROMPT = """The history of computing is a story of abstraction layered upon abstraction. Early machines were programmed
by rewiring panels, then by punching cards, then by writing assembly language that mapped one to one onto the
instructions of the processor. High level languages arrived and compilers took over the translation, which let
programmers think about algorithms rather than registers. Operating systems hid the details of devices behind
files and processes. Networks turned single computers into parts of larger systems. Today, large language models
run on"""


def run_once(llm, llama_cpp, prompt_ids, n_gen):
    ctx = llm.ctx
    n_vocab = llm.n_vocab()
    llm.reset()
    llama_cpp.llama_perf_context_reset(ctx)

    def pick():
        z = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
        return int(np.argmax(z))

    t_start = time.perf_counter()
    llm.eval(prompt_ids)
    prefill_s = time.perf_counter() - t_start
    t_first = None
    generated = 0
    for i in range(n_gen):
        tok = pick()
        if i == 0:
            ttft_s = time.perf_counter() - t_start
            t_first = time.perf_counter()
        generated += 1
        if i + 1 == n_gen:
            break
        llm.eval([tok])
    decode_s = time.perf_counter() - t_first
    perf = llama_cpp.llama_perf_context(ctx)
    return {
        "prefill_ms": prefill_s * 1e3,
        "prefill_tok_s": len(prompt_ids) / prefill_s,
        "ttft_ms": ttft_s * 1e3,
        "decode_ms": decode_s * 1e3,
        "decode_tok_s": (generated - 1) / decode_s if generated > 1 else 0.0,
        "generated_tokens": generated,
        # llama.cpp's own timers: prompt eval (batches of more than one token) and single-token evals.
        "llama_perf": {"t_p_eval_ms": perf.t_p_eval_ms, "n_p_eval": perf.n_p_eval,
                       "t_eval_ms": perf.t_eval_ms, "n_eval": perf.n_eval},
    }


def main():
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=os.path.join(repo, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--ctx", type=int, default=4096, help="context size (aprhost run's default is 4096)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones")
    ap.add_argument("--json", action="store_true", help="print one JSON record instead of a table")
    args = ap.parse_args()
    if not os.path.isfile(args.model):
        sys.exit(f"bench-llamacpp: {args.model} missing; run scripts/fetch-models.sh")
    if args.gen < 2 or args.reps < 1:
        sys.exit("bench-llamacpp: --gen must be at least 2 and --reps at least 1")

    import llama_cpp
    from llama_cpp import Llama

    load_t0 = time.perf_counter()
    llm = Llama(args.model, n_ctx=args.ctx, n_batch=512, n_ubatch=512, n_threads=args.threads,
                n_threads_batch=args.threads, logits_all=False, verbose=False)
    load_ms = (time.perf_counter() - load_t0) * 1e3
    prompt_ids = llm.tokenize(PROMPT.encode("utf-8"), add_bos=True, special=False)  # add_bos follows the model
    if len(prompt_ids) > 512:
        sys.exit("bench-llamacpp: the prompt no longer fits one batch of 512 tokens")
    if len(prompt_ids) + args.gen > args.ctx:
        sys.exit("bench-llamacpp: prompt + generated tokens exceed --ctx")

    for _ in range(args.warmup):
        run_once(llm, llama_cpp, prompt_ids, 8)
    runs = [run_once(llm, llama_cpp, prompt_ids, args.gen) for _ in range(args.reps)]
    med = lambda k: statistics.median(r[k] for r in runs)
    rec = {
        "engine": "llama.cpp", "llama_cpp_python": llama_cpp.__version__,
        "model": os.path.basename(args.model), "threads": args.threads, "reps": args.reps, "warmup": args.warmup,
        "prompt_tokens": len(prompt_ids), "gen_tokens": runs[0]["generated_tokens"], "load_ms": load_ms,
        "prefill_tok_s": med("prefill_tok_s"), "decode_tok_s": med("decode_tok_s"), "ttft_ms": med("ttft_ms"),
        "prefill_samples": [r["prefill_tok_s"] for r in runs], "decode_samples": [r["decode_tok_s"] for r in runs],
        "llama_perf": [r["llama_perf"] for r in runs],
        "loadavg_1_5_15": list(os.getloadavg()),
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
    }
    if args.json:
        print(json.dumps(rec))
        return
    print(f"llama.cpp (llama-cpp-python {rec['llama_cpp_python']}), {args.threads} threads, "
          f"median of {args.reps}; load average {rec['loadavg_1_5_15'][0]:.2f}")
    print(f"{'model':<34} {'prompt':>6} {'gen':>5} {'prefill t/s':>12} {'decode t/s':>11} {'TTFT ms':>9}")
    print(f"{rec['model']:<34} {rec['prompt_tokens']:>6} {rec['gen_tokens']:>5} {rec['prefill_tok_s']:>12.1f} "
          f"{rec['decode_tok_s']:>11.1f} {rec['ttft_ms']:>9.1f}")
    print("prefill samples: " + ", ".join(f"{x:.1f}" for x in rec["prefill_samples"]))
    print("decode samples:  " + ", ".join(f"{x:.1f}" for x in rec["decode_samples"]))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Records golden data for SmolLM2-135M-Instruct from llama.cpp (through llama-cpp-python) and writes it as the
C++ header tests/golden/smollm2_goldens.hpp, so the golden test needs no Python when it runs.

    scripts/llamacpp-goldens.py MODEL.gguf [-o tests/golden/smollm2_goldens.hpp]

What is recorded:
  (a) for a few fixed prompts: the token ids llama.cpp's tokenizer gives (the model's own add_bos flag, special
      tokens parsed only for the chat prompt), and the first 32 greedy tokens. Greedy decoding is done here, with
      Llama.eval and an argmax over the logits, so no llama.cpp sampler (repetition penalty, top-k, ...) is involved;
      the gap between the best and second-best logit of each step is kept so the test can tell near-ties apart.
  (b) for one fixed sequence of 17 tokens: the logits of every position (logits_all=True), stored as the top-10
      ids and values per position, the values of 32 fixed ids spread over the vocabulary, and summary statistics
      (mean, standard deviation, min, max, logsumexp).

Needs `pip install llama-cpp-python` (it builds llama.cpp from source). Deterministic: run it twice, same header
(apart from the date line).
"""
import argparse
import datetime
import hashlib
import math
import os
import sys

import numpy as np

N_GREEDY = 32
TOP_K = 10
# Besides the top-10, the logits of these fixed ids (evenly spread over the vocabulary) are stored for every
# position, so the test also sees the tail of the distribution.
N_SPREAD = 32
SPREAD_STRIDE = 1536  # 49152 / 32
SPREAD_IDS = [7 + i * SPREAD_STRIDE for i in range(N_SPREAD)]

# The ChatML prompt the model's own template renders for one user message with no system message: the template
# then inserts SmolLM2's default system message. The golden test re-renders it with aprhost's chat template.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
CHAT_USER = "What is the capital of France?"
CHAT_TEXT = (f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"
             f"<|im_start|>user\n{CHAT_USER}<|im_end|>\n<|im_start|>assistant\n")

# (name, text, parse_special)
PROMPTS = [
    ("plain", "The quick brown fox", False),
    ("chat", CHAT_TEXT, True),
    ("code", "def fibonacci(n):", False),
    ("accents_numbers", "Les élèves ont mangé 3 crêpes à 14h30, puis", False),
]

# The sequence whose logits are recorded at every position: the tokenization of this text (17 tokens with
# SmolLM2's tokenizer; the ids themselves go into the header, so the test does not depend on the tokenizer).
LOGITS_TEXT = "The capital of France is Paris. The capital of Germany is Berlin, and the capital"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def c_string(s):
    """A C++ string literal for s (UTF-8 bytes; non-printable or non-ASCII bytes as 3-digit octal escapes, which
    unlike \\x escapes cannot swallow a following character)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif 0x20 <= b < 0x7F:  # C++17 and later have no trigraphs, so '?' needs no escape
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def c_float(x):
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite logit {x}")
    s = "%.9g" % x
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def c_ints(v):
    return "{" + ", ".join(str(int(x)) for x in v) + "}"


def c_floats(v):
    return "{" + ", ".join(c_float(x) for x in v) + "}"


def comment_text(s):
    return s.replace("\n", "\\n").replace("*/", "* /")


def last_logits(llm):
    return np.array(llm.scores[llm.n_tokens - 1, :], dtype=np.float64)


def greedy(llm, prompt_ids, n):
    """First n argmax tokens after prompt_ids, and the top-1 minus top-2 logit gap of each step."""
    llm.reset()
    llm.eval(prompt_ids)
    tokens, gaps = [], []
    for _ in range(n):
        z = last_logits(llm)
        top2 = np.argsort(-z, kind="stable")[:2]
        tokens.append(int(top2[0]))
        gaps.append(float(z[top2[0]] - z[top2[1]]))
        llm.eval([int(top2[0])])
    return tokens, gaps


def position_stats(z):
    z = np.asarray(z, dtype=np.float64)
    order = np.argsort(-z, kind="stable")[:TOP_K]
    m = z.max()
    lse = m + math.log(np.exp(z - m).sum())
    return {"top_ids": [int(i) for i in order], "top_vals": [float(z[i]) for i in order],
            "mean": float(z.mean()), "stddev": float(z.std()), "min": float(z.min()), "max": float(m),
            "logsumexp": float(lse), "spread_vals": [float(z[i]) for i in SPREAD_IDS]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                           "tests", "golden", "smollm2_goldens.hpp"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(args.model, n_ctx=512, n_batch=512, n_threads=args.threads, n_threads_batch=args.threads,
                logits_all=True, verbose=False)
    # SmolLM2 has add_bos_token = false; tokenize(add_bos=True) follows the vocabulary's flag, so asking for
    # the model default is add_bos=True here (checked below against add_bos=False).
    add_bos_meta = llm.metadata.get("tokenizer.ggml.add_bos_token", "true") == "true"
    if llm.metadata.get("tokenizer.chat_template", "").find(DEFAULT_SYSTEM) < 0:
        sys.exit("llamacpp-goldens: the model's chat template does not hold the expected default system message")

    prompts = []
    for name, text, special in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=special)
        # <|im_start|> is SmolLM2's BOS id, so "starts with BOS" is no test: compare with add_bos=False instead.
        if not add_bos_meta and ids != llm.tokenize(text.encode("utf-8"), add_bos=False, special=special):
            sys.exit("llamacpp-goldens: llama.cpp added BOS although the model's add_bos_token is false")
        toks, gaps = greedy(llm, ids, N_GREEDY)
        cont = llm.detokenize(toks).decode("utf-8", errors="replace")
        prompts.append((name, text, special, ids, toks, gaps, cont))
        print(f"{name}: {len(ids)} prompt tokens, continuation {cont!r}, min gap {min(gaps):.4g}", file=sys.stderr)

    seq = llm.tokenize(LOGITS_TEXT.encode("utf-8"), add_bos=True, special=False)
    llm.reset()
    llm.eval(seq)
    rows = [position_stats(llm.scores[i, :]) for i in range(len(seq))]

    argv = " ".join(["scripts/llamacpp-goldens.py", "MODEL"] +
                    (["--threads", str(args.threads)] if args.threads != 2 else []) + ["-o", "tests/golden/smollm2_goldens.hpp"])
    L = []
    w = L.append
    w("// GENERATED by scripts/llamacpp-goldens.py -- do not edit; regenerate instead.")
    w(f"//   command:   {argv}   (MODEL = SmolLM2-135M-Instruct.Q4_1.gguf)")
    w(f"//   llama_cpp: llama-cpp-python {llama_cpp.__version__} (llama.cpp built from source by pip), "
      f"{args.threads} threads")
    w(f"//   cpu:       {llama_cpp.llama_print_system_info().decode().strip()}")
    w(f"//   date:      {datetime.date.today().isoformat()}")
    w(f"//   model:     sha256 {sha256_of(args.model)}")
    w("// Golden data for SmolLM2-135M-Instruct from llama.cpp: tokenization and the first 32 greedy tokens (argmax of")
    w("// the raw logits, no sampler) of fixed prompts, and top-10 logits + summary statistics of every position of one")
    w(f"// fixed {len(seq)}-token sequence. Used by tests/golden/smollm2_golden_test.cpp.")
    w("#pragma once")
    w("")
    w("#include <array>")
    w("#include <cstdint>")
    w("#include <vector>")
    w("")
    w("namespace aprhost::test::smollm2_goldens {")
    w("")
    w(f"inline constexpr int kGreedyTokens = {N_GREEDY};")
    w(f"inline constexpr int kTopK = {TOP_K};")
    w(f"inline constexpr const char* kDefaultSystem = {c_string(DEFAULT_SYSTEM)};")
    w(f"inline constexpr const char* kChatUser = {c_string(CHAT_USER)};")
    w("")
    w("struct PromptGolden {")
    w("    const char* name;")
    w("    const char* text;             // UTF-8")
    w("    bool parse_special;           // special tokens such as <|im_start|> are parsed (chat prompt only)")
    w("    std::vector<int32_t> ids;     // llama.cpp tokenization, the model's add_bos flag (false for SmolLM2)")
    w("    std::vector<int32_t> greedy;  // first kGreedyTokens argmax tokens after the prompt")
    w("    std::vector<float> gap;       // per greedy step: top-1 logit minus top-2 logit")
    w("};")
    w("")
    w("inline const std::vector<PromptGolden>& prompts() {")
    w("    static const std::vector<PromptGolden> v = {")
    for name, text, special, ids, toks, gaps, cont in prompts:
        w(f"        // continuation: {comment_text(cont)}")
        w(f"        {{{c_string(name)}, {c_string(text)}, {'true' if special else 'false'},")
        w(f"         {c_ints(ids)},")
        w(f"         {c_ints(toks)},")
        w(f"         {c_floats(gaps)}}},")
    w("    };")
    w("    return v;")
    w("}")
    w("")
    w(f"// The logits sequence: llama.cpp's tokenization of {c_string(LOGITS_TEXT)}.")
    w(f"inline const std::vector<int32_t> kLogitsTokens = {c_ints(seq)};")
    w("")
    w(f"inline constexpr int kSpread = {N_SPREAD};")
    w("// Ids whose logits are stored at every position besides the top-10: evenly spread over the vocabulary.")
    w(f"inline constexpr std::array<int32_t, kSpread> kSpreadIds = {c_ints(SPREAD_IDS)};")
    w("")
    w("struct PositionLogits {")
    w("    std::array<int32_t, kTopK> top_ids;  // best first (ties: lower id first)")
    w("    std::array<float, kTopK> top_vals;")
    w("    float mean, stddev, min, max, logsumexp;  // over the whole vocabulary")
    w("    std::array<float, kSpread> spread_vals;   // logits of kSpreadIds")
    w("};")
    w("")
    w("inline const std::vector<PositionLogits>& position_logits() {")
    w("    static const std::vector<PositionLogits> v = {")
    for r in rows:
        w(f"        {{{c_ints(r['top_ids'])},")
        w(f"         {c_floats(r['top_vals'])},")
        w(f"         {c_float(r['mean'])}, {c_float(r['stddev'])}, {c_float(r['min'])}, {c_float(r['max'])}, "
          f"{c_float(r['logsumexp'])},")
        w(f"         {c_floats(r['spread_vals'])}}},")
    w("    };")
    w("    return v;")
    w("}")
    w("")
    w("}  // namespace aprhost::test::smollm2_goldens")
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {args.output}: {len(prompts)} prompts, {len(seq)} logits positions", file=sys.stderr)


if __name__ == "__main__":
    main()

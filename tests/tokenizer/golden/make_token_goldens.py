#!/usr/bin/env python3
"""Prints the kGoldens table of smollm2_tokenizer_test.cpp: token ids of sample strings for
SmolLM2-135M-Instruct.Q4_1.gguf, produced by llama.cpp's tokenizer (llama-cpp-python) when it is installed,
otherwise by the HF `tokenizers` package with a BPE built from the GGUF's own vocab/merges and SmolLM2's
pre-tokenizer (Digits(individual_digits) + ByteLevel). The first line of output says which one ran.

    python3 tests/tokenizer/golden/make_token_goldens.py /path/to/SmolLM2-135M-Instruct.Q4_1.gguf [--hf]
"""
import sys

CASES = [
    ("Hello, world!", False),
    ("caf\u00e9 na\u00efve", False),
    ("\u4f60\u597d\uff0c\u4e16\u754c", False),
    ("\U0001f44b\U0001f30d", False),
    ("def f(x):\n    return x**2", False),
    ("1234567 3.14159", False),
    ("a  b   c\t\t\n\n  end  ", False),
    ("   leading and trailing   ", False),
    ("I'm sure they'll say it's OK, won't they? DON'T", False),
    ("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", True),
    ("<|im_start|>user\nHi there<|im_end|>\n", False),
    ("", True),
]


def llama_cpp_ids(path):
    from llama_cpp import Llama
    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    return "llama.cpp (llama-cpp-python %s, Llama(vocab_only=True).tokenize(text, add_bos=True, special=...))" % \
        __import__("llama_cpp").__version__, \
        [llm.tokenize(t.encode(), add_bos=True, special=s) for t, s in CASES]


def hf_ids(path):
    import gguf, tokenizers
    from tokenizers import Tokenizer, models, pre_tokenizers, AddedToken
    r = gguf.GGUFReader(path)
    def strings(k):
        f = r.fields[k]
        return [bytes(f.parts[i]).decode() for i in f.data]
    toks = strings("tokenizer.ggml.tokens")
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(toks)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    control = [t for t, ty in zip(toks, types) if ty == 3]
    out = []
    for t, s in CASES:
        tok2 = Tokenizer.from_str(tok.to_str())
        if s:
            tok2.add_special_tokens([AddedToken(c, special=True, normalized=False) for c in control])
        out.append(tok2.encode(t, add_special_tokens=False).ids)
    return "HF tokenizers %s (BPE from the GGUF vocab/merges, Digits+ByteLevel pre-tokenizer)" % \
        tokenizers.__version__, out


def cxx(s):
    out, prev_hex = '"', False
    for b in s.encode():
        c = chr(b)
        if 0x20 <= b < 0x7F and c not in '\\"':
            if prev_hex and c in "0123456789abcdefABCDEF":
                out += '" "'
            out += c
            prev_hex = False
        else:
            out += {"\n": "\\n", "\t": "\\t", "\\": "\\\\", '"': '\\"'}.get(c, "\\x%02X" % b)
            prev_hex = c not in "\n\t\\\""
    return out + '"'


path = sys.argv[1]
try:
    if "--hf" in sys.argv:
        raise ImportError
    who, ids = llama_cpp_ids(path)
except ImportError:
    who, ids = hf_ids(path)
print("// Produced by " + who)
print("const std::vector<GoldenCase> kGoldens = {")
for (t, s), i in zip(CASES, ids):
    print("    {%s, %s, {%s}}," % (cxx(t), "true" if s else "false", ", ".join(map(str, i))))
print("};")

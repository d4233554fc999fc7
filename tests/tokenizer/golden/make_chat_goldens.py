#!/usr/bin/env python3
"""Renders the chat templates used by chat_template_test.cpp with Jinja2, the way transformers'
apply_chat_template does (trim_blocks, lstrip_blocks, add_generation_prompt=True), and prints the outputs as
C++ string literals to paste into the test.

    python3 tests/tokenizer/golden/make_chat_goldens.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]

The SmolLM2 template is read from the model file (tokenizer.chat_template) when a path is given; the others are
the public templates of the model families (Qwen2.5's tool branch abridged, Gemma 3's list-content branch
dropped), kept verbatim in templates.json next to this script.
"""
import json, os, sys
import jinja2

here = os.path.dirname(os.path.abspath(__file__))
templates = json.load(open(os.path.join(here, "templates.json")))
if len(sys.argv) > 1:
    import gguf
    f = gguf.GGUFReader(sys.argv[1]).fields["tokenizer.chat_template"]
    templates["smollm2"]["source"] = bytes(f.parts[f.data[0]]).decode()

conversations = {
    "single": [{"role": "user", "content": "Hello!"}],
    "multi": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
              {"role": "assistant", "content": "4"}, {"role": "user", "content": "  And 3+3?  "}],
    "no_system": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello. "},
                  {"role": "user", "content": "Bye"}],
}

def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)

env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
env.globals["raise_exception"] = raise_exception

def cxx(s):
    return '"' + s.encode("unicode_escape").decode().replace('"', '\\"') + '"'

for name, t in templates.items():
    tpl = env.from_string(t["source"])
    for conv, msgs in conversations.items():
        out = tpl.render(messages=msgs, add_generation_prompt=True, bos_token=t["bos"], eos_token=t["eos"])
        print(f"// {name} / {conv}\n{cxx(out)}")

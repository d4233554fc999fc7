#!/usr/bin/env bash
# Decode/prefill throughput of the CPU backend against the memory-bandwidth ceiling, on SmolLM2 (when fetched)
# and the synthetic Qwen2.5 0.5B / 1.5B models. Prints a table and writes JSON lines to $OUT (default
# build/bench-cpu.jsonl). Usage: scripts/bench-cpu.sh [--build DIR] [--threads N] [--reps N] [--gen N] [--models LIST]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build threads=2 reps=3 gen=128 models="smollm2,synth-0.5b,synth-1.5b"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "bench-cpu: unknown argument $1" >&2; exit 1 ;;
  esac
done
aprhost="$build/bin/aprhost"
[ -x "$aprhost" ] || { echo "bench-cpu: $aprhost not built" >&2; exit 1; }
out=${OUT:-$build/bench-cpu.jsonl}
: > "$out"
mkdir -p models/synth

# A prompt of roughly 128 tokens of plain English (prefill), then $gen greedy tokens with EOS ignored (decode).
prompt="The history of computing is a story of abstraction layered upon abstraction. Early machines were programmed
by rewiring panels, then by punching cards, then by writing assembly language that mapped one to one onto the
instructions of the processor. High level languages arrived and compilers took over the translation, which let
programmers think about algorithms rather than registers. Operating systems hid the details of devices behind
files and processes. Networks turned single computers into parts of larger systems. Today, large language models
run on"

bw_json=$("$aprhost" -t "$threads" membw --mib 1024 --repetitions 10 --json)
bw=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["median_gb_s"])' "$bw_json")
echo "memory read bandwidth ($threads threads, median of 10): $bw GB/s"
printf '%-14s %8s %10s %12s %12s %10s %8s\n' model "MiB/tok" "ceiling" "prefill t/s" "decode t/s" "TTFT ms" "% ceil"

for m in ${models//,/ }; do
  case "$m" in
    smollm2) path=models/SmolLM2-135M-Instruct.Q4_1.gguf ;;
    synth-*) shape=${m#synth-}; path=models/synth/qwen2-$shape-q4_k.gguf
             [ -f "$path" ] || "$aprhost" synth --arch qwen2 --shape "$shape" --quant q4_k --seed 1 -o "$path" ;;
    *) echo "bench-cpu: unknown model $m" >&2; exit 1 ;;
  esac
  if [ ! -f "$path" ]; then echo "bench-cpu: skipping $m ($path missing; run scripts/fetch-models.sh)"; continue; fi
  bytes=$("$aprhost" inspect --json "$path" | python3 -c 'import json,sys; print(json.load(sys.stdin)["weight_bytes_per_token"])')
  runs=()
  for r in $(seq "$reps"); do
    runs+=("$("$aprhost" -t "$threads" run "$path" -p "$prompt" -n "$gen" --greedy --ignore-eos --json 2>/dev/null)")
  done
  python3 - "$m" "$bytes" "$bw" "$threads" "$out" "${runs[@]}" <<'PY'
import json, statistics, sys
name, nbytes, bw, threads, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
runs = [json.loads(r) for r in sys.argv[6:]]
med = lambda k: statistics.median(r[k] for r in runs)
ceiling = bw * 1e9 / nbytes
rec = {"model": name, "threads": threads, "weight_bytes_per_token": nbytes, "bandwidth_gb_s": bw,
       "ceiling_tok_s": ceiling, "prompt_tokens": runs[0]["prompt_tokens"], "gen_tokens": runs[0]["generated_tokens"],
       "prefill_tok_s": med("prefill_tok_s"), "decode_tok_s": med("decode_tok_s"), "ttft_ms": med("ttft_ms"),
       "decode_samples": [r["decode_tok_s"] for r in runs], "pct_of_ceiling": 100 * med("decode_tok_s") / ceiling}
open(out, "a").write(json.dumps(rec) + "\n")
print(f'{name:<14} {nbytes/2**20:8.1f} {ceiling:10.1f} {rec["prefill_tok_s"]:12.1f} {rec["decode_tok_s"]:12.1f} '
      f'{rec["ttft_ms"]:10.1f} {rec["pct_of_ceiling"]:7.1f}%')
PY
done
echo "JSON records: $out"

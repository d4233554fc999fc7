#!/usr/bin/env bash
# The CUDA backend's check on a GPU machine (the device tool's H100/H200), in ONE run that finishes well under
# 10 minutes: configure + build (Release, nvcc for this GPU), synthetic models, `aprhost conformance` on the cuda
# backend (contiguous and paged KV), `aprhost compare --backends cpu,cuda`, `aprhost bench --backend cuda` on a
# synthetic 7B Q4_K_M-style model (decode tok/s against the HBM bandwidth ceiling, TTFT of a 91-token prompt), and
# the vulkan backend's conformance when that plugin is built. Every step is time-limited and none stops the others;
# each step's log and JSON is kept, and $OUT receives (at most 8 files, the device tool's limit):
#   summary.md  summary.json  gpu-check-logs.tgz (every log/JSON)  and copies of the main JSON records.
#
#   scripts/gpu-check.sh                       on the device machine: build into build-gpu/, write to $OUT
#   scripts/gpu-check.sh --fetch-deps          HERE (Debian, apt): download the build dependencies' .deb files into
#                                              build-gpudeps/ (git-ignored), for machines that lack them
#   Options: --out DIR (default $OUT, else out/gpu-check)   --build-dir DIR (default build-gpu)
#            --no-build (use the build dir as it is)          --budget SECONDS (default 570, whole script)
#            --arch ARCHS (CMAKE_CUDA_ARCHITECTURES; default native when nvidia-smi sees a GPU, else 90)
#
# Device tool call, from the repository root here:
#   run(command="bash scripts/gpu-check.sh", carry=["build-gpudeps"], timeout_s=600)
# The device image has nvcc/cmake/ninja/python3 but none of boost, fmt, CLI11, nlohmann-json, pcre2, lz4, zstd,
# ncurses dev files (docs: device README): with build-gpudeps/ carried, they are unpacked into a private prefix
# (never into /) and the build is pointed at it. SmolLM2 (98 MB) exceeds what the tool carries (64 MiB): its
# steps run only where models/SmolLM2-135M-Instruct.Q4_1.gguf or $APRHOST_SMOLLM2 exists.
# Exit status: 0 when every step that ran passed, 1 otherwise (the summary says which).
set -uo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_dir" || exit 1

out_dir="${OUT:-$repo_dir/out/gpu-check}"
build_dir="$repo_dir/build-gpu"
deps_debs="$repo_dir/build-gpudeps"
do_build=1
budget=570
arch=""
fetch_deps=0
usage() { sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out_dir="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --budget) budget="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --fetch-deps) fetch_deps=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$build_dir" in /*) ;; *) build_dir="$repo_dir/$build_dir" ;; esac

# ---------------------------------------------------------------------------------------------------------------
# --fetch-deps (run here, not on the device): the .deb files of every build dependency the device image lacks.
# ---------------------------------------------------------------------------------------------------------------
dep_packages=(libboost1.74-dev libfmt-dev libfmt9 nlohmann-json3-dev libcli11-dev libpcre2-dev libpcre2-8-0
  libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 zlib1g-dev zlib1g liblz4-dev liblz4-1 libzstd-dev libzstd1
  libncurses-dev libncurses6 libncursesw6 libtinfo6 pkgconf pkgconf-bin libpkgconf3
  libvulkan-dev libvulkan1 glslang-dev glslang-tools spirv-tools
  libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2)  # the last line: what the NVIDIA Vulkan ICD loads (device README)
if [ "$fetch_deps" = 1 ]; then
  mkdir -p "$deps_debs" && cd "$deps_debs" || exit 1
  apt-get download "${dep_packages[@]}" || { echo "gpu-check: apt-get download failed" >&2; exit 1; }
  du -sh "$deps_debs"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------------
# Bookkeeping: logs in a work dir, packed into $OUT after every step (what a killed run leaves still comes back).
# ---------------------------------------------------------------------------------------------------------------
work="$(mktemp -d /tmp/aprhost-gpu-check.XXXXXX)"
logs="$work/logs"
models="$work/models"
mkdir -p "$logs" "$models" "$out_dir"
t_start=$(date +%s)
steps_tsv="$logs/steps.tsv"
printf 'step\tstatus\trc\tseconds\tnote\n' >"$steps_tsv"
aprhost="$build_dir/bin/aprhost"

elapsed() { echo $(( $(date +%s) - t_start )); }
pack() { tar -C "$work" -czf "$out_dir/gpu-check-logs.tgz" logs 2>/dev/null; }
record() {  # name status rc seconds note
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$steps_tsv"
  printf '[gpu-check %4ss] %-28s %-7s rc=%s %ss %s\n' "$(elapsed)" "$1" "$2" "$3" "$4" "$5"
  pack
}
skip() { record "$1" SKIP - 0 "$2"; }

# step NAME LIMIT_S [--json FILE] CMD...: runs CMD under timeout (stdout to FILE when given, else to the log),
# never longer than what is left of the budget (30 s are kept for the summary).
step() {
  local name="$1" limit="$2"; shift 2
  local json=""
  if [ "${1:-}" = "--json" ]; then json="$2"; shift 2; fi
  local left=$(( budget - $(elapsed) - 30 ))
  if [ "$left" -lt 10 ]; then skip "$name" "time budget of ${budget}s spent"; return 0; fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0 rc status note=""
  t0=$(date +%s)
  echo "\$ $*" >"$logs/$name.log"
  if [ -n "$json" ]; then
    timeout --kill-after=10 "$limit" "$@" >"$logs/$json" 2>>"$logs/$name.log"; rc=$?
  else
    timeout --kill-after=10 "$limit" "$@" >>"$logs/$name.log" 2>&1; rc=$?
  fi
  status=ok
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status=TIMEOUT; note="killed after ${limit}s"
  elif [ "$rc" != 0 ]; then status=FAIL; note="$(tail -n 1 "$logs/$name.log" | cut -c1-200)"; fi
  record "$name" "$status" "$rc" "$(( $(date +%s) - t0 ))" "$note"
  return 0
}

# ---------------------------------------------------------------------------------------------------------------
# 1. Environment
# ---------------------------------------------------------------------------------------------------------------
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
{
  echo "date: $(date -u)"; echo "host: $(uname -a)"; echo "cpus: $(nproc)"; free -g 2>/dev/null | head -2
  echo "--- nvidia-smi"; timeout 20 nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  echo "--- nvcc"; nvcc --version 2>&1 | tail -2 || echo "nvcc: not found"
  echo "--- cmake"; cmake --version 2>&1 | head -1; ninja --version 2>&1 | sed 's/^/ninja /'
  echo "--- c++"; c++ --version 2>&1 | head -1
  echo "--- vulkan loader"; ldconfig -p 2>/dev/null | grep -m2 libvulkan || echo "no libvulkan in ldconfig"
} >"$logs/environment.log" 2>&1
gpu_present=0
timeout 20 nvidia-smi -L >/dev/null 2>&1 && gpu_present=1
record environment ok 0 0 "gpu_present=$gpu_present"

# ---------------------------------------------------------------------------------------------------------------
# 2. Dependencies (carried .debs unpacked into a private prefix)
# ---------------------------------------------------------------------------------------------------------------
cmake_extra=()
run_env=()  # prefix for commands that run what was built against the carried libraries (aprhost)
if ls "$deps_debs"/*.deb >/dev/null 2>&1; then
  prefix="$work/deps"
  mkdir -p "$prefix" "$work/bin"
  ok=0
  for f in "$deps_debs"/*.deb; do dpkg -x "$f" "$prefix" >>"$logs/deps.log" 2>&1 && ok=$((ok + 1)); done
  multi="$prefix/usr/lib/x86_64-linux-gnu"
  # The carried libraries are NOT put on the global LD_LIBRARY_PATH: Debian's older zlib/zstd/ncurses would then
  # shadow the image's own for cmake, nvcc and python. Only the carried tools (wrappers) and aprhost see them.
  for tool in pkgconf glslangValidator glslang spirv-val; do
    [ -x "$prefix/usr/bin/$tool" ] || continue
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
      "$multi" "$prefix/usr/bin/$tool" >"$work/bin/$tool"
    chmod +x "$work/bin/$tool"
  done
  export PATH="$work/bin:$PATH"
  export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
  export LIBRARY_PATH="$multi${LIBRARY_PATH:+:$LIBRARY_PATH}"
  # pkg-config sees only the prefix's .pc files, their /usr paths rewritten into the prefix.
  export PKG_CONFIG_LIBDIR="$multi/pkgconfig:$prefix/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$prefix"
  cmake_extra+=("-DCMAKE_PREFIX_PATH=$prefix/usr;$multi" "-DPKG_CONFIG_EXECUTABLE=$work/bin/pkgconf")
  [ -x "$work/bin/glslangValidator" ] && cmake_extra+=("-DAPRHOST_GLSLANG_VALIDATOR=$work/bin/glslangValidator")
  run_env=(env "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$multi")
  record deps ok 0 0 "$ok .deb files unpacked into $prefix"
else
  skip deps "no build-gpudeps/*.deb (scripts/gpu-check.sh --fetch-deps); using the system's packages"
fi
# The vulkan plugin on the NVIDIA driver: the device image keeps the ICD under /usr/local/nvidia.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. Configure + build
# ---------------------------------------------------------------------------------------------------------------
if [ -z "$arch" ]; then
  if [ "$gpu_present" = 1 ]; then arch=native; else arch=90; fi
fi
if [ "$do_build" = 1 ]; then
  nvcc_path="$(command -v nvcc 2>/dev/null || true)"
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  step configure 120 cmake -S "$repo_dir" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DAPRHOST_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch" ${nvcc_path:+"-DCMAKE_CUDA_COMPILER=$nvcc_path"} \
    "${cmake_extra[@]}"
  if ! grep -q -P '^configure\tok\t' "$steps_tsv" && [ "$arch" = native ]; then
    # CMake older than 3.24 or a GPU nvcc does not know: Hopper SASS + PTX instead.
    arch=90
    rm -f "$build_dir/CMakeCache.txt"
    step configure-sm90 120 cmake -S "$repo_dir" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF -DAPRHOST_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
      ${nvcc_path:+"-DCMAKE_CUDA_COMPILER=$nvcc_path"} "${cmake_extra[@]}"
  fi
  step build 300 cmake --build "$build_dir" -j "$(nproc)"
else
  skip configure "--no-build: using $build_dir as it is"
  skip build "--no-build"
fi

if [ ! -x "$aprhost" ]; then
  record aprhost FAIL 1 0 "no $aprhost: nothing else can run"
else
  # -------------------------------------------------------------------------------------------------------------
  # 4. Plugins: is the cuda backend usable here, and why not?
  # -------------------------------------------------------------------------------------------------------------
  step plugins 60 --json plugins.json "${run_env[@]}" "$aprhost" plugins --json --devices
  "${run_env[@]}" "$aprhost" plugins >"$logs/plugins.txt" 2>&1
  cuda_status="$(python3 - "$logs/plugins.json" <<'EOF' 2>/dev/null
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("unknown\tplugins --json unreadable"); sys.exit()
for p in d.get("plugins", []):
    if p.get("kind") == "backend" and p.get("name") == "cuda":
        print(p.get("status", "?") + "\t" + p.get("reason", "").replace("\t", " ")); break
else:
    print("missing\tthe cuda plugin was not built")
EOF
)"
  [ -n "$cuda_status" ] || cuda_status="unknown	python3 missing"
  cuda_state="${cuda_status%%	*}"
  cuda_reason="${cuda_status#*	}"
  echo "$cuda_state: $cuda_reason" >"$logs/cuda-plugin.txt"
  vulkan_built=0
  ls "$build_dir"/lib/aprhost/plugins/libaprhost-backend-vulkan*.so >/dev/null 2>&1 && vulkan_built=1
  # Rejected is the expected answer on a machine without a GPU; where nvidia-smi sees one, it is a failure.
  if [ "$cuda_state" = selected ]; then record cuda-plugin ok - 0 "$cuda_reason"
  elif [ "$gpu_present" = 1 ]; then record cuda-plugin FAIL - 0 "$cuda_state: $cuda_reason"
  else record cuda-plugin REJECTED - 0 "$cuda_state: $cuda_reason (no GPU here)"; fi

  # -------------------------------------------------------------------------------------------------------------
  # 5.-8. In order of importance, so that a tight budget drops the least important steps: small models, cuda
  # conformance, the 7B benchmark, cross-backend comparison, paged KV, the rest.
  # -------------------------------------------------------------------------------------------------------------
  smollm2="${APRHOST_SMOLLM2:-$repo_dir/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
  [ -f "$smollm2" ] || smollm2=""
  conf_args=(--json --model-dir "$models")
  [ -n "$smollm2" ] && conf_args+=(--smollm2 "$smollm2")
  not_usable="cuda plugin $cuda_state ($cuda_reason)"
  step synth-tiny 60 "${run_env[@]}" "$aprhost" synth --shape tiny --quant q4_k -o "$models/qwen2-tiny-q4_k.gguf" -f
  step synth-0.5b 90 "${run_env[@]}" "$aprhost" synth --shape 0.5b --quant q4_k -o "$models/qwen2-0.5b-q4_k.gguf" -f

  # Conformance on the cuda backend. Without a GPU the command's own refusal goes to the log and the step is a SKIP.
  if [ "$cuda_state" = selected ] || [ "$gpu_present" = 1 ]; then
    step conformance-cuda 150 --json conformance-cuda.json "${run_env[@]}" "$aprhost" conformance --backend cuda \
      "${conf_args[@]}"
  else
    timeout 60 "${run_env[@]}" "$aprhost" conformance --backend cuda "${conf_args[@]}" >"$logs/conformance-cuda.json" \
      2>"$logs/conformance-cuda.log"
    echo "exit status $?" >>"$logs/conformance-cuda.log"
    skip conformance-cuda "$not_usable"
  fi

  if [ "$cuda_state" = selected ]; then
    # A failure in the conformance run: the same cases without kernel fusion and without CUDA graphs tell whether
    # those are the cause (both off = plain node-by-node launches).
    if ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("failed", 1) == 0 else 1)' \
        "$logs/conformance-cuda.json" 2>/dev/null; then
      step conformance-cuda-plain 150 --json conformance-cuda-plain.json "${run_env[@]}" "$aprhost" conformance \
        --backend cuda --backend-opt fuse=0 --backend-opt graphs=0 "${conf_args[@]}"
    fi
    # The 7B benchmark: HBM bandwidth for the ceiling (a PyTorch device copy, bytes read + written), then decode
    # tok/s and TTFT of a 91-token prompt.
    free_gb=$(df -Pk "$models" | awk 'NR==2 {print int($4 / 1048576)}')
    if [ "${free_gb:-0}" -ge 12 ]; then
      step synth-7b 120 "${run_env[@]}" "$aprhost" synth --shape 7b --quant q4_k -o "$models/qwen2-7b-q4_k.gguf" -f
    else
      skip synth-7b "only ${free_gb} GB free in $models"
    fi
    step bandwidth 60 --json bandwidth.json python3 -c '
import json, torch
n = 1 << 30
a = torch.empty(n, dtype=torch.uint8, device="cuda"); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
ts = []
for _ in range(10):
    s.record(); b.copy_(a); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e) / 1e3)
ts.sort()
print(json.dumps({"device": torch.cuda.get_device_name(0), "copy_bytes": n, "median_s": ts[5],
                  "gb_s_read_plus_write": 2 * n / ts[5] / 1e9}))'
    if [ -f "$models/qwen2-7b-q4_k.gguf" ]; then
      # -v: the plugin's info lines (device, CUDA-graph captures and replays) go to the step's log.
      step bench-7b 150 --json bench-7b.json "${run_env[@]}" "$aprhost" -v bench "$models/qwen2-7b-q4_k.gguf" \
        --backend cuda --prompt-tokens 91 --gen-tokens 64 --warmup 1 --iterations 3 --json
    else
      skip bench-7b "no synthetic 7B model"
    fi
    step compare-0.5b 120 --json compare-0.5b.json "${run_env[@]}" "$aprhost" compare "$models/qwen2-0.5b-q4_k.gguf" \
      --backends cpu,cuda -n 32 --json
    step conformance-cuda-paged 120 --json conformance-cuda-paged.json "${run_env[@]}" "$aprhost" conformance \
      --backend cuda --kv paged --filter '^model/' "${conf_args[@]}"
    if [ -f "$models/qwen2-7b-q4_k.gguf" ]; then
      step bench-7b-nographs 90 --json bench-7b-nographs.json "${run_env[@]}" "$aprhost" bench \
        "$models/qwen2-7b-q4_k.gguf" --backend cuda --backend-opt graphs=0 --prompt-tokens 91 --gen-tokens 32 \
        --warmup 1 --iterations 2 --json
    fi
    if [ -f "$models/qwen2-7b-q4_k.gguf" ]; then
      # Per-node device times (CUDA events) of the 7B's prefill and decode steps: where the time goes.
      step profile-7b 90 --json profile-7b.json "${run_env[@]}" "$aprhost" profile "$models/qwen2-7b-q4_k.gguf" \
        --backend cuda --prompt-tokens 91 --gen-tokens 16 --warmup 1 --bw-mib 64 --json
    fi
    if [ -n "$smollm2" ]; then
      step compare-smollm2 90 --json compare-smollm2.json "${run_env[@]}" "$aprhost" compare "$smollm2" \
        --backends cpu,cuda -n 32 --json
    else
      skip compare-smollm2 "SmolLM2 not on this machine (98 MB: more than the device tool carries)"
    fi
    step bench-0.5b 60 --json bench-0.5b.json "${run_env[@]}" "$aprhost" bench "$models/qwen2-0.5b-q4_k.gguf" \
      --backend cuda --prompt-tokens 91 --gen-tokens 64 --warmup 1 --iterations 3 --json
  else
    for s in synth-7b bandwidth bench-7b compare-0.5b conformance-cuda-paged compare-smollm2 bench-0.5b; do
      skip "$s" "$not_usable"
    done
  fi

  # Vulkan on the NVIDIA driver, when that plugin is built.
  if [ "$vulkan_built" = 1 ]; then
    step conformance-vulkan 120 --json conformance-vulkan.json "${run_env[@]}" "$aprhost" conformance \
      --backend vulkan "${conf_args[@]}"
  else
    skip conformance-vulkan "the vulkan plugin is not built here"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
# 9. Summary (markdown + JSON) and the main JSON records into $OUT (8 files at most come back)
# ---------------------------------------------------------------------------------------------------------------
python3 - "$logs" "$out_dir" >"$logs/summary.log" 2>&1 <<'EOF'
import json, os, sys
logs, out = sys.argv[1], sys.argv[2]
def load(name):
    try:
        with open(os.path.join(logs, name)) as f:
            return json.load(f)
    except Exception:
        return None
steps = [l.rstrip("\n").split("\t") for l in open(os.path.join(logs, "steps.tsv"))][1:]
S = {"steps": [dict(zip(["step", "status", "rc", "seconds", "note"], s)) for s in steps]}
md = ["# gpu-check summary", ""]
try:
    md += ["```", open(os.path.join(logs, "cuda-plugin.txt")).read().strip(), "```", ""]
except Exception:
    pass
pl = load("plugins.json")
for p in (pl or {}).get("plugins", []):
    if p.get("kind") == "backend" and p.get("status") == "selected" and "device" in p:
        md.append(f"- {p.get('name')}: {p['device'].get('name')} ({p['device'].get('detail')})")
        S.setdefault("devices", {})[p.get("name")] = p["device"]
md += ["", "| step | status | rc | s | note |", "|---|---|---|---|---|"]
md += ["| " + " | ".join(s + [""] * (5 - len(s))) + " |" for s in steps]
for name in ["conformance-cuda", "conformance-cuda-plain", "conformance-cuda-paged", "conformance-vulkan"]:
    c = load(name + ".json")
    if not c:
        continue
    S[name] = {k: c.get(k) for k in ("passed", "failed", "skipped")}
    md += ["", f"## {name}: {c.get('passed')} passed, {c.get('failed')} failed, {c.get('skipped')} skipped"]
    for case in c.get("cases", []):
        if case.get("status") != "PASS":
            md.append(f"- {case.get('status')} {case.get('id')}: {str(case.get('detail'))[:240]}")
bw = load("bandwidth.json")
bw_gb_s = bw.get("gb_s_read_plus_write") if bw else None
if bw:
    S["bandwidth"] = bw
    md += ["", f"HBM copy bandwidth ({bw.get('device')}): {bw_gb_s:.0f} GB/s (read + write)"]
for name in ["bench-7b", "bench-7b-nographs", "bench-0.5b"]:
    b = load(name + ".json")
    if not b:
        continue
    dec = (b.get("decode_tok_s") or {}).get("median")
    ttft = (b.get("ttft_ms") or {}).get("median")
    pre = (b.get("prefill_tok_s") or {}).get("median")
    mem = b.get("memory") or {}
    wbytes = mem.get("device_weight_bytes") or 0
    ceil = bw_gb_s * 1e9 / wbytes if (bw_gb_s and wbytes) else None
    S[name] = {"decode_tok_s": dec, "prefill_tok_s": pre, "ttft_ms": ttft, "weight_bytes": wbytes,
               "device_bytes_allocated": mem.get("device_bytes_allocated"), "ceiling_tok_s": ceil,
               "pct_of_ceiling": 100 * dec / ceil if (ceil and dec) else None}
    line = f"## {name}: decode {dec} tok/s, prefill {pre} tok/s, TTFT {ttft} ms, weights {wbytes / 1e9:.2f} GB"
    if ceil and dec:
        line += f", ceiling {ceil:.0f} tok/s -> {100 * dec / ceil:.1f} % of it"
    md += ["", line, f"device memory allocated: {mem.get('device_bytes_allocated')} bytes"]
for name in ["compare-0.5b", "compare-smollm2"]:
    c = load(name + ".json")
    if not c:
        continue
    S[name] = {"pass": c.get("pass"), "backends": [{k: b.get(k) for k in ("backend", "status", "decode_tok_s",
               "speedup_decode", "token_agreement", "first_divergence")} for b in c.get("backends", [])]}
    md += ["", f"## {name}: pass={c.get('pass')}"]
    for b in c.get("backends", []):
        md.append(f"- {b.get('backend')}: {b.get('status')}, decode {b.get('decode_tok_s')} tok/s, speedup "
                  f"{b.get('speedup_decode')}, token agreement {b.get('token_agreement')}, "
                  f"decode logits max abs {(b.get('decode_logits') or {}).get('max_abs')}")
open(os.path.join(out, "summary.md"), "w").write("\n".join(md) + "\n")
json.dump(S, open(os.path.join(out, "summary.json"), "w"), indent=1)
print("\n".join(md))
EOF
cat "$logs/summary.log"
for f in conformance-cuda.json bench-7b.json compare-0.5b.json conformance-cuda-paged.json conformance-vulkan.json; do
  [ -s "$logs/$f" ] && cp "$logs/$f" "$out_dir/"
done
pack
rm -rf "$models" "$work/deps"  # gigabytes of synthetic weights; the logs stay in $work and $out_dir
echo "[gpu-check $(elapsed)s] logs: $out_dir (work dir $work)"
if grep -q -P '\t(FAIL|TIMEOUT)\t' "$steps_tsv"; then exit 1; fi
exit 0

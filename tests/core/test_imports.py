"""gpt2_core must run unchanged in Pyodide: at import time it needs only numpy, regex and the stdlib."""

import subprocess
import sys

ALLOWED_THIRD_PARTY = {"numpy", "regex"}


def test_importing_gpt2_core_pulls_in_only_numpy_regex_and_the_stdlib():
    code = "import sys, transformer_explainer.gpt2_core\nprint('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    third_party = {m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_")
                   and m != "transformer_explainer"}
    assert third_party <= ALLOWED_THIRD_PARTY, third_party
    assert "numpy" in third_party

"""Run by compile.mjs inside Pyodide (the site's CPython 3.12), at build time: each archive's Python files as
bytecode, in a new archive. ``JOBS_JSON``: [{"source": ..., "target": ..., "keep_source": bool,
"installed_at": ...}], paths under /work.

- Bytecode is "unchecked hash-based" (PEP 552): Python imports it without looking at the source's timestamp
  (an unpacked wheel's files carry the time of unpacking, which would make timestamp-based bytecode stale).
- ``keep_source``: the .py stays, the bytecode goes to ``__pycache__`` beside it (our own package: the app shows
  its source); else the .py is replaced by its .pyc, as Pyodide's own distribution ships packages.
- ``installed_at``: where the files will be in the browser (site-packages, the standard library's zip), so that a
  traceback names the file where it is.
"""

import importlib.util
import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

TAG = sys.implementation.cache_tag  # cpython-312


def bytecode(source: bytes, display_name: str) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        py, pyc = Path(scratch, "module.py"), Path(scratch, "module.pyc")
        py.write_bytes(source)
        py_compile.compile(str(py), str(pyc), display_name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return pyc.read_bytes()


def compiled_name(name: str, keep_source: bool) -> str:
    path = PurePosixPath(name)
    if keep_source:
        return str(path.parent / "__pycache__" / f"{path.stem}.{TAG}.pyc")
    return str(path.with_suffix(".pyc"))


def compile_archive(source: str, target: str, keep_source: bool, installed_at: str) -> int:
    added, removed, record = [], set(), None
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as compiled:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                record = (item, data.decode("utf-8").splitlines())
                continue
            if item.filename.endswith(".py"):
                name = compiled_name(item.filename, keep_source)
                compiled.writestr(name, bytecode(data, f"{installed_at}/{item.filename}"))
                added.append(f"{name},,")  # (a record may leave out the hash of bytecode)
                if not keep_source:
                    removed.add(item.filename)
                    continue
            compiled.writestr(item, data)
        if record:
            item, lines = record
            kept = [line for line in lines if line.split(",", 1)[0] not in removed]
            compiled.writestr(item, "\n".join(kept + added) + "\n")
    return len(added)


for job in json.loads(JOBS_JSON):  # noqa: F821 - set by compile.mjs
    count = compile_archive(job["source"], job["target"], job["keep_source"], job["installed_at"])
    print(f"{Path(job['target']).name}: {count} modules")

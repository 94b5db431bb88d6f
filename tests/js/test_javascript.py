"""The project's JavaScript read as code: eslint (assets/eslint.config.mjs) over every file, and node's test runner
over tests/js/*.test.mjs (the views' scripts run as Bokeh runs them, on fake sources). Both skip, saying why, where
node or the npm packages of assets/ (``npm ci --prefix assets``) are missing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ESLINT = ROOT / "assets" / "node_modules" / ".bin" / "eslint"
LINTED = ["assets", "viz/js", "app/static", "tests/js"]
# what must be linted: eslint skips a file its config does not cover without an error, so the test names them
EXPECTED = [*ROOT.glob("assets/**/*.mjs"), *ROOT.glob("viz/js/*.js"), *ROOT.glob("app/static/*.js"),
            *ROOT.glob("tests/js/*.mjs")]


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed: the JavaScript cannot be linted or tested (apt-get install nodejs npm)")
    return path


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_eslint_finds_no_problem_in_any_javascript_file():
    node()
    if not ESLINT.exists():
        pytest.skip("eslint is not installed in assets/node_modules: run npm ci --prefix assets")
    result = run([str(ESLINT), "--config", "assets/eslint.config.mjs", "--format", "json", *LINTED])
    reports = json.loads(result.stdout) if result.stdout.strip().startswith("[") else None
    assert reports is not None, f"eslint did not run: {result.stderr[-2000:]}"
    linted = {Path(report["filePath"]).resolve() for report in reports}
    missed = sorted(str(path.relative_to(ROOT)) for path in EXPECTED
                    if "node_modules" not in path.parts and path.resolve() not in linted)
    assert not missed, f"eslint's config does not cover {missed}"
    problems = [f"{Path(report['filePath']).relative_to(ROOT)}:{message.get('line')}: {message['message']} "
                f"({message.get('ruleId')})" for report in reports for message in report["messages"]]
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_javascript_that_computes_passes_its_node_tests():
    tests = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert tests, "tests/js holds no *.test.mjs"
    result = run([node(), "--test", *tests])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 20 and re.search(r"^# fail 0$", result.stdout, re.MULTILINE), output[-3000:]

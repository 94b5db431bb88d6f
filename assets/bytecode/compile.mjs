// Build-time, under Node: compile Python files to bytecode with the site's own Python (Pyodide's CPython 3.12),
// so that the browser imports them without compiling them at every visit. build.py runs it:
//
//   node assets/bytecode/compile.mjs PYODIDE_DIR WORK_DIR JOBS_JSON
//
// PYODIDE_DIR holds Pyodide's core (pyodide.mjs, pyodide.asm.*, python_stdlib.zip); WORK_DIR (mounted into
// Pyodide at /work) holds the archives; JOBS_JSON lists them (see compile.py, which does the work in Python).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pyodideDir, workDir, jobs] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, 'pyodide.mjs')).href);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, stdout: console.log, stderr: console.error })
  .catch((error) => {
    console.error(`cannot start Pyodide from ${pyodideDir}: ${error.message ?? error}`);
    process.exit(1);
  });
pyodide.FS.mkdir('/work');
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: workDir }, '/work');
pyodide.globals.set('JOBS_JSON', jobs);
try {
  pyodide.runPython(readFileSync(new URL('./compile.py', import.meta.url), 'utf8'));
} catch (error) {
  console.error(String(error.message ?? error)); // the Python traceback, not Node's dump of Pyodide's source
  process.exit(1);
}

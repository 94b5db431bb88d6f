// eslint's rules for every JavaScript file of the project, run from the repository's root:
//   assets/node_modules/.bin/eslint --config assets/eslint.config.mjs
// (with --config, the patterns below are read from the working directory: the root). tests/js/test_javascript.py
// runs it in the test suite.
//
// Two kinds of file:
// - assets/**/*.mjs: the static site's ES modules (the page, its Web Workers, the onnxruntime-web bridge), the
//   build's node scripts (assets/kernels, assets/bytecode), and the node tests of the views' scripts (tests/js/*.mjs);
// - viz/js/*.js and app/static/*.js: the bodies of Bokeh "JS functions" (CustomJS, CustomJSHover), which Bokeh
//   wraps in `new Function(...args, code)`: scripts that may `return`, their arguments named in a `/* global */`
//   comment on the first line. viz/js/*.functions.js hold functions that such bodies share (viz/js/README.md): they
//   define them at the top level, named in an `/* exported */` comment, and return nothing.
import js from '@eslint/js';
import globals from 'globals';

export default [
  {
    files: ['assets/**/*.mjs'],
    ignores: ['assets/node_modules/**'],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.worker },
    },
  },
  {
    // the build's own scripts, run by node (build.py): the SIMD kernels, the bytecode compiler
    files: ['assets/kernels/*.mjs', 'assets/bytecode/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['tests/js/*.mjs'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.node },
  },
  {
    files: ['viz/js/*.js', 'app/static/*.js'],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'script',
      parserOptions: { ecmaFeatures: { globalReturn: true } },
      globals: globals.browser,
    },
    rules: {
      ...js.configs.recommended.rules,
      // an argument is a parameter of the function Bokeh builds: it may shadow a browser global (``frames``)
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  {
    files: ['viz/js/*.functions.js'],
    languageOptions: { parserOptions: { ecmaFeatures: { globalReturn: false } } },
  },
];

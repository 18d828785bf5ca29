// The tracker's minifier: ES5 source on stdin, its minified build on stdout (no banner).
// Run by pipeline/web/minify.py (`make js`); terser and acorn are pinned in the repository's
// package.json / package-lock.json (`npm ci`).
//
// The source must be ES5 (acorn, ecmaVersion 5, rejects anything newer): readable by anyone,
// no transpiling. The build may use ES2015's arrow functions and shorthand properties (terser's
// `ecma: 2015` with `unsafe_arrows`, about 35 bytes gzipped less): every browser the tracker can
// run in has them, since it needs Element.replaceChildren (Chrome 86, Firefox 78, Safari 14,
// all from 2020 and all with ES2017). The build is parsed again as ES2015 before it is written,
// so nothing newer slips in.
// (`unsafe_arrows` turns function expressions that never use `this` into arrows; the tracker's
// callbacks are never called with `new` and never read `arguments`.)
import { parse } from "acorn";
import { minify } from "terser";

/** terser's options: everything but properties and globals is compressed and renamed. */
const OPTIONS = {
  ecma: 2015,
  compress: { passes: 3, unsafe_arrows: true },
  mangle: true,  // local names only: globals and properties (the page's interface) are kept
  // no comments; non-ASCII as \u escapes, so a page in another charset reads the same text
  format: { comments: false, ascii_only: true },
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const source = Buffer.concat(chunks).toString("utf8");

function check(code, what, ecmaVersion) {
  try {
    parse(code, { ecmaVersion });
  } catch (err) {
    process.stderr.write(`${what} is not ES${ecmaVersion}: ${err.message}\n`);
    process.exit(2);
  }
}

check(source, "the source", 5);
const { code } = await minify(source, OPTIONS);
check(code, "the build", 2015);
process.stdout.write(code);

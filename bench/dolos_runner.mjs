// Runs Dolos (@dodona/dolos-lib, installed by bench/run.py under PREFIX) on a list of files.
// usage: node dolos_runner.mjs PREFIX FILES.json OUT.json scores|count [PAIRS.json]
// "scores" writes the pairs Dolos reports as [left path, right path, similarity], only those
// named in PAIRS.json ([[learner, learner], ...], learner = a file's folder) when it is given;
// "count" writes only how many, so that speed runs do not time the writing of millions of rows.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, filesJson, outJson, mode, pairsJson] = process.argv.slice(2);
const entry = join(prefix, "node_modules", "@dodona", "dolos-lib", "dist", "index.js");
const { Dolos } = await import(pathToFileURL(entry).href);

const files = JSON.parse(readFileSync(filesJson, "utf8"));
const dolos = new Dolos({ language: "python" });
const report = await dolos.analyzePaths(files);
const pairs = report.allPairs();
if (mode === "count") {
  writeFileSync(outJson, JSON.stringify({ files: files.length, pairs: pairs.length }));
} else {
  const learner = (path) => basename(dirname(path));
  const key = (a, b) => (a <= b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  const wanted = pairsJson
    ? new Set(JSON.parse(readFileSync(pairsJson, "utf8")).map(([a, b]) => key(a, b)))
    : null;
  const rows = pairs
    .filter((p) => !wanted || wanted.has(key(learner(p.leftFile.path), learner(p.rightFile.path))))
    .map((p) => [p.leftFile.path, p.rightFile.path, p.similarity]);
  writeFileSync(outJson, JSON.stringify({ files: files.length, pairs: rows }));
}

// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. a bench run with
// BENCH_CPU_PROF=<dir>): self time by function and by package, and the inclusive time of
// functions whose name matches --focus.
//
// Run: node dist/bench/profile-summary.js <file.cpuprofile> [--top 25] [--focus verify,findDefault]
import { readFileSync } from 'node:fs';
import { numberArg, stringArg } from './support';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file || file.startsWith('--')) {
  console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top 25] [--focus a,b]');
  process.exit(2);
}
const TOP = numberArg('top', 25);
const FOCUS = stringArg('focus', '').split(',').filter(Boolean);

const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Sample time per node: the deltas are the time between consecutive samples.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

function where(frame: CallFrame): string {
  const url = frame.url || '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/dist/src/')) return `gateway:${url.split('/dist/src/')[1]}`;
  if (url.startsWith('node:')) return url;
  return url ? url.split('/').slice(-2).join('/') : '(native/vm)';
}

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = nodes.get(id)!.callFrame;
  const name = `${frame.functionName || '(anonymous)'}  ${where(frame)}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const pkg = frame.functionName === '(garbage collector)' ? '(garbage collector)' : where(frame).split(':')[0];
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}

const pct = (us: number) => Number(((100 * us) / totalUs).toFixed(1));
const top = (map: Map<string, number>) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([name, us]) => ({ name, 'self ms': Math.round(us / 1000), '%': pct(us) }));

console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled`);
console.log('self time by package / file:');
console.table(top(byPackage));
console.log('self time by function:');
console.table(top(byFunction));

if (FOCUS.length) {
  // Inclusive time: a sample counts for a function if it is anywhere on the sample's stack (once).
  const inclusive = new Map(FOCUS.map((name) => [name, 0]));
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const fn = nodes.get(at)!.callFrame.functionName;
      for (const name of FOCUS) if (fn === name && !seen.has(name)) seen.add(name);
    }
    for (const name of seen) inclusive.set(name, inclusive.get(name)! + us);
  }
  console.log('inclusive time of --focus functions:');
  console.table([...inclusive].map(([name, us]) => ({ name, 'incl ms': Math.round(us / 1000), '%': pct(us) })));
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';

/*
 * The rooms of src/ and their doors (docs/DESIGN.md "Rooms"): another room, or the
 * composition root (src/*.ts), imports only a room's door files; rooms import each other
 * without a cycle. `common/` and `config/` are shared kernels: every room may import them,
 * and they import no room. Adding a door is a decision: add it here, with its reason.
 */
const DOORS = {
  auth: [
    'auth.module.ts',
    'decorators.ts', // @Public, @Authenticated, @CurrentPrincipal, principalOf
    'principal.ts', // who is calling, and how a key's prefix is shown
    'errors.ts',
    'events.ts', // api_key.revoked
    'api-key.service.ts',
    'user.service.ts',
    'oidc-issuer.ts',
    'auth.entities.ts',
  ],
  session: [
    'session.module.ts',
    'session-events.ts', // the events it publishes (docs/API.md §6), relayed by messaging
    'dto/session-response.dto.ts', // the answer shapes the typed client reuses
    'session.entities.ts',
  ],
  'proxy-router': [
    'proxy-router.module.ts',
    'node.adapter.ts', // the port: the node's operations in domain types
    'node.types.ts',
    'errors.ts',
    'not-configured.adapter.ts', // refuses every call: the base of other rooms' fakes
  ],
  models: ['models.module.ts', 'model-catalog.ts', 'dto/models.dto.ts'],
  'rate-limit': [
    'rate-limit.module.ts',
    'rate-limited.ts',
    'open-limit.ts', // OPEN_RATE_LIMIT_PER_MIN, drawn on by the opener when its claim decides to open
  ],
  messaging: [
    'messaging.module.ts',
    'messaging-status.ts',
    'microservice-options.ts',
    'nats-connection.ts', // the typed client logs in to NATS exactly as the gateway does
  ],
  health: ['health.module.ts', 'readiness.ts'],
  metrics: ['metrics.module.ts', 'metrics.ts'],
  database: ['database.module.ts', 'database-endpoint.ts', 'dedicated-connection.ts'],
  client: ['session-gateway.client.ts'],
} as const satisfies Record<string, readonly string[]>;

type Room = keyof typeof DOORS;
const KERNELS = ['common', 'config'] as const;
/** The files directly in src/: main.ts, app.module.ts, cli.ts … They wire the rooms together. */
const ROOT = '(root)';

const SRC = resolve(__dirname);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

// import … from '…', export … from '…', import '…' (side effects), across line breaks.
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'"]*?\sfrom\s)?\s*['"]([^'"]+)['"]/g;

interface Import {
  /** Both relative to src/, with forward slashes. */
  from: string;
  to: string;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1];
    if (!specifier.startsWith('.')) continue; // packages
    const target = resolve(dirname(file), specifier);
    const to = [`${target}.ts`, join(target, 'index.ts'), target].find((candidate) => existsSync(candidate));
    if (!to) throw new Error(`${relative(SRC, file)} imports ${specifier}, which does not exist`);
    found.push({ from: srcPath(file), to: srcPath(to) });
  }
  return found;
}

const srcPath = (absolute: string): string => relative(SRC, absolute).split('\\').join(posix.sep);

/** The room (or kernel, or the root) a src/-relative path belongs to. */
function roomOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.indexOf('/')) : ROOT;
}

const isRoom = (name: string): name is Room => Object.hasOwn(DOORS, name);
const isKernel = (name: string): boolean => (KERNELS as readonly string[]).includes(name);

const IMPORTS = sourceFiles(SRC).flatMap(importsOf);
const CROSSING = IMPORTS.filter((i) => roomOf(i.from) !== roomOf(i.to));

function reachableFrom(edges: Map<string, Set<string>>, start: string): Set<string> {
  const seen = new Set<string>();
  const next = [...(edges.get(start) ?? [])];
  for (let node = next.pop(); node !== undefined; node = next.pop()) {
    if (seen.has(node)) continue;
    seen.add(node);
    next.push(...(edges.get(node) ?? []));
  }
  return seen;
}

/** Groups of rooms that import each other (directly or around a loop), each with the imports inside it. */
function cyclesOf(imports: Import[]): string[] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) edges.set(roomOf(from), (edges.get(roomOf(from)) ?? new Set<string>()).add(roomOf(to)));
  const reach = new Map([...edges.keys()].map((room) => [room, reachableFrom(edges, room)]));
  const grouped = new Set<string>();
  const cycles: string[] = [];
  for (const room of [...edges.keys()].sort()) {
    if (grouped.has(room) || !reach.get(room)!.has(room)) continue;
    const group = [...reach.get(room)!].filter((other) => reach.get(other)?.has(room)).sort();
    group.forEach((member) => grouped.add(member));
    const inside = imports.filter(({ from, to }) => group.includes(roomOf(from)) && group.includes(roomOf(to)));
    cycles.push(`${group.join(' ↔ ')}: ${inside.map(({ from, to }) => `${from} → ${to}`).join(', ')}`);
  }
  return cycles;
}

describe('architecture: rooms and their doors', () => {
  it('knows every directory of src/ as a room or a shared kernel', () => {
    const directories = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(directories.filter((name) => !isRoom(name) && !isKernel(name))).toEqual([]);
  });

  it('lists only doors that exist (a moved file must move in this list too)', () => {
    const missing = Object.entries(DOORS).flatMap(([room, doors]) =>
      doors.map((door) => `${room}/${door}`).filter((door) => !existsSync(join(SRC, door))),
    );
    expect(missing).toEqual([]);
  });

  it('has no import cycle between rooms, kernels and the root', () => {
    expect(cyclesOf(CROSSING)).toEqual([]);
  });

  it('enters another room only through one of its doors', () => {
    const offenders = CROSSING.filter(({ to }) => {
      const room = roomOf(to);
      if (!isRoom(room)) return false; // kernels are open to all
      return !(DOORS[room] as readonly string[]).includes(to.slice(room.length + 1));
    }).map(({ from, to }) => `${from} → ${to}`);
    expect(offenders).toEqual([]);
  });

  it('keeps the shared kernels free of rooms', () => {
    const offenders = CROSSING.filter(({ from, to }) => isKernel(roomOf(from)) && !isKernel(roomOf(to))).map(
      ({ from, to }) => `${from} → ${to}`,
    );
    expect(offenders).toEqual([]);
  });
});

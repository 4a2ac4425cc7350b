import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface Owner {
  pid: number;
  /** Absent while the owner is still starting its server. */
  url?: string;
}

/** Private to the gateway's user (docs/API.md §7): the files hold every key hash. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** The file name `pg` looks for in a socket directory (for its default port 5432). */
const SOCKET_NAME = '.s.PGSQL.5432';
/** Linux's limit for a Unix socket's path (sun_path), less its terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * The embedded default: PGlite served in-process over the PostgreSQL wire protocol on a
 * Unix socket inside DATA_DIR, so the app reaches it with the ordinary `pg` driver — one code
 * path for both databases. PGlite's server has no authentication: the socket is the
 * credential. It is 0600 in a 0700 DATA_DIR, so only the gateway's user (the gateway and
 * the CLI) can connect; no TCP port is open, so no other local user or process reaches it. Each socket connection keeps its own transaction, but it is a single
 * backend: advisory locks and LISTEN/NOTIFY do not coordinate connections, so nothing
 * in-process may rely on them (they are for multi-instance PostgreSQL).
 *
 * PGlite's files belong to one process. The owner records itself in DATA_DIR so that a
 * second process (the CLI while the gateway runs) connects to it instead of opening the
 * same files twice.
 */
export class EmbeddedDatabase {
  private constructor(
    readonly url: string,
    private readonly ownerFile: string,
    private readonly db?: PGlite,
    private readonly server?: PGLiteSocketServer,
  ) {}

  get attached(): boolean {
    return this.server === undefined;
  }

  static async start(dataDir: string, maxConnections: number, options: { attach?: boolean } = {}): Promise<EmbeddedDatabase> {
    mkdirSync(resolve(dataDir), { recursive: true, mode: DIR_MODE });
    // An existing DATA_DIR (an image's volume, an older version's) is made private too.
    chmodSync(resolve(dataDir), DIR_MODE);
    const ownerFile = resolve(dataDir, 'embedded-db.json');
    const owner = await claimOrFindOwner(ownerFile);
    if (owner === 'claimed') return EmbeddedDatabase.serve(dataDir, maxConnections, ownerFile);
    if (!options.attach) {
      throw new Error(`DATA_DIR ${resolve(dataDir)} is in use by the gateway process ${owner.pid}; stop it or use another DATA_DIR`);
    }
    return new EmbeddedDatabase(await urlOnceServing(ownerFile, owner.pid), ownerFile);
  }

  private static async serve(dataDir: string, maxConnections: number, ownerFile: string): Promise<EmbeddedDatabase> {
    try {
      const socketDir = resolve(dataDir);
      const socketPath = resolve(socketDir, SOCKET_NAME);
      if (socketPath.length > MAX_SOCKET_PATH) {
        throw new Error(
          `DATA_DIR ${socketDir} is too long for the embedded database's socket: use a path under ${MAX_SOCKET_PATH - SOCKET_NAME.length - 1} characters`,
        );
      }
      const db = await PGlite.create(resolve(dataDir, 'pg'));
      // A crashed owner's socket file stays behind; we own DATA_DIR now.
      rmSync(socketPath, { force: true });
      const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
      await server.start();
      chmodSync(socketPath, FILE_MODE);
      // `pg` takes a directory as host and connects to its `.s.PGSQL.5432`.
      const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
      // Replaced by rename, so a reader never sees half a record.
      writeFileSync(`${ownerFile}.tmp`, JSON.stringify({ pid: process.pid, url } satisfies Owner), { mode: FILE_MODE });
      renameSync(`${ownerFile}.tmp`, ownerFile);
      return new EmbeddedDatabase(url, ownerFile, db, server);
    } catch (error) {
      rmSync(ownerFile, { force: true });
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (!this.server || !this.db) return;
    rmSync(this.ownerFile, { force: true });
    await this.server.stop(); // net.Server removes its socket file on close
    await this.db.close();
  }
}

/**
 * Takes ownership of DATA_DIR with an exclusive create (so two processes starting at once
 * cannot both open the files), or answers the live owner. A dead owner's record is stale.
 */
async function claimOrFindOwner(file: string): Promise<'claimed' | Owner> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx', mode: FILE_MODE });
      return 'claimed';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // The exclusive create has just won elsewhere: give the winner a moment to write its pid.
    const owner = readOwner(file) ?? (await new Promise((r) => setTimeout(r, 200)).then(() => readOwner(file)));
    if (owner && owner.pid !== process.pid && isAlive(owner.pid)) return owner;
    rmSync(file, { force: true });
  }
  throw new Error(`could not take ownership of ${file}`);
}

/** An owner that is still starting has no URL yet: wait for it (bounded). */
async function urlOnceServing(file: string, pid: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const owner = readOwner(file);
    if (owner?.url) return owner.url;
    if (!isAlive(pid)) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`the gateway process ${pid} that owns this DATA_DIR is not serving its database`);
}

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined; // no owner file, or one being written: nobody serves this directory yet
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // the recorded owner is gone (crashed): its record is stale
  }
}

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface Owner {
  pid: number;
  /** Absent while the owner is still starting its server. */
  url?: string;
}

/**
 * The embedded default: PGlite served in-process over the PostgreSQL wire protocol on
 * loopback, so the app reaches it with the ordinary `pg` driver — one code path for both
 * databases. Each socket connection keeps its own transaction, but it is a single
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
    mkdirSync(resolve(dataDir), { recursive: true });
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
      const db = await PGlite.create(resolve(dataDir, 'pg'));
      const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
      await server.start();
      // getServerConn() answers "host:port" of the loopback listener.
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      // Replaced by rename, so a reader never sees half a record.
      writeFileSync(`${ownerFile}.tmp`, JSON.stringify({ pid: process.pid, url } satisfies Owner));
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
    await this.server.stop();
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
      writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
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

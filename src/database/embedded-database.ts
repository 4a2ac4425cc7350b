import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface Owner {
  pid: number;
  url: string;
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
    const ownerFile = resolve(dataDir, 'embedded-db.json');
    const owner = liveOwner(ownerFile);
    if (owner && options.attach) return new EmbeddedDatabase(owner.url, ownerFile);
    if (owner) {
      throw new Error(`DATA_DIR ${resolve(dataDir)} is in use by the gateway process ${owner.pid}; stop it or use another DATA_DIR`);
    }
    const dir = resolve(dataDir, 'pg');
    mkdirSync(dir, { recursive: true });
    const db = await PGlite.create(dir);
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
    await server.start();
    // getServerConn() answers "host:port" of the loopback listener.
    const url = `postgres://postgres@${server.getServerConn()}/postgres`;
    writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, url } satisfies Owner));
    return new EmbeddedDatabase(url, ownerFile, db, server);
  }

  async stop(): Promise<void> {
    if (!this.server || !this.db) return;
    rmSync(this.ownerFile, { force: true });
    await this.server.stop();
    await this.db.close();
  }
}

function liveOwner(file: string): Owner | undefined {
  let owner: Owner;
  try {
    owner = JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined; // no owner file (or a torn one): nobody serves this directory
  }
  if (owner.pid === process.pid) return undefined;
  try {
    process.kill(owner.pid, 0);
    return owner;
  } catch {
    return undefined; // the recorded owner is gone (crashed): its record is stale
  }
}

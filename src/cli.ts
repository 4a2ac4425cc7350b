import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ApiKeyService } from './auth/api-key.service';
import { displayPrefix } from './auth/principal';
import { AuthCoreModule } from './auth/auth.module';
import { LOCAL_ISSUER, UserService } from './auth/user.service';
import { DomainError } from './common/errors';
import { ConfigError, loadConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';

const USAGE = `Usage: npm run cli -- <command>
  keys create --user <name> [--name <key name>] [--json]   create a key (and the local user if needed)
  keys list --user <name> [--json]                           list a local user's keys
  keys revoke <key id>                                       revoke a key
  users deactivate <name> [--issuer <issuer>]                refuse a user's keys and tokens from now on`;

class UsageError extends Error {}

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
    } else if (arg === '--json') {
      flags.json = true;
    } else {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      flags[arg.slice(2)] = value;
    }
  }
  return { positional, flags };
}

function required(args: Args, flag: string): string {
  const value = args.flags[flag];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${flag} <value> is required`);
  return value.trim();
}

@Module({})
class CliModule {}

type Command =
  | { name: 'keys create'; user: string; keyName?: string; json: boolean }
  | { name: 'keys list'; user: string; json: boolean }
  | { name: 'keys revoke'; keyId: string }
  | { name: 'users deactivate'; user: string; issuer: string };

/** Checked before anything starts: a usage error costs no database. */
export function commandOf(args: Args): Command {
  const [noun, verb, target] = args.positional;
  const json = args.flags.json === true;
  switch (`${noun ?? ''} ${verb ?? ''}`) {
    case 'keys create':
      return { name: 'keys create', user: required(args, 'user'), keyName: optional(args, 'name'), json };
    case 'keys list':
      return { name: 'keys list', user: required(args, 'user'), json };
    case 'keys revoke':
      if (!target) throw new UsageError('keys revoke needs a key id');
      return { name: 'keys revoke', keyId: target };
    case 'users deactivate':
      if (!target) throw new UsageError('users deactivate needs a user name');
      return { name: 'users deactivate', user: target, issuer: optional(args, 'issuer') ?? LOCAL_ISSUER };
    default:
      throw new UsageError('unknown command');
  }
}

function optional(args: Args, flag: string): string | undefined {
  const value = args.flags[flag];
  return typeof value === 'string' ? value : undefined;
}

async function execute(command: Command, users: UserService, keys: ApiKeyService, out: (line: string) => void): Promise<void> {
  switch (command.name) {
    case 'keys create': {
      const user = await users.resolve(LOCAL_ISSUER, command.user);
      const { apiKey, key } = await keys.create(user.id, command.keyName);
      // The key on a line of its own (or JSON), so scripts can capture it.
      out(command.json ? JSON.stringify({ id: apiKey.id, key, key_prefix: displayPrefix(apiKey.keyPrefix) }) : key);
      return;
    }
    case 'keys list': {
      const user = await users.resolve(LOCAL_ISSUER, command.user);
      const rows = (await keys.list(user.id)).map((k) => ({
        id: k.id,
        name: k.name,
        key_prefix: displayPrefix(k.keyPrefix),
        is_default: k.isDefault,
        is_active: k.isActive,
      }));
      if (command.json) out(JSON.stringify(rows));
      else
        for (const r of rows)
          out(`${r.id}  ${r.key_prefix}  ${r.is_active ? 'active ' : 'revoked'}${r.is_default ? '  default' : ''}  ${r.name ?? ''}`);
      return;
    }
    case 'keys revoke': {
      const key = await keys.revokeById(command.keyId);
      out(`revoked ${displayPrefix(key.keyPrefix)} (${key.id})`);
      return;
    }
    case 'users deactivate': {
      const user = await users.deactivate(command.issuer, command.user);
      out(`deactivated ${user.subject} (${user.id})`);
    }
  }
}

async function run(args: Args, out: (line: string) => void): Promise<void> {
  const command = commandOf(args);
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(
    {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        DatabaseModule.forRoot({ entities: ENTITIES, attachToRunning: true }),
        AuthCoreModule,
      ],
    },
    { logger: ['error', 'warn'] },
  );
  try {
    await execute(command, app.get(UserService), app.get(ApiKeyService), out);
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  try {
    await run(parseArgs(process.argv.slice(2)), (line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof DomainError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}

if (require.main === module) void main();

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ApiKeyService } from './auth/api-key.service';
import { displayPrefix } from './auth/api-key.format';
import { AuthCoreModule } from './auth/auth.module';
import { LOCAL_ISSUER, UserService } from './auth/user.service';
import { DomainError } from './common/errors';
import { ConfigError, loadConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';

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

async function run(args: Args, out: (line: string) => void): Promise<void> {
  const [noun, verb, target] = args.positional;
  const command = `${noun ?? ''} ${verb ?? ''}`;
  if (!['keys create', 'keys list', 'keys revoke', 'users deactivate'].includes(command)) throw new UsageError('unknown command');
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(
    {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        DatabaseModule.forRoot({ attachToRunning: true }),
        AuthCoreModule,
      ],
    },
    { logger: ['error', 'warn'] },
  );
  try {
    const users = app.get(UserService);
    const keys = app.get(ApiKeyService);
    const json = args.flags.json === true;
    if (command === 'keys create') {
      const user = await users.resolve(LOCAL_ISSUER, required(args, 'user'));
      const name = typeof args.flags.name === 'string' ? args.flags.name : undefined;
      const { apiKey, key } = await keys.create(user.id, name);
      // The key on a line of its own (or JSON), so scripts can capture it.
      out(json ? JSON.stringify({ id: apiKey.id, key, key_prefix: displayPrefix(apiKey.keyPrefix) }) : key);
    } else if (command === 'keys list') {
      const user = await users.resolve(LOCAL_ISSUER, required(args, 'user'));
      const list = await keys.list(user.id);
      const rows = list.map((k) => ({ id: k.id, name: k.name, key_prefix: displayPrefix(k.keyPrefix), is_default: k.isDefault, is_active: k.isActive }));
      if (json) out(JSON.stringify(rows));
      else for (const r of rows) out(`${r.id}  ${r.key_prefix}  ${r.is_active ? 'active ' : 'revoked'}${r.is_default ? '  default' : ''}  ${r.name ?? ''}`);
    } else if (command === 'keys revoke') {
      if (!target) throw new UsageError('keys revoke needs a key id');
      const key = await keys.revokeById(target);
      out(`revoked ${displayPrefix(key.keyPrefix)} (${key.id})`);
    } else {
      if (!target) throw new UsageError('users deactivate needs a user name');
      const issuer = typeof args.flags.issuer === 'string' ? args.flags.issuer : LOCAL_ISSUER;
      const user = await users.deactivate(issuer, target);
      out(`deactivated ${user.subject} (${user.id})`);
    }
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

import type { ServerResponse } from 'node:http';
import { type FaultPlan, type FailureRule, WRITE_OPERATIONS } from './fault-plan';
import { type HeldResponses, pause, sendJson } from './http-io';
import type { JsonReply, JsonRoute, Route, RouteInput } from './route-types';
import { NodeErrors, SimError, serverError } from './sim-error';
import type { WriteGate } from './write-gate';

export interface RunnerDeps {
  plan: FaultPlan;
  gate: WriteGate;
  held: HeldResponses;
  signal: AbortSignal;
}

type Perform = () => JsonReply;

/**
 * Applies a scripted outcome's on-chain effect (an open or close that "went through") and
 * drops its answer: the scripted failure or hang is what the client gets. An effect the
 * chain itself refuses (e.g. closing a closed session) simply does not land.
 */
function commitQuietly(perform: Perform | undefined): void {
  if (!perform) return;
  try {
    perform();
  } catch (error) {
    if (!(error instanceof SimError)) throw error;
  }
}

async function answerFailure(deps: RunnerDeps, res: ServerResponse, rule: FailureRule, latency: number, perform?: Perform): Promise<void> {
  await pause(latency, deps.signal);
  if (rule.commit) commitQuietly(perform);
  sendJson(res, rule.status, rule.body);
}

async function hangUp(deps: RunnerDeps, res: ServerResponse, commit: boolean, latency: number, perform?: Perform): Promise<void> {
  await pause(latency, deps.signal);
  if (commit) commitQuietly(perform);
  deps.held.hold(res);
}

/** A write occupies a nonce slot from arrival until it lands; a collision fails after the latency. */
async function runWrite(deps: RunnerDeps, res: ServerResponse, perform: Perform, latency: number): Promise<void> {
  const release = deps.gate.tryEnter();
  if (!release) {
    await pause(latency, deps.signal);
    throw serverError(NodeErrors.nonceConflict);
  }
  try {
    await pause(latency, deps.signal);
    const reply = perform();
    sendJson(res, reply.status, reply.body);
  } finally {
    release();
  }
}

async function runJson(deps: RunnerDeps, route: JsonRoute, input: RouteInput, latency: number): Promise<void> {
  const perform = await route.prepare(input);
  const failure = deps.plan.takeFailure(route.op);
  if (failure) return answerFailure(deps, input.res, failure, latency, perform);
  const hang = deps.plan.takeHang(route.op);
  if (hang) return hangUp(deps, input.res, hang.commit, latency, perform);
  if (WRITE_OPERATIONS.has(route.op)) return runWrite(deps, input.res, perform, latency);
  await pause(latency, deps.signal);
  const reply = perform();
  sendJson(input.res, reply.status, reply.body);
}

/**
 * One call of an operation: counted, parsed (400s first), then a scripted failure or hang if
 * one is queued, else the normal effect after the operation's latency. Errors (SimError) are
 * left to the caller to render.
 */
export async function runOperation(deps: RunnerDeps, route: Route, input: RouteInput): Promise<void> {
  deps.plan.count(route.op);
  const latency = deps.plan.latencyOf(route.op);
  if (route.kind === 'json') return runJson(deps, route, input, latency);
  const run = await route.prepare(input);
  const failure = deps.plan.takeFailure(route.op);
  if (failure) return answerFailure(deps, input.res, failure, latency);
  const hang = deps.plan.takeHang(route.op);
  if (hang) return hangUp(deps, input.res, false, latency);
  await run(latency);
}

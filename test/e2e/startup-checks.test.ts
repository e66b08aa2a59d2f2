/**
 * Start-up checks end to end: the bridge process is started with a broken config against a real
 * Synapse and must refuse to run, with exit code 1 and a message that names what to fix. A correct
 * config against the same Synapse starts, which shows each failure comes from the one broken value.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { BridgeEnv } from '../helpers/bridge-env.js';
import { freePort } from '../helpers/ports.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** The environment without TRIBUTARY_* names (test switches would read as config overrides). */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIBUTARY_')));
}

/** Runs the sandbox bridge with `configPath` until it exits (killed after 90 s). */
function runBridgeToExit(configPath: string): Promise<Exit> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'bridges/sandbox/src/main.ts'), '-c', configPath], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(),
    });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(new Error(`the bridge did not exit within 90 s:\n${output.slice(-3000)}`));
    }, 90_000);
    proc.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, output });
    });
  });
}

describe('e2e: start-up checks (real Synapse, bridge process)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let n = 0;

  before(async function () {
    env = await BridgeEnv.start({ startBridge: false });
  });
  after(async () => {
    await env?.stop();
  });

  /** Writes the env's (working) config with `patch` applied to one section; returns its path. */
  async function brokenConfig(section: 'homeserver' | 'appservice', patch: Record<string, unknown>): Promise<string> {
    const raw = structuredClone(env.config) as Record<string, Record<string, unknown>>;
    raw[section] = { ...raw[section], ...patch };
    const path = join(env.dir, `config-broken-${++n}.yaml`);
    await writeFile(path, stringify(raw));
    return path;
  }

  it('exits with 1 and names the homeserver address when the homeserver is unreachable', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const res = await runBridgeToExit(await brokenConfig('homeserver', { address }));
    assert.equal(res.code, 1, res.output);
    assert.ok(res.output.includes(address), `the output names ${address}:\n${res.output}`);
    assert.match(res.output, /homeserver/i);
  });

  it('exits with 1 and points at the hs_token when it differs from the registration Synapse loaded', async () => {
    const res = await runBridgeToExit(await brokenConfig('appservice', { hs_token: `${env.config.appservice.hs_token}x` }));
    assert.equal(res.code, 1, res.output);
    assert.match(res.output, /hs_token/);
    assert.match(res.output, /registration/);
  });

  it('exits with 1 and points at the registration when Synapse does not know the as_token', async () => {
    const res = await runBridgeToExit(await brokenConfig('appservice', { as_token: `${env.config.appservice.as_token}x` }));
    assert.equal(res.code, 1, res.output);
    assert.match(res.output, /as_token/);
    assert.match(res.output, /registration/);
  });

  it('exits with 1 and names appservice.port when the config is invalid', async () => {
    const res = await runBridgeToExit(await brokenConfig('appservice', { port: 'abc' }));
    assert.equal(res.code, 1, res.output);
    assert.match(res.output, /appservice\.port/);
    assert.doesNotMatch(res.output, /Fatal error/, 'a config problem is reported without a stack trace');
  });

  it('exits with 1 and names appservice.as_token when it is still "generate"', async () => {
    const res = await runBridgeToExit(await brokenConfig('appservice', { as_token: 'generate' }));
    assert.equal(res.code, 1, res.output);
    assert.match(res.output, /appservice\.as_token/);
    assert.match(res.output, /-g/);
  });

  it('starts with the unbroken config against the same Synapse', async () => {
    await env.startBridge();
    const res = await fetch(`http://127.0.0.1:${env.asPort}/_matrix/mau/ready`);
    assert.equal(res.status, 200);
    assert.equal(env.bridgeProc?.exitCode, null);
  });
});

import assert from 'node:assert/strict';
import { parseCliArgs, usageText, CliUsageError } from '../../shared/src/config/index.js';

describe('config CLI arguments', () => {
  it('defaults to running with config.yaml', () => {
    assert.deepEqual(parseCliArgs([]), { mode: 'run', config: 'config.yaml', registration: 'registration.yaml', example: 'config.yaml' });
  });

  it('reads -c and --config', () => {
    assert.equal(parseCliArgs(['-c', 'a.yaml']).config, 'a.yaml');
    assert.equal(parseCliArgs(['--config=b.yaml']).config, 'b.yaml');
    assert.equal(parseCliArgs(['--config', 'c.yaml']).mode, 'run');
  });

  it('-e writes the example to the -c path, or to its own argument', () => {
    assert.deepEqual(parseCliArgs(['-c', 'my.yaml', '-e']), { mode: 'example', config: 'my.yaml', registration: 'registration.yaml', example: 'my.yaml' });
    assert.equal(parseCliArgs(['--generate-example']).example, 'config.yaml');
    const own = parseCliArgs(['-e', 'out/example.yaml']);
    assert.equal(own.mode, 'example');
    assert.equal(own.example, 'out/example.yaml');
  });

  it('-g generates the registration at the -r path', () => {
    assert.deepEqual(parseCliArgs(['-g', '-c', 'x.yaml', '-r', 'reg.yaml']), { mode: 'registration', config: 'x.yaml', registration: 'reg.yaml', example: 'x.yaml' });
    assert.equal(parseCliArgs(['--generate-registration', '--registration', 'r2.yaml']).registration, 'r2.yaml');
  });

  it('-h wins over everything', () => {
    assert.equal(parseCliArgs(['-h']).mode, 'help');
    assert.equal(parseCliArgs(['-g', '--help']).mode, 'help');
  });

  it('rejects unknown flags with the flag named and the usage text', () => {
    assert.throws(() => parseCliArgs(['--bogus'], 'sandbox'), (err: unknown) => {
      assert.ok(err instanceof CliUsageError);
      assert.ok(err.message.startsWith("Unknown option '--bogus'.\n"), err.message);
      assert.ok(err.message.endsWith(usageText('sandbox')));
      return true;
    });
  });

  it('rejects stray arguments, a missing value and -e with -g', () => {
    assert.throws(() => parseCliArgs(['stray']), (err: unknown) => err instanceof CliUsageError && /Unexpected argument 'stray'/.test(err.message));
    assert.throws(() => parseCliArgs(['-e', 'a', 'b']), (err: unknown) => err instanceof CliUsageError && /'b'/.test(err.message));
    assert.throws(() => parseCliArgs(['-c']), (err: unknown) => err instanceof CliUsageError && /-c/.test(err.message));
    assert.throws(() => parseCliArgs(['-e', '-g']), (err: unknown) => err instanceof CliUsageError && /either -e or -g/.test(err.message));
  });

  it('usage text names the bridge and every flag', () => {
    const usage = usageText('whatsapp');
    assert.match(usage, /^Usage: whatsapp /);
    for (const flag of ['--config', '--generate-example', '--generate-registration', '--registration', '--help']) {
      assert.ok(usage.includes(flag), flag);
    }
  });
});

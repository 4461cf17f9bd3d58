// scratch (not committed): a real run of the compiled bench against the test suite's hostile broker
import { spawnSync } from 'node:child_process';
import { hostileBroker, HOSTILE } from './test/support/hostile-broker';
(async () => {
  for (const [name, args] of [['neverAck', ['--qos', '1', '--count', '200', '--idle', '2']], ['neverSuback', ['--count', '100']]] as const) {
    const h = (HOSTILE as Record<string, object>)[name]!;
    const b = await hostileBroker(null, h);
    const argv = ['--broker', b.url, ...args];
    const r = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const c = require('node:child_process').spawn(process.execPath, ['dist/bin/bench.js', ...argv]);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (out += d));
      c.on('exit', (code: number | null) => resolve({ out, code }));
    });
    console.log(`$ mqtt-qos-bench ${argv.join(' ')}\n${r.out}$ echo $?\n${r.code}\n`);
    await b.close();
  }
  void spawnSync;
})();

// npm run web:screenshot: the README's picture of the page (docs/web.png at
// 1280×800, docs/web-phone.png at phone width), taken from a real run of all
// nine pairs on the embedded broker; docs/web-fault.png, a --fault puback run.
import { join } from 'node:path';
import { parseWeb } from '../src/cli/options/web';
import { openWeb } from '../src/cli/web';
import { launchChromium } from '../test/support/browser';

const DOCS = join(__dirname, '..', 'docs');

async function main(): Promise<void> {
  const parsed = parseWeb(['--port', '0']);
  if (parsed.kind !== 'run') return;
  const server = await openWeb(parsed.options);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server.url);
    // Opening the page runs the nine pairs by itself.
    await page.selectOption('#speed', '0');
    await page.waitForSelector('body[data-state="done"]', { timeout: 60_000 });
    // The QoS 2 → QoS 2 pair's PUBLISH toward the subscriber, chosen, so the details show too.
    const pair = page.locator('.pair[data-pub="2"][data-sub="2"]');
    await pair.locator('.arrow[data-type="publish"][data-from="broker"]').click();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(DOCS, 'web.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(DOCS, 'web-phone.png') });
    // A fault run: the cut, the lost PUBACK, the reconnect and the DUP=1 resend, chosen.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.selectOption('#pub', '1');
    await page.selectOption('#sub', '1');
    await page.fill('#fault', 'puback');
    await page.click('#go');
    await page.waitForFunction(() => document.body.dataset.state === 'done' && document.getElementById('status')!.textContent!.startsWith('Run 2:'), undefined, { timeout: 60_000 });
    await page.locator('.arrow[data-dup="1"][data-from="publisher"]').click();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(DOCS, 'web-fault.png') });
    console.log(`wrote ${['web.png', 'web-phone.png', 'web-fault.png'].map((f) => join('docs', f)).join(', ')}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

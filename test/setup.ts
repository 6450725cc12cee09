/**
 * Mocha global setup: builds every fixture with the real toolchain before any test runs
 * (cached in fixtures/.build: a second run takes milliseconds).
 */
import { buildFixtures } from '../fixtures/build.js';

export async function mochaGlobalSetup(): Promise<void> {
  const started = performance.now();
  await buildFixtures(undefined, (line) => console.log(`  ${line}`));
  const seconds = (performance.now() - started) / 1000;
  if (seconds > 1) console.log(`  fixtures ready in ${seconds.toFixed(1)} s`);
}

/** This package's own `package.json`: the version the CLI reports and a scaffold depends on. */
import { readFileSync } from 'node:fs';

interface PackageJson {
  name: string;
  version: string;
  engines: { node: string };
  dependencies?: Record<string, string>;
  /** npm's install-script approvals (npm 11: scripts not listed are warned about). */
  allowScripts?: Record<string, boolean>;
}

/** Read once, from the package root (three levels above `dist/lib/cli/`). */
export const PACKAGE: PackageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as PackageJson;

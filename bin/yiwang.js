#!/usr/bin/env node
// npm bin entry. A release tree (scripts/build-release.sh) holds compiled JavaScript and runs it directly;
// a source checkout runs the TypeScript through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}

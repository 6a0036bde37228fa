#!/usr/bin/env node
// npm bin entry: runs the TypeScript CLI through tsx (no build step needed on the edge box).
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');

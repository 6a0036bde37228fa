// Starts one throwaway PostgreSQL cluster for the whole test run; tests get a fresh database each
// (test/helpers/postgres.ts). Stopped and deleted when the run ends.
import type { TestProject } from 'vitest/node';
import { startPostgres, type PgServer } from '../demo/services/postgres.js';

let server: PgServer | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  server = await startPostgres();
  project.provide('pgAdminUrl', server.url());
  return () => server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

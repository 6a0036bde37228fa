// Secrets out of config files: `${VAR}` expansion in config strings, `passwordEnv` lookups, and the
// `edge.env` file (KEY=VALUE lines, the format of systemd's EnvironmentFile) that holds the values.
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** Environment variable names we accept in `passwordEnv` and `${...}`. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

export interface EnvProblem {
  path: string;    // "devices.0.connection.password"
  message: string;
}

/**
 * Replaces `${NAME}` in every string of `data` (in place) with the environment variable's value;
 * `$${` stands for a literal `${`. Returns one problem per unset or malformed reference.
 */
export function expandEnvReferences(data: unknown, env: NodeJS.ProcessEnv = process.env): EnvProblem[] {
  const problems: EnvProblem[] = [];
  const expand = (s: string, path: string): string =>
    s.replace(REFERENCE, (whole, name: string | undefined) => {
      if (name === undefined) return '${';
      if (!ENV_NAME_RE.test(name)) {
        problems.push({ path, message: `"${whole}" is not a valid environment variable reference (letters, digits and _ only)` });
        return whole;
      }
      const v = env[name];
      if (v === undefined) {
        problems.push({ path, message: `environment variable ${name} is not set (referenced as \${${name}}; put it in edge.env next to the config)` });
        return whole;
      }
      return v;
    });
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return node.includes('$') ? expand(node, path) : node;
    if (Array.isArray(node)) {
      node.forEach((v, i) => (node[i] = walk(v, path ? `${path}.${i}` : String(i))));
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = walk(obj[k], path ? `${path}.${k}` : k);
    }
    return node;
  };
  walk(data, '');
  return problems;
}

/**
 * Problems with an optional `password` / `passwordEnv` pair of a config block (`at` names the block):
 * a bad variable name, an unset variable, or both given.
 */
export function passwordEnvProblems(block: Record<string, unknown>, at: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const name = block.passwordEnv;
  if (name === undefined) return [];
  if (typeof name !== 'string' || !ENV_NAME_RE.test(name)) return [`${at}.passwordEnv: must be an environment variable name`];
  const out: string[] = [];
  if (env[name] === undefined) out.push(`${at}.passwordEnv: environment variable ${name} is not set (put it in edge.env next to the config)`);
  if (block.password !== undefined) out.push(`${at}.passwordEnv: give password or passwordEnv, not both`);
  return out;
}

/** The password of a block with `password` or `passwordEnv` (the variable's value), or undefined. */
export function passwordOf(block: { password?: unknown; passwordEnv?: unknown }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof block.passwordEnv === 'string') return env[block.passwordEnv];
  return typeof block.password === 'string' ? block.password : undefined;
}

/** Reads an env file (KEY=VALUE, # comments, optional quotes); a missing file is empty. */
export function readEnvFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    throw new Error(
      `cannot read ${file} (${code}): run this as the user the agent runs as (sudo -u yiwang ...), or make that user the file's owner (chown yiwang: ${file}; chmod 600 ${file})`,
    );
  }
  return parseEnv(text) as Record<string, string>;
}

/**
 * Loads an env file into process.env. Its values win over the inherited environment: the file is what
 * `yiwang edge camera add` writes, and the running agent re-reads it on reload to see new passwords.
 */
export function applyEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const vars = readEnvFile(file);
  for (const [k, v] of Object.entries(vars)) env[k] = v;
  return Object.keys(vars);
}

/** A value written so that both systemd's EnvironmentFile and parseEnv read it back unchanged. */
function envLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${name}: a value in an env file cannot contain a line break`);
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(value) ? `${name}=${value}` : `${name}='${value.replace(/'/g, '')}'`;
}

/**
 * Sets (or replaces) one variable in an env file, atomically; the file keeps its mode (new files 0600:
 * they hold passwords). Single quotes are not representable in systemd's format and are refused.
 */
export function setEnvFileVar(file: string, name: string, value: string): void {
  if (!ENV_NAME_RE.test(name)) throw new Error(`"${name}" is not a valid environment variable name`);
  if (value.includes("'")) throw new Error(`${name}: the value must not contain a single quote (')`);
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = old.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const line = envLine(name, value);
  const i = lines.findIndex((l) => new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(l));
  if (i >= 0) lines[i] = line;
  else lines.push(line);
  writeFilePreservingMode(file, `${lines.join('\n')}\n`);
}

/**
 * Atomic replace (temp file + fsync + rename) that keeps the original file's mode and owner; a new file
 * gets mode 0600. A crash mid-write never leaves a half-written file, and an edit never loosens permissions.
 */
export function writeFilePreservingMode(file: string, text: string): void {
  const before = existsSync(file) ? statSync(file) : undefined;
  const mode = before ? before.mode & 0o7777 : 0o600;
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // openSync's mode is filtered by the umask
  if (before && process.getuid?.() === 0) {
    // root editing the service user's file must not hand it to root
    chownSync(tmp, before.uid, before.gid);
  }
  renameSync(tmp, file);
}

// Shared YAML config loading: parse, JSON-Schema check, and "file: path: reason" errors.
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(problems.map((p) => `${file}: ${p.path}: ${p.message}`).join('\n'));
  }
}

export function describeAjvError(e: ErrorObject): { path: string; message: string } {
  const path = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  switch (e.keyword) {
    case 'additionalProperties':
      return { path, message: `unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"` };
    case 'enum':
      return { path, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/** Reads a YAML file, checks it against `validate`, and returns the data or throws ConfigError. */
export function loadYamlConfig<T>(file: string, validate: ValidateFunction): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseYamlConfig<T>(file, text, validate);
}

export function parseYamlConfig<T>(file: string, text: string, validate: ValidateFunction): T {
  let data: unknown;
  try {
    data = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (!validate(data)) {
    const seen = new Set<string>();
    const problems = (validate.errors ?? []).map(describeAjvError).filter((p) => {
      const k = `${p.path}|${p.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    throw new ConfigError(file, problems);
  }
  return data as T;
}

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { AnswerSchema } from '../exec/agents/types.js';

/**
 * The JSON Schemas nightshift publishes for a planner's answer and a plan reviewer's verdict (docs/, shipped
 * in the package). The same file is handed to the agent CLI and checked here with ajv: an agent's own
 * structured-output check is never taken on trust.
 */

export type SchemaName = 'plan' | 'plan-review';

export interface PlanAnswer {
  tasks: PlannedTask[];
  questions: string[];
}

export interface PlannedTask {
  id: string;
  title: string;
  kind: string | null;
  depends_on: string[];
  files: string[];
  skills: string[];
  estimated_minutes: number;
  confidence: number;
  body: Record<BodySection, string>;
}

export const BODY_SECTIONS = ['goal', 'context', 'files', 'steps', 'acceptance_criteria', 'test_plan', 'out_of_scope'] as const;
export type BodySection = (typeof BODY_SECTIONS)[number];

export interface ReviewAnswer {
  confidence: number;
  gaps: string[];
  questions: string[];
}

export type Checked<T> = { kind: 'ok'; value: T } | { kind: 'invalid'; errors: string[] };

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<SchemaName, ValidateFunction>();

export function schemaFile(name: SchemaName): string {
  // src/plan and dist/plan are both two levels below the package root, where docs/ lives.
  return fileURLToPath(new URL(`../../docs/${name}.schema.json`, import.meta.url));
}

/** The schema as handed to an agent: its file (Codex) and its text (Claude Code takes it in argv). */
export async function answerSchema(name: SchemaName): Promise<AnswerSchema> {
  const file = schemaFile(name);
  const json = JSON.stringify(JSON.parse(await readFile(file, 'utf8')));
  return { file, json };
}

async function validator(name: SchemaName): Promise<ValidateFunction> {
  const known = compiled.get(name);
  if (known) return known;
  const v = ajv.compile(JSON.parse(await readFile(schemaFile(name), 'utf8')) as object);
  compiled.set(name, v);
  return v;
}

/** Checks an answer (already parsed from JSON) against the schema; every error, in words. */
export async function checkAnswer<T>(name: SchemaName, value: unknown): Promise<Checked<T>> {
  const validate = await validator(name);
  if (validate(value)) return { kind: 'ok', value: value as T };
  return { kind: 'invalid', errors: (validate.errors ?? []).slice(0, 20).map(describeError) };
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'the answer' : e.instancePath;
  if (e.keyword === 'additionalProperties') return `${where} has an unknown key "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${where} lacks "${String(e.params.missingProperty)}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * Reads JSON from an answer text: the whole text, or the one fenced ```json block a model wrapped it in.
 * Undefined when there is none.
 */
export function parseJsonText(text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: 'the answer is empty' };
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n```$/.exec(trimmed);
  try {
    return { value: JSON.parse(fenced ? (fenced[1] as string) : trimmed) as unknown };
  } catch (err) {
    return { error: `the answer is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

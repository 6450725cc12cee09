/**
 * Encodes a field request for the wire (its values as JSON text) and checks its UTF-8 size
 * against `limits.maxRequestBytes`.
 */
import { JsonTooDeepError, MAX_JSON_DEPTH, shallowJsonText } from '../data/json-depth.js';
import { ExtensionCallError } from './errors.js';
import type { Limits, WireRequest } from './wire.js';

const EMPTY = Object.freeze({});

/**
 * An unpaired UTF-16 surrogate in JSON text as JSON.stringify writes it: `\ud800` (the only
 * character it escapes so; a pair is written as is), not itself an escaped backslash (`\\ud800`
 * is the six characters). UTF-8 cannot carry one: the guest's bytes and SQLite's text would
 * hold U+FFFD in its place, silently.
 */
const UNPAIRED_SURROGATE = /(?<!\\)(?:\\\\)*\\u(d[89a-f][0-9a-f]{2})/;

/** An argument's string that is not Unicode text: {@link FieldEncoder.encode} refuses it. */
class UnpairedSurrogateError extends Error {
  constructor(readonly escape: string) {
    super(`unpaired surrogate \\u${escape}`);
  }
}

/** What is encoded of a `FieldRequest` (see extension.ts, which documents each field). */
interface EncodedFields {
  typeName: string;
  fieldName: string;
  arguments?: Record<string, unknown>;
  parent?: unknown;
  context?: Record<string, unknown>;
}

export class FieldEncoder {
  /** One request's context serves all its fields: encoded once. */
  readonly #contexts = new WeakMap<object, { text: string; bytes: number }>();

  constructor(
    private readonly extension: string,
    private readonly limits: Readonly<Limits>,
  ) {}

  /**
   * The request's wire form and its size (arguments + parent + context bytes). Throws an
   * {@link ExtensionCallError}: `EXTENSION_BAD_REQUEST` for values that are not JSON or are nested
   * more than MAX_JSON_DEPTH (1,000) levels (a client's variable for a custom scalar can be: the
   * same refusal on every Node line) and for arguments holding an unpaired UTF-16 surrogate (a
   * client's JSON variable can), `EXTENSION_REQUEST_TOO_LARGE` above the limit.
   */
  encode(request: EncodedFields): { wire: WireRequest; bytes: number } {
    const encoded = (what: 'arguments' | 'parent', value: unknown): string => {
      try {
        // Both are objects: each of their values may nest MAX_JSON_DEPTH levels.
        const text = shallowJsonText(value, MAX_JSON_DEPTH + 1);
        // A client's string (GraphQL's parser refuses the same in a literal; JSON variables carry it).
        const unpaired = what === 'arguments' && text.includes('\\ud') ? UNPAIRED_SURROGATE.exec(text) : null;
        if (unpaired) throw new UnpairedSurrogateError(unpaired[1]!);
        return text;
      } catch (e) {
        const why =
          e instanceof JsonTooDeepError
            ? `${what === 'arguments' ? "an argument's value" : 'a value in it'} is nested more than ${MAX_JSON_DEPTH} levels deep (the host's limit for JSON, SQLite's own)`
            : e instanceof UnpairedSurrogateError
              ? `an argument's value holds an unpaired UTF-16 surrogate (\\u${e.escape}): it is not Unicode text, and UTF-8 (the extension's JSON, SQLite's text) would hold U+FFFD in its place`
              : `not JSON-serialisable (${(e as Error).message})`;
        throw new ExtensionCallError('EXTENSION_BAD_REQUEST', this.extension, `${request.typeName}.${request.fieldName}: the ${what} cannot be sent to the extension: ${why}`);
      }
    };
    const args = encoded('arguments', request.arguments ?? EMPTY);
    const parent = request.parent === undefined ? undefined : encoded('parent', request.parent);
    const context = this.#contextText(request.context ?? EMPTY);
    const size = Buffer.byteLength(args) + (parent === undefined ? 0 : Buffer.byteLength(parent)) + context.bytes;
    if (size > this.limits.maxRequestBytes) {
      throw new ExtensionCallError(
        'EXTENSION_REQUEST_TOO_LARGE',
        this.extension,
        `the request for ${request.typeName}.${request.fieldName} is ${size} bytes, above the limit of ${this.limits.maxRequestBytes} (limits.maxRequestBytes)`,
      );
    }
    const wire = { typeName: request.typeName, fieldName: request.fieldName, arguments: args, context: context.text, ...(parent === undefined ? {} : { parent }) };
    return { wire, bytes: size };
  }

  #contextText(context: object): { text: string; bytes: number } {
    let encoded = this.#contexts.get(context);
    if (!encoded) {
      // The application's grant, already checked to be a JSON object (policy.ts).
      const text = JSON.stringify(context);
      encoded = { text, bytes: Buffer.byteLength(text) };
      this.#contexts.set(context, encoded);
    }
    return encoded;
  }
}

/**
 * Encodes a field request for the wire (JSON as UTF-8 bytes) and checks it against
 * `limits.maxRequestBytes`.
 */
import { JsonTooDeepError, MAX_JSON_DEPTH, shallowJsonBytes } from '../data/json-depth.js';
import { jsonBytes } from '../data/json-values.js';
import { ExtensionCallError } from './errors.js';
import type { Limits, WireRequest } from './wire.js';

const EMPTY = Object.freeze({});

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
  readonly #contexts = new WeakMap<object, Uint8Array>();

  constructor(
    private readonly extension: string,
    private readonly limits: Readonly<Limits>,
  ) {}

  /**
   * The request's wire form and its size (arguments + parent + context bytes). Throws a
   * TypeError for values that are not JSON or are nested more than MAX_JSON_DEPTH (1,000) levels
   * (a client's variable for a custom scalar can be: the same refusal on every Node line), an
   * `EXTENSION_REQUEST_TOO_LARGE` error above the limit.
   */
  encode(request: EncodedFields): { wire: WireRequest; bytes: number } {
    const encoded = (what: 'arguments' | 'parent', value: unknown): Uint8Array => {
      try {
        // Both are objects: each of their values may nest MAX_JSON_DEPTH levels.
        return shallowJsonBytes(value, MAX_JSON_DEPTH + 1);
      } catch (e) {
        const why =
          e instanceof JsonTooDeepError
            ? `${what === 'arguments' ? "an argument's value" : 'a value in it'} is nested more than ${MAX_JSON_DEPTH} levels deep (the host's limit for JSON, SQLite's own)`
            : `not JSON-serialisable (${(e as Error).message})`;
        throw new TypeError(`${request.typeName}.${request.fieldName}: the ${what} cannot be sent to the extension: ${why}`);
      }
    };
    const args = encoded('arguments', request.arguments ?? {});
    const parent = request.parent === undefined ? undefined : encoded('parent', request.parent);
    const context = this.#contextBytes(request.context ?? EMPTY);
    const size = args.length + (parent?.length ?? 0) + context.length;
    if (size > this.limits.maxRequestBytes) {
      throw new ExtensionCallError(
        'EXTENSION_REQUEST_TOO_LARGE',
        this.extension,
        `the request for ${request.typeName}.${request.fieldName} is ${size} bytes, above the limit of ${this.limits.maxRequestBytes} (limits.maxRequestBytes)`,
      );
    }
    const wire = { typeName: request.typeName, fieldName: request.fieldName, arguments: args, context, ...(parent ? { parent } : {}) };
    return { wire, bytes: size };
  }

  #contextBytes(context: object): Uint8Array {
    let bytes = this.#contexts.get(context);
    if (!bytes) {
      bytes = jsonBytes(context);
      this.#contexts.set(context, bytes);
    }
    return bytes;
  }
}

/**
 * Encodes a field request for the wire (its values as JSON text) and checks its UTF-8 size
 * against `limits.maxRequestBytes`.
 */
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
  readonly #contexts = new WeakMap<object, { text: string; bytes: number }>();

  constructor(
    private readonly extension: string,
    private readonly limits: Readonly<Limits>,
  ) {}

  /**
   * The request's wire form and its size (arguments + parent + context bytes). Throws a
   * TypeError for values that are not JSON, an `EXTENSION_REQUEST_TOO_LARGE` error above the limit.
   */
  encode(request: EncodedFields): { wire: WireRequest; bytes: number } {
    let parent: string | undefined;
    let args: string;
    try {
      args = jsonText(request.arguments ?? EMPTY);
      parent = request.parent === undefined ? undefined : jsonText(request.parent);
    } catch (e) {
      throw new TypeError(`${request.typeName}.${request.fieldName}: the parent or arguments are not JSON-serialisable: ${(e as Error).message}`);
    }
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
      const text = jsonText(context);
      encoded = { text, bytes: Buffer.byteLength(text) };
      this.#contexts.set(context, encoded);
    }
    return encoded;
  }
}

/** `JSON.stringify`, for a value that must have a JSON text (undefined, a function, a symbol do not: TypeError). */
function jsonText(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`${typeof value} is not JSON`);
  return text;
}

declare module 'forge:extension/types@0.1.0' {
  /**
   * UTF-8 JSON text. Bytes, not `string`: a string returned by a JS guest is re-encoded
   * character by character in the guest's interpreter (~150 ns/byte); bytes cross in one copy.
   */
  export type Json = Uint8Array;
  /**
   * What `init` receives.
   */
  export interface ExtensionConfig {
    /**
     * The extension's name, from its file name (`issues.wasm` -> `issues`).
     */
    name: string,
    /**
     * The file name of its database, `forge_ext_<name>.db` (never a host path: the directory
     * is the host's). Informational: the guest reaches the database only through the
     * `database` import.
     */
    dbPath: string,
    /**
     * The application's configuration for this extension, as JSON, if any.
     */
    config?: Json,
  }
  /**
   * One field to resolve.
   */
  export interface FieldRequest {
    /**
     * The parent type as the extension's SDL names it (never prefixed).
     */
    typeName: string,
    fieldName: string,
    /**
     * The field's arguments: a JSON object.
     */
    arguments: Json,
    /**
     * The parent object; none for root fields (`Query`, `Mutation`).
     */
    parent?: Json,
    /**
     * The JSON object the application chose for this request.
     */
    context: Json,
  }
}

/**
 * What the guest SDK tells tooling about an extension built with it, through the contract's
 * own `resolve-field`: a request for {@link SDK_METADATA_TYPE}.`resolvers` answers the
 * definition's resolver keys, so `forge-ext check` can match them against the SDL of a built
 * component. The type name starts with `__`, which GraphQL reserves for introspection (spec
 * §4.1 "Reserved Names"), so no schema can define it and no query a host routes can reach it.
 *
 * This file imports nothing: the host-side CLI imports it without loading the guest SDK.
 */
export const SDK_METADATA_TYPE = '__ForgeSdk';

/** The field of {@link SDK_METADATA_TYPE} that answers the resolver keys (`["Query.notes", ...]`). */
export const SDK_RESOLVER_KEYS_FIELD = 'resolvers';

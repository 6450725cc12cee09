/**
 * The application's own GraphQL schema, shared by both example apps: a few repositories,
 * served from memory by ordinary resolvers. The `issues` extension extends `Repository` with
 * `issues` and adds its own root fields.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';

const repositories = [
  { id: '1', name: 'forge', stars: 1200 },
  { id: '2', name: 'anvil', stars: 87 },
];

export const baseSchema = makeExecutableSchema({
  typeDefs: /* GraphQL */ `
    type Repository {
      id: ID!
      name: String!
      stars: Int!
    }
    type Query {
      repositories: [Repository!]!
      repository(name: String!): Repository
      "Who the request says it is (the x-user header), from the request context."
      whoami: String!
    }
  `,
  resolvers: {
    Query: {
      repositories: () => repositories,
      repository: (_: unknown, { name }: { name: string }) => repositories.find((r) => r.name === name) ?? null,
      whoami: (_: unknown, __: unknown, context: { user: string }) => context.user,
    },
  },
});

/** Settings for the fixture extensions the examples serve. */
export const extensionSettings = {
  issues: { config: { repositories: true, maxTitle: 200 } },
};

/** Where the examples read extensions and keep data (overridable by environment). */
export const paths = {
  extensions: process.env['EXTENSIONS_DIR'] ?? 'examples/extensions',
  data: process.env['DATA_DIR'] ?? './data',
};
export const port = Number(process.env['PORT'] ?? 4000);

/**
 * What a user would write without forge-extensions: the `issues` extension's schema shape
 * (Issue, Comment, the same field names) with hand-written resolvers over better-sqlite3 on the
 * same database file, as an executable schema (`makeExecutableSchema`).
 *
 * - `naive` (the typical first version): one prepared statement per issue for `comments` (N+1).
 * - `batched`: a DataLoader-style loader (the calls made in one tick become one
 *   `issue_id IN (...)` query), created per request in the GraphQL context.
 *
 * The same schema, naive, is the `native` variant's base schema (our middleware, no extension).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import Database from 'better-sqlite3';
import type { GraphQLSchema } from 'graphql';

export const typeDefs = /* GraphQL */ `
  enum IssueStatus { OPEN IN_PROGRESS CLOSED }
  type Issue {
    id: ID!
    repository: String
    title: String!
    body: String
    status: IssueStatus!
    createdAt: String!
    comments: [Comment!]!
  }
  type Comment {
    id: ID!
    body: String!
    createdAt: String!
  }
  type Query {
    issues(status: IssueStatus, first: Int = 20, after: ID): [Issue!]!
    issue(id: ID!): Issue
  }
  type Mutation {
    createIssue(title: String!, body: String, repository: String): Issue!
  }
`;

interface IssueRow {
  id: number;
  title: string;
}
interface CommentRow {
  id: number;
  issueId?: number;
  body: string;
  createdAt: string;
}
/** The per-request context of the batched variant. */
export interface BatchedContext {
  comments: (issueId: number) => Promise<CommentRow[]>;
}

const COLUMNS = 'id, repository, title, body, status, created_at AS createdAt';

/** The executable schema over the SQLite file `dbFile`, and the context factory it needs. */
export function plainSchema(dbFile: string, mode: 'naive' | 'batched' = 'naive'): { schema: GraphQLSchema; context: () => object } {
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  const byId = db.prepare(`SELECT ${COLUMNS} FROM issues WHERE id = ?`);
  const list = db.prepare(
    `SELECT ${COLUMNS} FROM issues WHERE (:status IS NULL OR status = :status) AND id > :after ORDER BY id LIMIT :first`,
  );
  const commentsOf = db.prepare('SELECT id, body, created_at AS createdAt FROM comments WHERE issue_id = ? ORDER BY id');
  const commentsOfMany = db.prepare(
    'SELECT id, issue_id AS issueId, body, created_at AS createdAt FROM comments WHERE issue_id IN (SELECT value FROM json_each(?)) ORDER BY id',
  );
  const insert = db.prepare('INSERT INTO issues (title, body, repository) VALUES (?, ?, ?)');

  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Query: {
        issues: (_: unknown, args: { status?: string; first?: number; after?: string }) =>
          list.all({ status: args.status ?? null, after: Number(args.after ?? 0), first: Math.max(0, Math.min(args.first ?? 20, 500)) }),
        issue: (_: unknown, args: { id: string }) => byId.get(Number(args.id)) ?? null,
      },
      Mutation: {
        createIssue: (_: unknown, args: { title: string; body?: string; repository?: string }) => {
          const { lastInsertRowid } = insert.run(args.title, args.body ?? null, args.repository ?? null);
          return byId.get(lastInsertRowid);
        },
      },
      Issue: {
        comments:
          mode === 'naive'
            ? (issue: IssueRow) => commentsOf.all(issue.id)
            : (issue: IssueRow, _: unknown, context: BatchedContext) => context.comments(issue.id),
      },
    },
  });
  const context = mode === 'naive' ? () => ({}) : (): BatchedContext => ({ comments: loader(commentsOfMany) });
  return { schema, context };
}

/** Collects the issue ids asked for in one tick and answers them with one query. */
function loader(stmt: Database.Statement): BatchedContext['comments'] {
  let pending: Array<{ id: number; resolve: (rows: CommentRow[]) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      const byIssue = new Map<number, CommentRow[]>(batch.map((p) => [p.id, []]));
      for (const row of stmt.all(JSON.stringify(batch.map((p) => p.id))) as CommentRow[]) {
        const { issueId, ...comment } = row;
        byIssue.get(issueId!)?.push(comment);
      }
      for (const p of batch) p.resolve(byIssue.get(p.id)!);
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  };
  return (id) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) void Promise.resolve().then(() => process.nextTick(flush));
      pending.push({ id, resolve, reject });
    });
}

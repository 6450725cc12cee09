import type { ServerResponse } from 'node:http';
import type { HttpAnswer } from './handler.js';

/** Writes a handler's answer to a Node response. */
export function writeAnswer(res: ServerResponse, answer: HttpAnswer): void {
  res.writeHead(answer.status, answer.statusText, answer.headers);
  res.end(answer.body);
}

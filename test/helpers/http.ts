/** Requests to pmond's HTTP door in tests: signed with a key file made by `pmon3 key gen`, or raw. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { authorization, parsePrivate } from '../../internal/protocol/keys';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

export type Key = ReturnType<typeof parsePrivate>;

export function loadKey(file: string): Key {
  return parsePrivate(fs.readFileSync(file, 'utf8'));
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Sign with this key (the default header), unless authorization is given. */
  key?: Key;
  authorization?: string;
  headers?: http.OutgoingHttpHeaders;
  agent?: http.Agent;
}

/** One request to 127.0.0.1:port. */
export function request(port: number, path: string, o: RequestOptions = {}): Promise<Reply> {
  const method = o.method ?? 'GET';
  const body = o.body === undefined ? '' : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
  const headers: http.OutgoingHttpHeaders = { ...(body ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
  if (o.authorization !== undefined) headers.Authorization = o.authorization;
  else if (o.key) headers.Authorization = authorization(o.key, method, path, body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: o.agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      const done = (): void => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      };
      res.on('data', (c: string) => (text += c));
      res.on('end', done);
      res.on('error', () => done());
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A streamed answer (NDJSON): its lines as they come, until close(). */
export interface OpenStream {
  status: Promise<number>;
  lines: string[];
  ended: Promise<void>;
  close(): void;
}

export function openStream(port: number, path: string, key: Key, headers: http.OutgoingHttpHeaders = {}): OpenStream {
  const lines: string[] = [];
  let part = '';
  let setStatus!: (n: number) => void;
  let setEnded!: () => void;
  const status = new Promise<number>((r) => (setStatus = r));
  const ended = new Promise<void>((r) => (setEnded = r));
  const req = http.request({ host: '127.0.0.1', port, method: 'GET', path, headers: { ...headers, Authorization: authorization(key, 'GET', path, '') }, agent: false }, (res) => {
    setStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      part += c;
      let i: number;
      while ((i = part.indexOf('\n')) >= 0) {
        lines.push(part.slice(0, i));
        part = part.slice(i + 1);
      }
    });
    res.on('end', setEnded);
    res.on('close', setEnded);
  });
  req.on('error', () => {
    setStatus(0);
    setEnded();
  });
  req.end();
  return { status, lines, ended, close: () => req.destroy() };
}

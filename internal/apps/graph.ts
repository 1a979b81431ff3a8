/**
 * Dependencies between apps: a DAG. The start order is topological (an app
 * after everything it depends on; ties by name, so the order is stable), the
 * stop order its reverse; a cycle is refused naming it (`a -> b -> a`), and a
 * dependency on an app that does not exist names both.
 */
import { invalidArgument } from '../protocol/errors';

/** What the graph needs of an app. */
export interface Node {
  name: string;
  dependencies: readonly string[];
}

/** Start order: each app after its dependencies. Throws INVALID_ARGUMENT on a cycle or a missing app. */
export function startOrder(apps: readonly Node[]): string[] {
  const byName = new Map(apps.map((a) => [a.name, a]));
  for (const a of apps) {
    for (const d of a.dependencies) if (!byName.has(d)) throw invalidArgument(`${a.name} depends on ${d}, which is not defined`);
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      throw invalidArgument(`dependency cycle: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    stack.push(name);
    for (const d of [...byName.get(name)!.dependencies].sort()) visit(d);
    stack.pop();
    state.set(name, 'done');
    order.push(name);
  };
  for (const a of [...apps].sort((x, y) => x.name.localeCompare(y.name))) visit(a.name);
  return order;
}

/** Stop order: dependents before what they depend on. */
export function stopOrder(apps: readonly Node[]): string[] {
  return startOrder(apps).reverse();
}

/**
 * The Go pmon3's `dgraph`: the queue order (apps in the dependency graph first, in start order,
 * then every other app by name) and the dependency graph order (the graph's apps alone).
 * Unlike the Go pmon3, which logs a missing dependency and goes on, a cycle or a missing app is
 * an error naming it (as startOrder).
 */
export function dependencyOrder(apps: readonly Node[]): { queue: string[]; graph: string[] } {
  const order = startOrder(apps);
  const inGraph = new Set<string>();
  for (const a of apps) {
    if (a.dependencies.length === 0) continue;
    inGraph.add(a.name);
    for (const d of a.dependencies) inGraph.add(d);
  }
  const graph = order.filter((n) => inGraph.has(n));
  const rest = apps
    .map((a) => a.name)
    .filter((n) => !inGraph.has(n))
    .sort((x, y) => x.localeCompare(y));
  return { queue: [...graph, ...rest], graph };
}

/** `dgraph` as the Go pmon3 prints it (tab-indented, numbered from 0). */
export function formatDependencyOrder(o: { queue: string[]; graph: string[] }): string {
  const lines = ['Queue Order', ...o.queue.map((n, i) => `\t${i}: ${n}`)];
  if (o.graph.length > 0) lines.push('Dependency Graph Order', ...o.graph.map((n, i) => `\t${i}: ${n}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Each app's depth: 0 for an app with no dependencies (among those given), else one more than
 * its deepest dependency. Dependencies not given are ignored; on a cycle every app of it gets 0
 * (order cannot be honoured there; apply refuses cycles, so only an old table can hold one).
 * Stopping deepest first stops dependents before what they depend on.
 */
export function dependencyLevels(apps: readonly Node[]): Map<string, number> {
  const deps = new Map(apps.map((a) => [a.name, a.dependencies.filter((d) => d !== a.name)]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (n: string): number => {
    const known = level.get(n);
    if (known !== undefined) return known;
    if (visiting.has(n)) return 0;
    visiting.add(n);
    let l = 0;
    for (const d of deps.get(n) ?? []) if (deps.has(d)) l = Math.max(l, visit(d) + 1);
    visiting.delete(n);
    level.set(n, l);
    return l;
  };
  for (const a of apps) visit(a.name);
  return level;
}

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

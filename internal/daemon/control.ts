/** pmon3 daemon start|status|stop (placeholder until the per-user daemon control lands). */
import { failedPrecondition } from '../protocol/errors';

type Outcome = { text: string; value: unknown };
const todo = (): never => {
  throw failedPrecondition('pmon3 daemon is not available in this build');
};
export async function daemonStart(_o: { json: boolean; foreground?: boolean }): Promise<Outcome> {
  return todo();
}
export async function daemonStatus(): Promise<Outcome> {
  return todo();
}
export async function daemonStop(): Promise<Outcome> {
  return todo();
}

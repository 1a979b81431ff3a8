/** A FIFO async mutex: one operation at a time per process. */
export class Lock {
  private tail: Promise<void> = Promise.resolve();

  /** Run fn once every earlier holder is done. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

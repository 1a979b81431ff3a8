/**
 * The door's kept listings (internal/http/listing-cache.ts): given again only at the same store
 * generation and age, per key, shared while being made, errors not kept, bounded in keys and bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LISTING_BYTES, LISTING_KEYS, LISTING_TTL_MS, ListingCache } from '../../internal/http/listing-cache';

function setup(): { cache: ListingCache; made: string[]; clock: { t: number }; gen: { n: number }; make(key: string, text?: string): () => Promise<Buffer> } {
  const clock = { t: 1_000_000 };
  const gen = { n: 1 };
  const made: string[] = [];
  const cache = new ListingCache(() => gen.n, () => clock.t);
  return {
    cache,
    made,
    clock,
    gen,
    make: (key, text = key) => async () => {
      made.push(key);
      return Buffer.from(`${text}@${gen.n}`);
    },
  };
}

describe('ListingCache', () => {
  test('the same key at the same generation and age: the kept reply, made once', async () => {
    const s = setup();
    assert.equal(String(await s.cache.get('a', s.make('a'))), 'a@1');
    s.clock.t += LISTING_TTL_MS - 1;
    assert.equal(String(await s.cache.get('a', s.make('a'))), 'a@1');
    assert.deepEqual(s.made, ['a']);
  });

  test('a change in the store (generation) makes it again at once', async () => {
    const s = setup();
    await s.cache.get('a', s.make('a'));
    s.gen.n = 2;
    assert.equal(String(await s.cache.get('a', s.make('a'))), 'a@2');
    assert.deepEqual(s.made, ['a', 'a']);
  });

  test('older than the TTL: made again', async () => {
    const s = setup();
    await s.cache.get('a', s.make('a'));
    s.clock.t += LISTING_TTL_MS;
    await s.cache.get('a', s.make('a'));
    assert.deepEqual(s.made, ['a', 'a']);
  });

  test('a clock stepped back does not keep a reply longer', async () => {
    const s = setup();
    await s.cache.get('a', s.make('a'));
    s.clock.t -= 3_600_000;
    await s.cache.get('a', s.make('a'));
    assert.deepEqual(s.made, ['a', 'a']);
  });

  test("one caller's reply is never another's", async () => {
    const s = setup();
    assert.equal(String(await s.cache.get('uid 1000 table', s.make('alice'))), 'alice@1');
    assert.equal(String(await s.cache.get('uid 1001 table', s.make('bob'))), 'bob@1');
    assert.equal(String(await s.cache.get('uid 1000 table', s.make('alice-again'))), 'alice@1');
  });

  test('a change while a reply is being made leaves it stale for the next caller', async () => {
    const s = setup();
    let release!: () => void;
    const slow = async (): Promise<Buffer> => {
      await new Promise<void>((r) => (release = r));
      return Buffer.from('old');
    };
    const first = s.cache.get('a', slow);
    s.gen.n = 2; // a row changed meanwhile
    release();
    assert.equal(String(await first), 'old');
    assert.equal(String(await s.cache.get('a', s.make('a'))), 'a@2');
  });

  test('callers that come while it is made share it; an error is given to them and not kept', async () => {
    const s = setup();
    let n = 0;
    const failing = async (): Promise<Buffer> => {
      n++;
      await Promise.resolve();
      throw new Error('pmond went away');
    };
    const a = s.cache.get('a', failing);
    const b = s.cache.get('a', failing);
    await assert.rejects(a, /went away/);
    await assert.rejects(b, /went away/);
    assert.equal(n, 1);
    assert.equal(String(await s.cache.get('a', s.make('a'))), 'a@1');
  });

  test('bounded: past LISTING_KEYS keys or LISTING_BYTES bytes, what is kept is dropped', async () => {
    const s = setup();
    for (let i = 0; i < LISTING_KEYS * 3; i++) await s.cache.get(`uid ${i} table`, s.make(`k${i}`));
    assert.ok(s.cache.size().keys <= LISTING_KEYS, `${s.cache.size().keys} keys`);
    const big = 'x'.repeat(LISTING_BYTES / 2 + 1);
    await s.cache.get('big1', s.make('big1', big));
    await s.cache.get('big2', s.make('big2', big));
    assert.ok(s.cache.size().bytes <= LISTING_BYTES, `${s.cache.size().bytes} bytes`);
  });
});

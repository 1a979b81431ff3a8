/**
 * Run claims: "the run of app A for time T is starting", appended to a small file in data_dir
 * before the run starts, so that a firing need not wait for the database's fsync (6 to 80 ms
 * here, the whole of a run's lateness) to be sure a pmond killed right after never runs T again.
 *
 * - A claim is one write(2) of one line ("A T\n") with O_APPEND: once it returns, the line is in
 *   the kernel's page cache and survives pmond's death (SIGKILL, a crash); a power cut may lose
 *   the last claims, and a run that started in the last moments before it may run again after
 *   the reboot (README says so). No fsync: that is the point.
 * - The file only grows by claims; past MAX_BYTES it is rewritten with the last claim of each app
 *   (a new file renamed over it). A torn or foreign line is skipped when read.
 * - It is pmond's own: 0600 in data_dir, opened O_NOFOLLOW. A write that fails (disk full) is
 *   said once in pmond.log and the caller waits for the database instead (claim() is false).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../logger/logger';

/** The file is compacted past this size (about 8000 claims). */
const MAX_BYTES = 256 * 1024;
const LINE = /^(\d{1,10}) (\d{1,16})$/;

export interface RunClaimsLike {
  /** The last claimed time of each app, as the file holds them. */
  load(): Map<number, number>;
  /** Record that app's run for `at` starts now; false if it could not be written (then wait for the database). */
  claim(appId: number, at: number): boolean;
  close(): void;
}

export class RunClaims implements RunClaimsLike {
  private fd: number | null = null;
  private bytes = 0;
  private last = new Map<number, number>();
  private warned = false;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): Map<number, number> {
    this.last = new Map();
    let text = '';
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const st = fs.fstatSync(fd);
        if (st.isFile() && st.size <= 64 * MAX_BYTES) text = fs.readFileSync(fd, 'utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn(`run claims ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; starting without them`);
    }
    for (const l of text.split('\n')) {
      const m = LINE.exec(l);
      if (!m) continue;
      const id = Number(m[1]);
      const at = Number(m[2]);
      if (at > (this.last.get(id) ?? -1)) this.last.set(id, at);
    }
    this.bytes = Buffer.byteLength(text);
    return new Map(this.last);
  }

  claim(appId: number, at: number): boolean {
    try {
      if (this.bytes > MAX_BYTES) this.compact();
      if (this.fd === null) {
        this.fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
      }
      const line = `${appId} ${at}\n`;
      fs.writeSync(this.fd, line);
      this.bytes += line.length;
      this.last.set(appId, at);
      this.warned = false;
      return true;
    } catch (e) {
      if (!this.warned) this.logger.warn(`run claims ${this.file} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); cron runs wait for the database instead`);
      this.warned = true;
      this.closeFd();
      return false;
    }
  }

  /** The last claim of each app, into a new file renamed over the old one. */
  private compact(): void {
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}`);
    const text = [...this.last].map(([id, at]) => `${id} ${at}\n`).join('');
    fs.rmSync(tmp, { force: true }); // one an earlier pmond left when it died compacting
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, this.file);
    this.closeFd();
    this.bytes = Buffer.byteLength(text);
  }

  private closeFd(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  close(): void {
    this.closeFd();
  }
}

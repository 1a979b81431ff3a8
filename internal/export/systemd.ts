/**
 * `export --format systemd`: one unit per app instance and one .target per group, the way out
 * when a host outgrows pmon3 (README "Moving to systemd"). Pure: apps in, files (name → text) out.
 *
 * Quoting follows systemd.syntax(7) and systemd.service(5): in ExecStart= every word is
 * double-quoted when it needs to be, `\` and `"` escaped, `%` doubled (specifiers) and `$`
 * doubled (variable expansion); Environment= assignments are quoted whole, `%` doubled.
 * Unit names: the app name (valid in unit names: letters, digits, `.`, `_`, `-`), `NAME-N` for
 * instance N of an app of several, prefixed `USER-` for another user's apps (root's export of
 * everyone's), so names never clash.
 *
 * Kinds: a once app is Type=oneshot; a cron app is a Type=oneshot service started by a .timer of
 * the same name (OnCalendar= from its cron, Persistent= from catch_up once), enabled through
 * timers.target rather than multi-user.target. Hooks map to ExecStartPre= (pre_start),
 * ExecStartPost= (post_start), ExecStop= (exec_stop, else pre_stop: systemd signals after it)
 * and ExecStopPost= (post_stop); `after` is After= (systemd waits for a oneshot to finish).
 * What has no unit form (cron_restart, repeat, startsecs, save_log_on_crash, overlap, a cron
 * OnCalendar= cannot say) is a `# not exported:` comment in the unit, never silently dropped.
 */
import type { AppView } from '../protocol/methods';
import { onCalendar } from './calendar';

export interface UnitFile {
  name: string;
  text: string;
}

export interface SystemdOptions {
  /** The exporting user's uid: their own apps keep bare names. */
  uid: number;
  /** RestartSec= when an app has no restart_delay (pmond's restart_backoff_initial, ms). */
  defaultRestartMs: number;
  /** TimeoutStopSec= when an app has no stop_timeout (pmond's stop_timeout, s). */
  defaultStopS: number;
  /** KillSignal= when an app has no stop_signal. */
  defaultStopSignal: string;
}

/** A word of a command line as systemd reads it back: bare when safe, else double-quoted. */
export function execWord(w: string, first = false): string {
  const doubled = w.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  // The executable's own first character may be a prefix systemd reads (-, @, :, +, !): quoted then.
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(doubled) && !(first && /^[-@:+!]/.test(doubled))) return doubled;
  return `"${doubled.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** One Environment= line: "K=V" quoted whole, specifiers doubled. */
function envLine(k: string, v: string): string {
  const text = `${k}=${v}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `Environment="${text}"`;
}

/** Seconds for systemd time spans (ms precision: "1.5s" is written "1500ms"). */
const span = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** The unit base name of an app (no suffix) and of instance i of it. */
export function unitBase(a: AppView, uid: number): string {
  return a.uid === uid ? a.name : `${a.user}-${a.name}`;
}

function instanceUnits(a: AppView, uid: number): string[] {
  const base = unitBase(a, uid);
  return a.instances > 1 ? Array.from({ length: a.instances }, (_, i) => `${base}-${i}.service`) : [`${base}.service`];
}

const groupTarget = (a: AppView, g: string, uid: number): string => `${a.uid === uid ? '' : `${a.user}-`}pmon3-group-${g}.target`;

export function systemdUnits(apps: readonly AppView[], o: SystemdOptions): UnitFile[] {
  const byKey = new Map(apps.map((a) => [`${a.uid}/${a.name}`, a]));
  const files: UnitFile[] = [];
  const targets = new Map<string, { group: string; user: string; wants: string[] }>();
  for (const a of apps) {
    const deps = a.dependencies.flatMap((d) => {
      const dep = byKey.get(`${a.uid}/${d}`);
      return dep ? instanceUnits(dep, o.uid) : [];
    });
    const units = instanceUnits(a, o.uid);
    const task = a.spec.task ?? {};
    const type = task.type ?? 'daemon';
    const afterUnits = (task.after ?? []).flatMap((d) => {
      const dep = byKey.get(`${a.uid}/${d}`);
      return dep ? instanceUnits(dep, o.uid) : [];
    });
    const cal = type === 'cron' && task.cron ? onCalendar(task.cron, task.timezone) : undefined;
    const notExported = [
      ...(task.cron_restart ? [`cron_restart ${task.cron_restart} (a timer running systemctl try-restart would do it)`] : []),
      ...(task.repeat ? [`repeat ${task.repeat.action} every ${span(task.repeat.every_ms)}`] : []),
      ...(a.spec.startsecs_ms !== undefined ? [`startsecs ${span(a.spec.startsecs_ms)}`] : []),
      ...(task.save_log_on_crash ? ['save_log_on_crash'] : []),
      ...(task.overlap && task.overlap !== 'skip' ? [`overlap ${task.overlap} (a timer never overlaps its service)`] : []),
      ...(cal && 'why' in cal ? [`cron ${task.cron}: ${cal.why}; no timer written`] : []),
    ];
    const cmd = (argv: readonly string[]): string => argv.map((w, n) => execWord(w, n === 0)).join(' ');
    // One .socket unit per socket (each has its own FileDescriptorName), shared by every instance
    // through Sockets= (systemd passes them as fds 3... with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, as pmond does).
    const socketUnits = (a.spec.sockets ?? []).map((x, k) => {
      const name = `${unitBase(a, o.uid)}-socket${k}.socket`;
      files.push({
        name,
        text: [
          `# Exported by pmon3 from socket ${x.listen} of app ${a.name}.`,
          '[Unit]',
          `Description=${`pmon3 socket ${x.listen} of ${a.name}`.replace(/%/g, '%%')}`,
          '',
          '[Socket]',
          `ListenStream=${x.listen}`,
          `FileDescriptorName=${x.name ?? a.name}`,
          ...(x.backlog !== undefined ? [`Backlog=${x.backlog}`] : []),
          ...(x.mode !== undefined ? [`SocketMode=${x.mode.padStart(4, '0')}`] : []),
          'ReusePort=no',
          `Service=${units[0]}`,
          '',
          '[Install]',
          'WantedBy=sockets.target',
          '',
        ].join('\n'),
      });
      return name;
    });
    units.forEach((unit, i) => {
      const s = a.spec;
      const restart = type !== 'daemon' || s.restart === 'never' ? 'no' : s.restart;
      const log = a.processes.find((p) => p.instance === i)?.log ?? s.log;
      const lines = [
        `# Exported by pmon3 from app ${a.name}${a.instances > 1 ? ` (instance ${i})` : ''} of ${a.user} (${a.source}).`,
        '[Unit]',
        `Description=${`pmon3 app ${a.name}${a.instances > 1 ? ` instance ${i}` : ''}`.replace(/%/g, '%%')}`,
        ...(deps.length || socketUnits.length ? [`Requires=${[...deps, ...socketUnits].join(' ')}`] : []),
        ...(deps.length || afterUnits.length || socketUnits.length ? [`After=${[...deps, ...afterUnits, ...socketUnits].join(' ')}`] : []),
        ...notExported.map((n) => `# not exported: ${n.replace(/\n/g, ' ')}`),
        '',
        '[Service]',
        `Type=${type === 'daemon' ? 'simple' : 'oneshot'}`,
        ...(socketUnits.length ? [`Sockets=${socketUnits.join(' ')}`] : []),
        `User=${a.user}`,
        ...(a.user_gid !== null && a.gid !== a.user_gid ? [`Group=${a.gid}`] : []),
        `WorkingDirectory=${s.cwd.replace(/%/g, '%%')}`,
        ...Object.entries(s.env).map(([k, v]) => envLine(k, v)),
        envLine('PMON3_INSTANCE', String(i)),
        ...(task.pre_start ? [`ExecStartPre=${cmd(task.pre_start)}`] : []),
        `ExecStart=${cmd([s.file, ...s.args])}`,
        ...(task.post_start ? [`ExecStartPost=${cmd(task.post_start)}`] : []),
        ...(task.exec_stop ? [`ExecStop=${cmd(task.exec_stop)}`] : task.pre_stop ? [`ExecStop=${cmd(task.pre_stop)}`] : []),
        ...(task.post_stop ? [`ExecStopPost=${cmd(task.post_stop)}`] : []),
        `Restart=${restart}`,
        `RestartSec=${span(s.restart_delay_ms ?? o.defaultRestartMs)}`,
        `KillSignal=${s.stop_signal ?? o.defaultStopSignal}`,
        `TimeoutStopSec=${span(s.stop_timeout_ms ?? o.defaultStopS * 1000)}`,
        'KillMode=control-group',
        ...Object.entries(s.rlimits ?? {}).map(([k, v]) => {
          const w = (n: number): string => (n === -1 ? 'infinity' : String(n));
          return `Limit${k.toUpperCase()}=${v.soft === v.hard ? w(v.soft) : `${w(v.soft)}:${w(v.hard)}`}`;
        }),
        ...(log ? [`StandardOutput=append:${log.replace(/%/g, '%%')}`, `StandardError=append:${log.replace(/%/g, '%%')}`] : []),
        '',
        // A cron app's service is started by its timer, not at boot.
        ...(type === 'cron' ? [] : ['[Install]', `WantedBy=${['multi-user.target', ...a.groups.map((g) => groupTarget(a, g, o.uid))].join(' ')}`, '']),
      ];
      files.push({ name: unit, text: lines.join('\n') });
      if (cal && 'calendar' in cal) {
        const timer = unit.replace(/\.service$/, '.timer');
        files.push({
          name: timer,
          text: [
            `# Exported by pmon3 from the cron of app ${a.name} (${task.cron}${task.timezone ? `, ${task.timezone}` : ''}).`,
            '[Unit]',
            `Description=${`pmon3 schedule of ${a.name}${a.instances > 1 ? ` instance ${i}` : ''}`.replace(/%/g, '%%')}`,
            '',
            '[Timer]',
            `OnCalendar=${cal.calendar}`,
            ...(task.catch_up === 'once' ? ['Persistent=true'] : []),
            'AccuracySec=1s',
            `Unit=${unit}`,
            '',
            '[Install]',
            `WantedBy=${['timers.target', ...a.groups.map((g) => groupTarget(a, g, o.uid))].join(' ')}`,
            '',
          ].join('\n'),
        });
      }
      for (const g of a.groups) {
        const t = groupTarget(a, g, o.uid);
        const entry = targets.get(t) ?? { group: g, user: a.user, wants: [] };
        entry.wants.push(cal && 'calendar' in cal ? unit.replace(/\.service$/, '.timer') : unit);
        targets.set(t, entry);
      }
    });
  }
  for (const [name, t] of targets) {
    files.push({
      name,
      text: [`# Exported by pmon3 from group ${t.group} of ${t.user}.`, '[Unit]', `Description=pmon3 group ${t.group}`, `Wants=${t.wants.join(' ')}`, '', '[Install]', 'WantedBy=multi-user.target', ''].join('\n'),
    });
  }
  return files;
}

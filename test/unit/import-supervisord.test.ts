/** supervisord.conf with [program:x], [group:x], [include], %(...)s expansions into our apps; warnings; malformed lines. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectSupervisord, importSupervisord } from '../../internal/import/supervisord';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';

const opts = () => fsOptions({ environ: { HOME: '/home/ann' }, hostname: 'vm' } as never);

test('programs, numprocs, a group, an include; every key mapped or warned with file and line', () => {
  const file = fixture('supervisord', 'supervisord.conf');
  const r = importSupervisord(file, { ...opts(), environ: { HOME: '/home/ann' }, hostname: 'vm' });
  assert.equal(r.format, 'supervisord');
  assert.ok(detectSupervisord('[program:x]\ncommand=/bin/true\n', 'x.conf'));
  assert.deepEqual(r.apps.map((a) => a.name), ['web', 'worker', 'cron']);
  const web = r.apps[0]!;
  assert.deepEqual(
    { exec: web.exec, args: web.args, user: web.user, env: web.env, groups: web.groups, instances: web.instances, restart: web.restart, startsecs: web.startsecs, startretries: web.startretries, stop_signal: web.stop_signal, stop_timeout: web.stop_timeout, log: web.log },
    {
      exec: '/srv/web/bin/web',
      args: ['--port', '8000', '--name', 'web'],
      user: 'www-data',
      env: { MODE: 'prod', GREETING: 'hello, world', HOST: 'vm', HOME_COPY: '/home/ann' },
      groups: ['backend'],
      instances: 2,
      restart: 'always',
      startsecs: 5,
      startretries: 10,
      stop_signal: 'SIGINT',
      stop_timeout: 30,
      log: '/var/log/web.log',
    },
  );
  assert.equal(web.cwd, fixture('supervisord', 'web'), '%(here)s is the directory of the file');
  const worker = r.apps[1]!;
  assert.equal(worker.restart, 'on-failure', 'autorestart=unexpected');
  assert.ok(worker.args?.includes('100%'), '%% is a literal %');
  assert.deepEqual(worker.groups, ['backend']);
  assert.equal(r.apps[2]!.autostart, false);
  assert.equal(r.apps[2]!.restart, 'never');
  const said = (field: RegExp, message: RegExp) =>
    assert.ok(r.warnings.some((w) => field.test(w.field) && message.test(w.message) && w.line !== undefined && w.file.length > 0), `${field} ${message}: ${r.warnings.map((w) => `${w.field}: ${w.message}`).join(' | ')}`);
  said(/^supervisord$/, /not an app/);
  said(/eventlistener:memmon/, /./);
  said(/stdout_logfile_maxbytes|stdout_logfile_backups/, /rotation/);
  said(/priority/, /./);
  said(/exitcodes/, /./);
  said(/stderr_logfile|redirect_stderr/, /./);
  said(/umask/, /./);
  assert.ok(r.files.some((f) => f.endsWith('workers.conf')), 'the include was read');
  checkedApps(r, file);
});

test('a malformed line is one line naming file and line', () => {
  refusedAt(() => importSupervisord(fixture('supervisord', 'bad.conf'), opts()), `${fixture('supervisord', 'bad.conf')}:5`, /unterminated double quote/);
});

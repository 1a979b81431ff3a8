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
  // Every warning, with its file and line.
  assert.deepEqual(
    r.warnings.map((w) => [w.file.split('/supervisord/')[1], w.line, w.field]),
    [
      ['supervisord.conf', 2, 'unix_http_server'],
      ['supervisord.conf', 5, 'supervisord'],
      ['supervisord.conf', 10, 'rpcinterface:supervisor'],
      ['supervisord.conf', 13, 'supervisorctl'],
      ['supervisord.conf', 17, 'program:web.command'],
      ['supervisord.conf', 18, 'program:web.process_name'],
      ['supervisord.conf', 29, 'program:web.stopasgroup'],
      ['supervisord.conf', 30, 'program:web.killasgroup'],
      ['supervisord.conf', 31, 'program:web.priority'],
      ['supervisord.conf', 34, 'program:web.stdout_logfile_maxbytes'],
      ['supervisord.conf', 35, 'program:web.stdout_logfile_backups'],
      ['supervisord.conf', 36, 'program:web.umask'],
      ['supervisord.conf', 38, 'eventlistener:memmon'],
      ['conf.d/workers.conf', 5, 'program:worker.exitcodes'],
      ['conf.d/workers.conf', 8, 'program:worker.stderr_logfile'],
      ['conf.d/workers.conf', 10, 'program:worker.serverurl'],
      ['conf.d/workers.conf', 16, 'program:cron.stdout_logfile'],
      ['conf.d/workers.conf', 20, 'group:backend.priority'],
    ],
  );
  const msg = (field: string) => r.warnings.find((w) => w.field === field)!.message;
  assert.match(msg('supervisord'), /not an app/);
  assert.match(msg('program:web.stdout_logfile_maxbytes'), /becomes rotation/);
  assert.match(msg('program:web.priority'), /dependencies/);
  assert.match(msg('program:cron.stdout_logfile'), /always keeps a log/);
  assert.equal(r.apps[2]!.log, undefined);
  assert.ok(r.files.some((f) => f.endsWith('workers.conf')), 'the include was read');
  checkedApps(r, file);
});

test('a malformed line is one line naming file and line', () => {
  refusedAt(() => importSupervisord(fixture('supervisord', 'bad.conf'), opts()), `${fixture('supervisord', 'bad.conf')}:5`, /unterminated double quote/);
});

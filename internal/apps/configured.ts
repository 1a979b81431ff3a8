/**
 * pmond's own apps files (config `apps`), applied at boot and on `reload`. pmond reads them as
 * itself, so for a root pmond they must be root's alone (assertRootOnly, as the config and the
 * hooks): a file any user could write would let that user choose what root runs. A script's
 * interpreter is the one the file names, else the script runs as it is (its #! line is the
 * kernel's to read): pmond never opens a script to look.
 */
import * as path from 'node:path';
import type { Config } from '../config/config';
import { assertRootOnly } from '../config/strict-modes';
import type { AppSpecWire } from '../protocol/methods';
import { appsFiles, loadApps } from './file';
import { toWire } from './wire';

export type AppsConfig = Pick<Config, 'apps' | 'apps_start' | 'apps_listed' | 'process_config_file'>;

/** The configured apps as `apply` takes them, with the start mode applied to autostart. */
export function configuredApps(config: AppsConfig, daemonUid: number): { apps: AppSpecWire[]; files: string[] } {
  const paths = [...config.apps, ...(config.process_config_file ? [config.process_config_file] : [])];
  const files = paths.flatMap((p) => {
    if (daemonUid === 0) assertRootOnly('apps', p);
    const fs = appsFiles(p).map((f) => path.resolve(f));
    if (daemonUid === 0) for (const f of fs) assertRootOnly('apps file', f);
    return fs;
  });
  const listed = new Set(config.apps_listed);
  const apps = loadApps(files).map((a) => {
    const w = toWire(a);
    const autostart = config.apps_start === 'all' ? w.autostart : config.apps_start === 'listed' && listed.has(w.name);
    return { ...w, autostart };
  });
  return { apps, files };
}

/** The Go pmon3's data.db schema, for tests that need a Go database. */

/** The tables as gorm (sqlite dialect) creates them from model/modal.go. */
export const GO_SCHEMA = `
CREATE TABLE \`processes\` (\`created_at\` datetime,\`updated_at\` datetime,\`log\` text,\`name\` text UNIQUE,\`process_file\` text,\`args\` text,\`env_vars\` text,\`username\` text,\`memory_usage\` text,\`cpu_usage\` text,\`dependencies\` text,\`status\` integer,\`id\` integer PRIMARY KEY AUTOINCREMENT,\`pid\` integer,\`uid\` integer,\`gid\` integer,\`auto_restart\` numeric);
CREATE TABLE \`groups\` (\`id\` integer PRIMARY KEY AUTOINCREMENT,\`created_at\` datetime,\`updated_at\` datetime,\`deleted_at\` datetime,\`name\` text UNIQUE);
CREATE INDEX \`idx_groups_deleted_at\` ON \`groups\`(\`deleted_at\`);
CREATE TABLE \`process_groups\` (\`process_id\` integer,\`group_id\` integer,PRIMARY KEY (\`process_id\`,\`group_id\`),CONSTRAINT \`fk_process_groups_process\` FOREIGN KEY (\`process_id\`) REFERENCES \`processes\`(\`id\`),CONSTRAINT \`fk_process_groups_group\` FOREIGN KEY (\`group_id\`) REFERENCES \`groups\`(\`id\`));
`;

/** One process of a Go process config as a test writes it. */
export interface GoProcess {
  file: string;
  name: string;
  args: string;
  env_vars: string;
  dependencies?: string[];
  groups?: string[];
  no_auto_restart?: boolean;
}

/**
 * What `export json` prints for processes a pmond runs from a Go process config: the Go file
 * filled in as the Go pmon3's own export fills it (user root, the log pmond chose in logsDir,
 * no_auto_restart always), in encoding/json's layout, with the newline Println adds.
 */
export function goExportOf(processes: readonly GoProcess[], logsDir: string): string {
  const expected = {
    processes: processes.map((p) => ({
      file: p.file,
      user: 'root',
      log: `${logsDir}/${p.name}.log`,
      args: p.args,
      env_vars: p.env_vars,
      name: p.name,
      ...(p.dependencies ? { dependencies: p.dependencies } : {}),
      ...(p.groups ? { groups: p.groups } : {}),
      no_auto_restart: p.no_auto_restart ?? false,
    })),
  };
  return `${JSON.stringify(expected, undefined, 2)}\n`;
}

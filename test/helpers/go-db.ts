/** The Go pmon3's data.db schema, for tests that need a Go database. */

/** The tables as gorm (sqlite dialect) creates them from model/modal.go. */
export const GO_SCHEMA = `
CREATE TABLE \`processes\` (\`created_at\` datetime,\`updated_at\` datetime,\`log\` text,\`name\` text UNIQUE,\`process_file\` text,\`args\` text,\`env_vars\` text,\`username\` text,\`memory_usage\` text,\`cpu_usage\` text,\`dependencies\` text,\`status\` integer,\`id\` integer PRIMARY KEY AUTOINCREMENT,\`pid\` integer,\`uid\` integer,\`gid\` integer,\`auto_restart\` numeric);
CREATE TABLE \`groups\` (\`id\` integer PRIMARY KEY AUTOINCREMENT,\`created_at\` datetime,\`updated_at\` datetime,\`deleted_at\` datetime,\`name\` text UNIQUE);
CREATE INDEX \`idx_groups_deleted_at\` ON \`groups\`(\`deleted_at\`);
CREATE TABLE \`process_groups\` (\`process_id\` integer,\`group_id\` integer,PRIMARY KEY (\`process_id\`,\`group_id\`),CONSTRAINT \`fk_process_groups_process\` FOREIGN KEY (\`process_id\`) REFERENCES \`processes\`(\`id\`),CONSTRAINT \`fk_process_groups_group\` FOREIGN KEY (\`group_id\`) REFERENCES \`groups\`(\`id\`));
`;

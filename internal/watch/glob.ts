/** An ignore pattern as PM2's ignore_watch writes them (`*.log`, `tmp/**`, `cache`): a RegExp of the whole string. */
export function globRegex(glob: string): RegExp {
  // `dir/**` is the directory and everything under it.
  if (glob.endsWith('/**') && glob.length > 3) return new RegExp(`${globRegex(glob.slice(0, -3)).source.slice(0, -1)}(/.*)?$`);
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether rel (a path under a watched one) is ignored: by its whole path or any of its parts. */
export function ignored(rel: string, ignore: readonly RegExp[]): boolean {
  const parts = rel.split('/');
  return ignore.some((re) => re.test(rel) || parts.some((p) => re.test(p)));
}

import { dataPath, sqlString } from '../../core/adapters/ducklake/attach.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';

/**
 * Wall 1 of the SQL console, in order; the last statement locks them: only the lake's data path
 * may be read (`allowed_directories`, a prefix, so it covers a local folder and an
 * `s3://bucket/prefix/` alike), no other file, URL, ATTACH, INSTALL or LOAD
 * (`enable_external_access = false`), no extension auto-install or auto-load, nothing spills to
 * disk, then `lock_configuration = true` so no SET or PRAGMA undoes any of it.
 */
export function lockdownSql(lake: LakeLocation): string[] {
  return [
    `SET allowed_directories = [${sqlString(dataPath(lake))}]`,
    `SET temp_directory = ''`,
    'SET enable_external_access = false',
    'SET autoinstall_known_extensions = false',
    'SET autoload_known_extensions = false',
    'SET allow_community_extensions = false',
    'SET lock_configuration = true',
  ];
}

/** An absolute path of two segments or more, or a URL, where a word starts. */
const PLACE = /(?<=^|[\s'"(=:,[])(?:[a-z][a-z0-9+.-]*:\/\/[^\s'"),\]]+|\/[^\s'"/),\]]+(?:\/[^\s'"/),\]]+)+\/?)/gi;

/**
 * An error message with the lake's places taken out: the data path becomes `<lake>/` (so a
 * broken file is still named, relative to the lake), the catalog and the extension folder
 * `<catalog>` and `<extensions>`; with `anyPath`, every other absolute path or URL `<path>` too
 * (for errors of a running query; a refusal may quote the user's own text).
 */
export function redactPlaces(message: string, lake: LakeLocation, options: { anyPath: boolean }): string {
  const places: [string, string][] = [[dataPath(lake), '<lake>/']];
  if (lake.catalog.kind === 'sqlite') places.push([lake.catalog.path, '<catalog>']);
  else places.push([lake.catalog.connection, '<catalog>']);
  if (lake.extensionDir) places.push([lake.extensionDir, '<extensions>']);
  if (lake.kind === 'local') places.push([lake.root, '<lake>']);
  let text = message;
  for (const [place, name] of places.sort((a, b) => b[0].length - a[0].length)) if (place) text = text.replaceAll(place, name);
  return options.anyPath ? text.replace(PLACE, '<path>') : text;
}

/** The parts of `window.location` the relay choice depends on. */
export interface RelayLocation {
  protocol: string;
  host: string;
  search: string;
}

/**
 * Relay endpoints for this page: the serving host's `/sync`, unless the query
 * string names relays (`?relay=ws://a/sync&relay=ws://b/sync` or comma
 * separated; `?relay=` alone means local only) for development.
 */
export function relayUrls(location: RelayLocation): string[] {
  const params = new URLSearchParams(location.search);
  if (params.has('relay')) {
    const urls = params
      .getAll('relay')
      .flatMap((value) => value.split(','))
      .map((value) => value.trim())
      .filter((value) => value !== '');
    for (const url of urls) {
      if (!/^wss?:\/\/[^\s/]+/.test(url)) {
        throw new Error(`?relay= must be a ws:// or wss:// URL, got "${url}"`);
      }
    }
    return urls;
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return [`${scheme}://${location.host}/sync`];
}

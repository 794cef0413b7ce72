// The Host header check that defeats DNS rebinding: a page on attacker.example whose DNS name the
// attacker then points at 127.0.0.1 reads this server's answers as same-origin, but the browser
// still sends `Host: attacker.example`. So the server answers only the names it is reached by:
// localhost, the --host value, the names of --allowed-hosts, and any IP address (an address
// literal involves no DNS, so it cannot be rebound).
import { isIP } from 'node:net';

/** A check of a request's host name (port already removed; IPv6 in brackets). `['*']` allows any. */
export function hostChecker(allowed: readonly string[]): (hostname: string) => boolean {
  if (allowed.includes('*')) return () => true;
  const names = new Set(['localhost', ...allowed].map((h) => normalise(h)));
  return (hostname) => {
    const h = normalise(hostname);
    return names.has(h) || isIP(h) !== 0;
  };
}

/** Lower case, without IPv6 brackets or a final dot. */
const normalise = (host: string): string => host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

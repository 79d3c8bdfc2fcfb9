import ipaddr from 'ipaddr.js';

/**
 * The address ranges a delivery never goes to (SPEC 13): ipaddr.js names every special-purpose range of the IANA
 * registries; only `unicast` is the open internet. IPv4-mapped IPv6 addresses are judged as the IPv4 address they
 * carry, so `::ffff:127.0.0.1` is loopback. The cloud metadata address 169.254.169.254 is link-local.
 */
export function refusedRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  return range === 'unicast' ? undefined : range;
}

/**
 * A URL a webhook may have: `http:` or `https:`, with a host, and no credentials in it (they would be sent to
 * whoever answers). The address itself is judged at every delivery, after name resolution.
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'url is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must be http: or https:';
  if (url.hostname === '') return 'url has no host';
  if (url.username !== '' || url.password !== '') return 'url must not carry credentials';
  return undefined;
}

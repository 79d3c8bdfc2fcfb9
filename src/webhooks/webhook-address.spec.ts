import { refusedRange, webhookUrlProblem } from './webhook-address.js';

describe('refusedRange: where a delivery never goes (SPEC 13)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['169.254.1.1', 'linkLocal'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'lets %s through',
    (address) => {
      expect(refusedRange(address)).toBeUndefined();
    },
  );

  it('reads the other spellings of an IPv4 address as the URL parser does: as loopback', () => {
    for (const url of ['http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://127.1/']) {
      const host = new URL(url).hostname;
      expect({ url, host, range: refusedRange(host) }).toEqual({ url, host: '127.0.0.1', range: 'loopback' });
    }
    expect(refusedRange(new URL('http://[::ffff:7f00:1]/').hostname.slice(1, -1))).toBe('loopback');
  });
});

describe('webhookUrlProblem', () => {
  it('takes http: and https: URLs with a host and no credentials', () => {
    expect(webhookUrlProblem('https://hooks.example.com/x?y=1')).toBeUndefined();
    expect(webhookUrlProblem('http://10.0.0.1:8080/')).toBeUndefined();
    for (const bad of [
      'ftp://example.com/',
      'file:///etc/passwd',
      'https://u:p@example.com/',
      'not a url',
      'gopher://x',
    ]) {
      expect(webhookUrlProblem(bad)).toEqual(expect.any(String));
    }
  });
});

import fc from 'fast-check';
import {
  EMPTY_ROOT,
  RightEdge,
  consistencySpans,
  foldSpan,
  inclusionSpans,
  leafHash,
  nodeHash,
  perfectRoot,
  rootFromInclusion,
  spanNodes,
  splitPoint,
  TILE_WIDTH,
  tileSpot,
  verifyConsistency,
  verifyInclusion,
  type Span,
} from './merkle.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

// RFC 6962 / 9162 reference vectors, as published in transparency-dev/merkle (proof/verify_test.go): eight leaves
// and the roots of their first 1..8, then inclusion and consistency proofs between them.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  hex,
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);
const INCLUSION: Array<[leaf: number, size: number, path: string[]]> = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    2,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
const CONSISTENCY: Array<[from: number, to: number, path: string[]]> = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

/** MTH straight from RFC 9162's recursive definition, over leaf hashes: the reference the tests compare with. */
function mth(hashes: readonly Buffer[], start = 0, end = hashes.length): Buffer {
  if (end === start) return EMPTY_ROOT;
  if (end - start === 1) return hashes[start]!;
  const k = splitPoint(end - start);
  return nodeHash(mth(hashes, start, start + k), mth(hashes, start + k, end));
}

const spanHash = (hashes: readonly Buffer[]) => (s: Span) => mth(hashes, s.start, s.end);
const hashesOf = (leaves: readonly Buffer[]): Buffer[] => leaves.map((l) => leafHash(l));
/** Random leaves, made distinct by their place: two equal leaves would make a proof fit either of them. */
const distinct = (leaves: readonly Uint8Array[]): Buffer[] =>
  hashesOf(leaves.map((l, k) => Buffer.concat([Buffer.from(`${k}:`), l])));

describe('Merkle tree hashing (RFC 9162 section 2.1)', () => {
  const hashes = hashesOf(LEAVES);

  it('the empty tree is SHA-256 of nothing', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(RightEdge.empty().root().equals(EMPTY_ROOT)).toBe(true);
  });

  it.each(ROOTS.map((root, i) => [i + 1, root] as const))('the root of the first %d reference leaves', (n, root) => {
    expect(mth(hashes.slice(0, n)).equals(root)).toBe(true);
    const edge = RightEdge.empty();
    for (const h of hashes.slice(0, n)) edge.append(h);
    expect(edge.root().equals(root)).toBe(true);
  });

  it.each(INCLUSION)('reference inclusion proof of leaf %d in %d: generated and verified', (leaf, size, path) => {
    const proof = path.map(hex);
    const spans = inclusionSpans(leaf - 1, size);
    expect(spans.map(spanHash(hashes)).map((h) => h.toString('hex'))).toEqual(path);
    expect(verifyInclusion(leaf - 1, size, hashes[leaf - 1]!, proof, ROOTS[size - 1]!)).toBe(true);
    for (const bad of corruptions(proof)) {
      expect(verifyInclusion(leaf - 1, size, hashes[leaf - 1]!, bad, ROOTS[size - 1]!)).toBe(false);
    }
    expect(verifyInclusion(leaf, size, hashes[leaf - 1]!, proof, ROOTS[size - 1]!)).toBe(false);
    expect(verifyInclusion(leaf - 1, size * 2, hashes[leaf - 1]!, proof, ROOTS[size - 1]!)).toBe(false);
  });

  it.each(CONSISTENCY)('reference consistency proof from %d to %d: generated and verified', (from, to, path) => {
    const proof = path.map(hex);
    expect(
      consistencySpans(from, to)
        .map(spanHash(hashes))
        .map((h) => h.toString('hex')),
    ).toEqual(path);
    expect(verifyConsistency(from, to, ROOTS[from - 1]!, ROOTS[to - 1]!, proof)).toBe(true);
    if (proof.length === 0) return;
    for (const bad of corruptions(proof)) {
      expect(verifyConsistency(from, to, ROOTS[from - 1]!, ROOTS[to - 1]!, bad)).toBe(false);
    }
    expect(verifyConsistency(from, to, ROOTS[to - 1]!, ROOTS[from - 1]!, proof)).toBe(false);
    expect(verifyConsistency(from - 1, to, ROOTS[from - 1]!, ROOTS[to - 1]!, proof)).toBe(false);
    expect(verifyConsistency(from, to, ROOTS[from - 1]!, ROOTS[to - 1]!, [])).toBe(false);
  });

  it('the edge cases of consistency the RFC leaves to the caller', () => {
    const [a, b] = [ROOTS[0]!, ROOTS[1]!];
    expect(verifyConsistency(0, 0, a, a, [])).toBe(true);
    expect(verifyConsistency(0, 5, a, b, [])).toBe(true);
    expect(verifyConsistency(3, 3, a, a, [])).toBe(true);
    expect(verifyConsistency(3, 3, a, b, [])).toBe(false);
    expect(verifyConsistency(3, 3, a, a, [EMPTY_ROOT])).toBe(false);
    expect(verifyConsistency(2, 1, a, b, [])).toBe(false);
    expect(verifyConsistency(1, 2, a, b, [])).toBe(false);
  });

  // A real Certificate Transparency log (Google Argon 2020), as kept in Go's sumdb/tlog test data: an inclusion
  // proof of leaf 10000 and a consistency proof from 3,654,490 to 961,984,013 entries.
  it('verifies proofs from a CT log of 961,984,013 entries', () => {
    const size = 961984013;
    const root = b64('dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM=');
    const leaf = leafHash(b64(ARGON_LEAF_10000));
    const inclusion = ARGON_INCLUSION.map(b64);
    expect(verifyInclusion(10000, size, leaf, inclusion, root)).toBe(true);
    expect(inclusionSpans(10000, size)).toHaveLength(inclusion.length);
    expect(verifyInclusion(10001, size, leaf, inclusion, root)).toBe(false);
    const old = b64('AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=');
    const consistency = ARGON_CONSISTENCY.map(b64);
    expect(consistencySpans(3654490, size)).toHaveLength(consistency.length);
    expect(verifyConsistency(3654490, size, old, root, consistency)).toBe(true);
    for (const bad of corruptions(consistency)) expect(verifyConsistency(3654490, size, old, root, bad)).toBe(false);
  });

  it('spanNodes covers a span with complete subtrees, largest first', () => {
    expect(spanNodes({ start: 0, end: 13 })).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(spanNodes({ start: 8, end: 11 })).toEqual([
      { level: 1, index: 4 },
      { level: 0, index: 10 },
    ]);
    expect(spanNodes({ start: 4, end: 4 })).toEqual([]);
  });
});

describe('Merkle proofs over random trees', () => {
  const leavesArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 8 }), { minLength: 1, maxLength: 70 });

  it('every inclusion proof verifies, and altering any path element or the index fails it', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (leaves, i, j) => {
        const hashes = distinct(leaves);
        const size = 1 + (i % hashes.length);
        const index = j % size;
        const root = mth(hashes, 0, size);
        const path = inclusionSpans(index, size).map(spanHash(hashes));
        expect(verifyInclusion(index, size, hashes[index]!, path, root)).toBe(true);
        expect(rootFromInclusion(index, size, hashes[index]!, path)!.equals(root)).toBe(true);
        for (const bad of corruptions(path))
          expect(verifyInclusion(index, size, hashes[index]!, bad, root)).toBe(false);
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, hashes[index]!, path, root)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('every consistency proof verifies, and altering any path element fails it', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (leaves, i, j) => {
        const hashes = distinct(leaves);
        const to = 1 + (i % hashes.length);
        const from = 1 + (j % to);
        const [r1, r2] = [mth(hashes, 0, from), mth(hashes, 0, to)];
        const path = consistencySpans(from, to).map(spanHash(hashes));
        expect(verifyConsistency(from, to, r1, r2, path)).toBe(true);
        if (from === to) return;
        for (const bad of corruptions(path)) expect(verifyConsistency(from, to, r1, r2, bad)).toBe(false);
        // A different history of the same size is caught: the old root of another tree does not fit.
        const forked = mth([leafHash(Buffer.from('fork')), ...hashes.slice(1)], 0, from);
        expect(verifyConsistency(from, to, forked, r2, path)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('the right edge finds every complete subtree and the root at every size', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const hashes = distinct(leaves);
        let edge = RightEdge.empty();
        hashes.forEach((h, n) => {
          for (const node of edge.append(h)) {
            const size = 2 ** node.level;
            expect(node.hash.equals(mth(hashes, node.index * size, (node.index + 1) * size))).toBe(true);
          }
          expect(edge.root().equals(mth(hashes, 0, n + 1))).toBe(true);
          // Resuming from what is stored gives the same edge.
          edge = RightEdge.resume(edge.size, edge.edge);
          const spans = spanNodes({ start: 0, end: n + 1 });
          expect(foldSpan(spans.map((s) => mth(hashes, s.index * 2 ** s.level, (s.index + 1) * 2 ** s.level)))).toEqual(
            edge.root(),
          );
        });
      }),
      { numRuns: 60 },
    );
  });
});

/** Each element with one bit flipped, each element dropped, an element added at either end. */
function corruptions(path: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  path.forEach((_, i) => {
    const flipped = path.map((p) => Buffer.from(p));
    flipped[i]![0]! ^= 8;
    out.push(flipped);
    out.push(path.filter((__, k) => k !== i));
  });
  out.push([...path, EMPTY_ROOT], [EMPTY_ROOT, ...path]);
  return out;
}

const ARGON_LEAF_10000 =
  'AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJBgNVBAYTAkdCMRswGQYDVQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNPTU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01PRE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQLExhEb21haW4gQ29udHJvbCBWYWxpZGF0ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20uYXUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3opAMsZnOr8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14MkyrS4kwPrk/Le4XdkqRpRw62wG4V6IkbzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhmlrqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6IzbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija5zAdBgNVHQ4EFgQUNQSLjkoz01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2RvLmNvbS9DUFMwCAYGZ4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JTQURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRhdGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggrBgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRzLmNvbS5hdYIQbGFuZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK2b9vvBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs3UUsmShAgPwNohAtL9GqlqMiKM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwTXYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvLfNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN8b6jcWExtrYO6bm2TwAA';
const ARGON_INCLUSION = [
  'T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=',
  '9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=',
  'D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=',
  'wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=',
  '516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=',
  'naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=',
  'mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=',
  'Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=',
  'yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=',
  'n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=',
  'go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=',
  '8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=',
  '6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=',
  '2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=',
  'nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=',
  'mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=',
  'JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=',
  'UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=',
  'hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=',
  'II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=',
  'd609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=',
  'rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=',
  'GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=',
  'pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=',
  'f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=',
  'WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=',
  'f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=',
  'NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=',
  'C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=',
  'nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=',
];
const ARGON_CONSISTENCY = [
  '80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=',
  'FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=',
  'Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=',
  'eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=',
  'QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=',
  'XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=',
  'SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=',
  'WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=',
  'QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=',
  'Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=',
  'mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=',
  'q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=',
  'jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=',
  'GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=',
  'x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=',
  '6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=',
  'Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=',
  'DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=',
  '2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=',
  '3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=',
  's6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=',
  'z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=',
  'GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=',
  'pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=',
  'f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=',
  'WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=',
  'f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=',
  'NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=',
  'C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=',
  'nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=',
];

describe('tiles', () => {
  it('hash every complete subtree from the one tile that holds its bottom', () => {
    // A tree of 70,000 leaves stored as tiles of levels 0, 8 and 16, as the tree builder stores it.
    const n = 70_000;
    const hashes = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(String(i))));
    const tiles = new Map<string, Buffer[]>();
    let row = hashes;
    for (let t = 0; row.length > 0; t += 1) {
      const next: Buffer[] = [];
      for (let k = 0; k * TILE_WIDTH < row.length; k += 1) {
        const tile = row.slice(k * TILE_WIDTH, (k + 1) * TILE_WIDTH);
        tiles.set(`${t}/${k}`, tile);
        if (tile.length === TILE_WIDTH) next.push(perfectRoot(tile));
      }
      row = next;
    }
    // Every complete subtree of every level, by pairing (RFC 9162's MTH of a power-of-two span), to compare with.
    const levels: Buffer[][] = [hashes];
    while (levels[levels.length - 1]!.length > 1) {
      const below = levels[levels.length - 1]!;
      levels.push(
        Array.from({ length: Math.floor(below.length / 2) }, (_, i) => nodeHash(below[2 * i]!, below[2 * i + 1]!)),
      );
    }
    fc.assert(
      fc.property(fc.nat({ max: 16 }), fc.nat(), (level, i) => {
        const index = i % levels[level]!.length;
        const spot = tileSpot({ level, index });
        const tile = tiles.get(`${spot.tileLevel}/${spot.tileIndex}`)!;
        const got = perfectRoot(tile.slice(spot.offset, spot.offset + spot.count));
        expect(got.equals(levels[level]![index]!)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

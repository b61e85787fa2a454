"""Reads a provium event file with an independent msgpack decoder."""
import struct
import sys

import msgpack


def frames(path):
    with open(path, 'rb') as f:
        while True:
            h = f.read(4)
            if not h:
                return
            yield msgpack.unpackb(f.read(struct.unpack('>I', h)[0]), raw=False)


def main():
    path, what = sys.argv[1], sys.argv[2]
    ev = list(frames(path))
    if what == 'console':
        fails = [e['payload'] for e in ev if e['kind'] == 'test_failed'
                 and e['payload']['path'] == 'console.test.lua']
        assert len(fails) == 1, fails
        ex = fails[0]['console_excerpt']
        assert ex.startswith('---- vm talker (last '), ex[:80]
        assert 'marker-from-the-guest-console' in ex, ex
        assert len(ex) <= 4096 + 64, len(ex)
        spawned = [e['payload'] for e in ev if e['kind'] == 'vm_spawned']
        cids = [p['cid'] for p in spawned]
        assert len(set(cids)) == len(cids) and min(cids) >= 100, cids
        assert all(p['memory_bytes'] == 512 << 20 for p in spawned), spawned


main()

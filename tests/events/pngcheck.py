#!/usr/bin/python3
"""pngcheck.py PNG: asserts a screenshot of the coverage report really
rendered: right size, and pixels of the pass-green, fail-red and
skip-grey bars and the dark header present.  Stdlib only (zlib)."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    out = []
    i = 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        out.append(bytes(line))
        prev = line
    return w, h, bpp, out


def main():
    w, h, bpp, rows = pixels(sys.argv[1])
    assert (w, h) == (1200, 1100), (w, h)
    want = {"pass": (0x2d, 0xa4, 0x4e), "fail": (0xe5, 0x53, 0x4b),
            "skip": (0xaf, 0xb8, 0xc1), "header": (0x1d, 0x23, 0x30)}
    seen = {k: 0 for k in want}
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = tuple(row[x:x + 3])
            for k, v in want.items():
                if px == v:
                    seen[k] += 1
    for k, n in seen.items():
        assert n > 200, "screenshot shows no %s colour (%d px)" % (k, n)
    print("png ok: %dx%d, %s" % (w, h, seen))


main()

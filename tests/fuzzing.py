"""Helpers shared by the fuzz tests: byte mutations of a file, and every dotted path of a mapping."""


def mutate(data: bytes, ops) -> bytes:
    """Apply mutations: ("flip", i, mask), ("truncate", i), ("insert", i, bytes), ("delete", i, n),
    ("digits", i, bytes) — the last overwrites in place (a header's shape or dtype, a zip size field)."""
    b = bytearray(data)
    for op in ops:
        i = op[1] % (len(b) + 1)
        if op[0] == "flip" and i < len(b):
            b[i] ^= op[2]
        elif op[0] == "truncate":
            del b[i:]
        elif op[0] == "insert":
            b[i:i] = op[2]
        elif op[0] == "delete":
            del b[i : i + op[2]]
        elif op[0] == "digits":
            b[i : i + len(op[2])] = op[2]
    return bytes(b)


def key_paths(d: dict, prefix: tuple = ()):
    """Every key path of a nested mapping, parents before children: ("train",), ("train", "epochs"), …"""
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from key_paths(v, prefix + (k,))

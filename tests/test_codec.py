"""The plain-data codec: the only format that crosses the trust boundary."""
import socket
import struct
import subprocess
import sys
import textwrap

import msgpack
import numpy as np
import pytest

from autograder.codec import (EXT_NDARRAY, EXT_TUPLE, MAX_CONTAINER_LEN, MAX_TUPLE_DEPTH, CodecError, decode,
                              encode, recv_message, send_message)


def roundtrip(value):
    return decode(encode(value))


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4),
    np.arange(12.0).reshape(3, 4).T,                  # not contiguous
    np.arange(24, dtype=np.float32).reshape(2, 3, 4)[:, ::2],
    np.array(3.5),                                     # 0-d
    np.zeros((0, 5)),
    np.array([1, 2, 3], dtype=">i4"),                 # big-endian
    np.array([True, False]),
    np.array([1 + 2j]),
    np.uint8([1, 255]),
])
def test_numeric_arrays_round_trip_exactly(array):
    back = roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)
    assert back.flags.writeable and back.flags.c_contiguous


def test_a_known_array_header_decodes_into_an_array_of_its_own():
    array = np.arange(6.0).reshape(2, 3)
    data = encode([array, array])  # the second one's header is known by then (codec._DECODED_HEADERS)
    first, second = decode(data)
    for back in (first, second):
        assert np.array_equal(back, array) and back.flags.writeable and back.flags.owndata
    second[0, 0] = 99.0  # its own memory: neither the message nor the other array changes
    assert first[0, 0] == 0.0 and decode(data)[1][0, 0] == 0.0


def test_encoding_after_a_refusal_or_a_large_message_is_unchanged():
    """The codec reuses its msgpack packers: one that failed halfway, or grew for a large
    message, must leave nothing behind in the next message."""
    honest = {"a": (np.ones(3), [1, (2, "x")]), "b": None}
    expected = encode(honest)
    for spoiler in ({"a": (np.ones(3), [1, (2, object())])}, (np.zeros(1 << 16), (np.ones(2),))):
        try:
            encode(spoiler)
        except CodecError:
            pass
        assert encode(honest) == expected
        assert msgpack.unpackb(expected, raw=False, strict_map_key=False,
                               ext_hook=lambda code, data: code)["a"] == EXT_TUPLE


def test_plain_containers_round_trip():
    value = {"a": (1, 2.5, None, True, "s"), "b": [np.ones(2), {"c": (np.float64(3.0),)}], 7: b"raw"}
    back = roundtrip(value)
    assert back["a"] == (1, 2.5, None, True, "s") and type(back["a"]) is tuple
    assert np.array_equal(back["b"][0], np.ones(2))
    assert type(back["b"][1]["c"][0]) is np.ndarray and back["b"][1]["c"][0] == 3.0  # numpy scalar -> 0-d array
    assert back[7] == b"raw"  # bytes stay bytes: never unpickled


class Liar:
    def __eq__(self, other):
        return True

    def __array_ufunc__(self, *args, **kwargs):
        return True


class SubArray(np.ndarray):
    def __eq__(self, other):
        return True


class LyingFloat(float):
    def __eq__(self, other):
        return True


class LyingDict(dict):
    pass


class LyingList(list):
    pass


@pytest.mark.parametrize("value", [
    np.ones(3).view(SubArray),
    np.asmatrix(np.ones((2, 2))),
    np.ma.masked_array([1.0, 2.0]),
    np.array([1.0, "x"], dtype=object),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    np.array(["2020-01-01"], dtype="datetime64[D]"),
    np.array(["text"]),
    Liar(),
    LyingFloat(1.0),
    LyingDict(a=1),
    LyingList([1]),
    {"ok": np.ones(2), "bad": [Liar()]},
    (1, (2, Liar())),
    object,
    lambda: 1,
], ids=lambda v: type(v).__name__)
def test_anything_that_is_not_plain_data_is_refused(value):
    with pytest.raises(CodecError):
        encode(value)


def _ext(code, payload):
    return msgpack.packb(msgpack.ExtType(code, payload))


def _array_ext(dtype: str, shape, payload: bytes, raw_header=None):
    header = raw_header if raw_header is not None else msgpack.packb([dtype, list(shape)])
    return _ext(EXT_NDARRAY, struct.pack("<I", len(header)) + header + payload)


@pytest.mark.parametrize("data", [
    _ext(99, b"x"),                                             # unknown extension
    _array_ext("|O", (1,), b"\0" * 8),                          # object dtype
    _array_ext("[('a', '<i4')]", (1,), b"\0" * 4),              # structured, as a string
    _array_ext("|V8", (1,), b"\0" * 8),                         # void
    _array_ext("<U2", (1,), b"\0" * 8),                         # text
    _array_ext("<f8", (2,), b"\0" * 8),                         # payload shorter than the shape
    _array_ext("<f8", (1 << 40, 1 << 40), b""),                 # absurd shape
    _array_ext("<f8", (-1,), b""),                              # negative shape
    _array_ext("<f8", (1,) * 9, b"\0" * 8),                     # too many dimensions
    _array_ext("<f8", (0, 2**31 - 1), b""),                     # empty, as large as 16 GiB full
    _array_ext("not a dtype ((", (1,), b"\0" * 8),
    _array_ext("", (), b"", raw_header=b"\xc1"),                # malformed header
    _array_ext("", (), b"", raw_header=msgpack.packb({"a": 1})),
    _ext(EXT_NDARRAY, b"\xff\xff\xff\xff"),                     # header longer than the payload
    _ext(EXT_TUPLE, msgpack.packb({"not": "a list"})),
    b"\xc1",                                                    # never-used msgpack byte
    b"\x92\x01",                                                # truncated
    b"\xdd" + struct.pack(">I", MAX_CONTAINER_LEN + 1) + b"\xc0" * (MAX_CONTAINER_LEN + 1),  # huge list
])
def test_crafted_messages_are_refused_before_anything_is_allocated(data):
    with pytest.raises(CodecError):
        decode(data)


def test_deeply_nested_tuples_are_refused_not_a_crash():
    # tuples re-enter the C unpacker through the extension hook: without a depth bound a
    # few thousand levels exhaust the C stack of the grading process (a segfault). Run in
    # a child so that a regression fails this test instead of killing the test run.
    script = textwrap.dedent(f"""
        import msgpack
        from autograder.codec import decode, CodecError
        data = msgpack.packb(None)
        for _ in range(20000):
            data = msgpack.packb(msgpack.ExtType({EXT_TUPLE}, b"\\x91" + data))
        try:
            decode(data)
            print("decoded")
        except CodecError as exc:
            print("refused", exc)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (out.returncode, out.stderr[-500:])
    assert out.stdout.startswith("refused"), out.stdout


def test_honest_nesting_is_fine():
    value = ()
    for _ in range(MAX_TUPLE_DEPTH - 1):
        value = (value,)
    assert roundtrip(value) == value


def test_deep_plain_lists_are_refused():
    data = b"\x91" * 100_000 + b"\xc0"
    with pytest.raises(CodecError):
        decode(data)


def test_framing_over_a_socket_and_its_size_limit():
    a, b = socket.socketpair()
    try:
        send_message(a, {"x": np.arange(3.0)})
        assert np.array_equal(recv_message(b)["x"], np.arange(3.0))
        a.sendall(struct.pack("<I", 10_000_000))
        with pytest.raises(CodecError):
            recv_message(b, max_bytes=1_000_000)  # refused from the length, nothing read
        a.close()
        b2, a2 = socket.socketpair()
        a2.sendall(struct.pack("<I", 100) + b"\x00" * 10)
        a2.close()
        with pytest.raises(EOFError):
            recv_message(b2)
        b2.close()
    finally:
        b.close()


# --- what a student process can send cannot stall or bloat the grader (issue 11) -----------

def _measured(script: str) -> dict:
    """Run `script` in a fresh interpreter; it prints one JSON line. Adds the child's peak
    RSS (MiB) and wall time: the grader's real cost, not a guess."""
    import json

    wrapper = ("import json, resource, time\nstarted = time.monotonic()\nout = {}\n"
               + textwrap.dedent(script)
               + "\nout['wall'] = time.monotonic() - started"
               + "\nout['rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"
               + "\nprint(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_map_of_colliding_keys_is_refused_at_once():
    # 65,535 tuple keys with equal hashes: building the dict compares every key with every
    # earlier one (111 s of CPU for a 1 MB frame). Keys are checked before anything is
    # hashed; only str, bytes and int keys (whose hashes cannot be made to collide) pass.
    res = _measured("""
        import msgpack, struct
        from autograder.codec import decode, CodecError, EXT_TUPLE
        n = 65535
        keys = [msgpack.packb(msgpack.ExtType(EXT_TUPLE, b"\\x92" + msgpack.packb(i) + msgpack.packb(-i)))
                for i in range(n)]  # (i, -i): one hash for many i
        data = b"\\xdf" + struct.pack(">I", n) + b"".join(k + b"\\xc0" for k in keys)
        out["bytes"] = len(data)
        begun = time.monotonic()
        try:
            decode(data)
            out["outcome"] = "decoded"
        except CodecError as exc:
            out["outcome"] = "refused: " + str(exc)
        out["decode"] = time.monotonic() - begun
    """)
    assert res["bytes"] > 500_000
    assert res["outcome"].startswith("refused") and "dict key" in res["outcome"], res
    assert res["decode"] < 5 and res["rss_mb"] < 512, res


@pytest.mark.parametrize("key", [(1, 2), 2.5, None, True])
def test_only_str_bytes_and_int_keys_cross(key):
    with pytest.raises(CodecError, match="dict key"):
        encode({"outputs": {key: np.ones(2)}})
    data = b"\x81" + msgpack.packb(msgpack.ExtType(EXT_TUPLE, msgpack.packb(list(key))) if type(key) is tuple
                                   else key) + b"\xc0"
    with pytest.raises(CodecError, match="dict key"):
        decode(data)
    assert roundtrip({"a": {b"k": [1], 3: {"t": 0}}}) == {"a": {b"k": [1], 3: {"t": 0}}}


@pytest.mark.parametrize("item", [b"\x90", b"\xc0", b"\xa1x", b"\xc4\x00"])
def test_a_decode_bomb_is_refused_within_bounded_memory(item):
    # 64 MiB of one-byte values (empty lists, nils, short strings, empty bytes) in lists of
    # a million: each byte would become a Python object (4.5 GB for the empty lists)
    res = _measured(f"""
        import struct
        from autograder.codec import decode, CodecError, MAX_ITEMS
        inner = b"\\xdd" + struct.pack(">I", 1 << 20) + {item!r} * (1 << 20)
        count = (64 << 20) // len(inner)
        data = b"\\xdd" + struct.pack(">I", count) + inner * count
        out["mb"] = len(data) / 2**20
        try:
            decode(data)
            out["outcome"] = "decoded"
        except CodecError as exc:
            out["outcome"] = "refused: " + str(exc)
    """)
    assert res["mb"] >= 60
    assert res["outcome"].startswith("refused"), res
    assert res["rss_mb"] < 512 and res["wall"] < 30, res


def test_honest_messages_fit_the_item_budget():
    from autograder.codec import MAX_ITEMS

    batch = {"op": "batch", "messages": [{"op": "case", "index": i, "ok": True, "cpu": 0.01, "output": "",
                                          "outputs": {"a": np.ones((5, 3)), "caches": [(np.ones(2),) * 4] * 10}}
                                         for i in range(1000)]}
    assert len(roundtrip(batch)["messages"]) == 1000
    with pytest.raises(CodecError, match="values"):
        decode(encode([[None] * 1000] * (MAX_ITEMS // 1000 + 1)))


def test_a_frame_that_drips_in_is_cut_off_at_the_deadline():
    # a large header and then one byte at a time: a timeout per recv would wait for ever
    import threading
    import time

    from autograder.codec import ReadDeadline

    a, b = socket.socketpair()
    stop = threading.Event()

    def drip():
        a.sendall(struct.pack("<I", 60 << 20))
        while not stop.wait(0.05):
            try:
                a.send(b"\x00")
            except OSError:
                return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(ReadDeadline):
            recv_message(b, 64 << 20, deadline=time.monotonic() + 1.0)
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        a.close()
        b.close()
        thread.join()


def test_an_empty_array_counts_as_large_as_it_would_be_full():
    """np.zeros((0, 2**31 - 1)) carries no bytes, but a sum over its empty axis is a 16 GiB
    array: in every size limit it counts as full (the grader summed it for a shape hint
    and was killed by the machine's out-of-memory killer)."""
    from autograder.codec import array_items, plain_size

    assert array_items(np.zeros((0, 5))) == 5 and array_items(np.zeros((3, 4))) == 12
    assert array_items(np.zeros(())) == 1 and array_items(np.zeros((0,))) == 1
    assert plain_size(np.zeros((0, 2**20)), 1 << 30) == plain_size(np.zeros((1, 2**20)), 1 << 30)
    with pytest.raises(CodecError):
        plain_size([np.zeros((0, 1000))], 1 << 20, 999)
    with pytest.raises(CodecError, match="empty array"):
        encode({"a": np.zeros((0, 2**31 - 1))})
    assert decode(encode(np.zeros((0, 7)))).shape == (0, 7)

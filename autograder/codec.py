"""The only format that crosses the trust boundary: plain data, never a pickle.

A message is msgpack with two extension types: an ndarray (dtype string, shape, raw
bytes) and a tuple. Decoding validates every array header before any allocation:
numeric dtypes only, shape x itemsize must equal the payload, total size bounded.
Anything else a student returns (objects, subclasses, object arrays) cannot be encoded
in the sandbox and so never reaches the grader.
"""
from __future__ import annotations

import socket
import struct
import time

import msgpack
import numpy as np

EXT_NDARRAY = 1
EXT_TUPLE = 2
NUMERIC_KINDS = frozenset("biufc")  # bool, int, uint, float, complex
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_ARRAY_DIMS = 8
# Decoding limits. Tuples nest through the extension hook, which re-enters the C
# unpacker: without a depth bound a crafted message exhausts the C stack of the
# *grading* process (a segfault, not an exception). Honest data nests a few levels.
MAX_TUPLE_DEPTH = 32
MAX_CONTAINER_LEN = 1 << 20   # elements of one list / tuple
MAX_MAP_LEN = 1 << 16         # keys of one dict
MAX_STR_LEN = 16 * 1024 * 1024
# Work and memory per message, whatever its bytes say: every list, tuple, dict, dict key
# and array counts one item, every element of a list or tuple one more. The C unpacker
# makes a Python object of each (a 1-byte empty list becomes a 56-byte list), so without
# this a 64 MiB frame of empty lists costs the grader gigabytes. Honest messages hold a
# few thousand items; arrays carry the bulk and are bounded by their bytes.
MAX_ITEMS = 1 << 20


# The outputs of one case, encoded: a few kB for every unit shipped (37 kB at most). The
# grader keeps every case's outputs of a unit until it is judged, so this bounds what a
# submission can make it hold (a patched runtime sent 30 MB a case: 840 MB).
MAX_CASE_OUTPUTS = 2 * 1024 * 1024


class CodecError(ValueError):
    """Data that may not cross the boundary (on either side)."""


def _default(obj):
    if type(obj) is np.ndarray:
        # a known header is a validated one: numeric dtype (its string names the kind)
        prefix = _ENCODED_HEADERS.get((obj.dtype.str, obj.shape))
        if prefix is not None:
            return _ext(EXT_NDARRAY, prefix + obj.tobytes())  # (tobytes: C order, contiguous or not)
    if type(obj) is np.ndarray or isinstance(obj, np.generic):
        arr = np.asarray(obj)
        if arr.dtype.kind not in NUMERIC_KINDS:
            raise CodecError(f"array of dtype {arr.dtype} is not numeric")
        key = (arr.dtype.str, arr.shape)
        prefix = _ENCODED_HEADERS.get(key)
        if prefix is None:
            if not arr.size and _extent(arr.shape) * arr.dtype.itemsize > MAX_MESSAGE_BYTES:
                raise CodecError(f"an empty array of shape {arr.shape} (as large as it would be full)")
            header = msgpack.packb([arr.dtype.str, list(arr.shape)])
            prefix = struct.pack("<I", len(header)) + header
            if len(_ENCODED_HEADERS) >= _HEADER_CACHE_SIZE:
                _ENCODED_HEADERS.clear()
            _ENCODED_HEADERS[key] = prefix
        return _ext(EXT_NDARRAY, prefix + arr.tobytes())
    if type(obj) is tuple:
        return _ext(EXT_TUPLE, _pack(list(obj)))
    if isinstance(obj, np.ndarray):
        raise CodecError(f"ndarray subclass {type(obj).__name__} is not plain data")
    raise CodecError(f"an object of type {type(obj).__name__} is not plain data")


def _ext(code: int, data: bytes) -> msgpack.ExtType:
    """msgpack.ExtType(code, data) without its argument checks (code and data are ours)."""
    return tuple.__new__(msgpack.ExtType, (code, data))


# Packers to reuse: msgpack.packb builds one (and mallocs its 256 KiB buffer) per call,
# and a message packs once more for every tuple in it; in a freshly forked unit child
# that was most of the cost of encoding. A packer resets itself after each message;
# nested tuples each take their own. One whose buffer grew for a large message, or
# that failed, is dropped (a buffer never shrinks).
_PACKERS: list = []
_SPARE_PACKERS = 8
_PACKER_BUFFER = 256 * 1024


def _pack(obj) -> bytes:
    # strict_types: subclasses of int/float/dict/list (with their own __eq__ ...) go
    # through _default and are refused instead of being silently accepted.
    try:  # (pop, not a test then pop: threads of a Dask worker encode at the same time)
        packer = _PACKERS.pop()
    except IndexError:
        packer = msgpack.Packer(default=_default, strict_types=True, use_bin_type=True, buf_size=_PACKER_BUFFER)
    packed = packer.pack(obj)
    if len(packed) <= _PACKER_BUFFER and len(_PACKERS) < _SPARE_PACKERS:
        _PACKERS.append(packer)
    return packed


_CONTAINERS = (dict, list, tuple)
# Dict keys that may cross: their hashes cannot be chosen to collide (str and bytes hashes
# are randomised per process; an int's hash is the int, and at most a dozen 64-bit ints
# share one). Tuple or float keys can be made to share one hash: a 1 MB map of 65,535
# tuple keys with equal hashes costs minutes of CPU to build.
KEY_TYPES = (str, bytes, int)


def _check_keys(obj) -> None:
    """Dict keys are str, bytes or int (decode refuses anything else): said here, where
    the sender can still turn it into a verdict."""
    if type(obj) is dict:
        for key, value in obj.items():
            if type(key) not in KEY_TYPES:
                raise CodecError(f"a dict key of type {type(key).__name__} is not plain data "
                                 "(keys are strings or integers)")
            if type(value) in _CONTAINERS:
                _check_keys(value)
    else:
        for value in obj:
            if type(value) in _CONTAINERS:
                _check_keys(value)


def encode(obj) -> bytes:
    try:
        if type(obj) in _CONTAINERS:
            _check_keys(obj)
        return _pack(obj)
    except CodecError:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise CodecError(str(exc)) from None


# Array headers repeat (the same dtypes and shapes, case after case): each distinct one
# is built, or parsed and validated, once. Bounded, since headers may come from a student.
_HEADER_CACHE_SIZE = 1024
_ENCODED_HEADERS: dict = {}
_DECODED_HEADERS: dict = {}


def _decode_array(data: bytes) -> np.ndarray:
    if len(data) < 4:
        raise CodecError("truncated array")
    (hlen,) = struct.unpack_from("<I", data)
    if hlen > 4096 or 4 + hlen > len(data):
        raise CodecError("bad array header")
    raw_header = data[4 : 4 + hlen]
    known = _DECODED_HEADERS.get(raw_header)
    if known is not None:
        dtype, shape, nbytes = known
        if nbytes != len(data) - 4 - hlen:
            raise CodecError("array payload does not match its shape")
        array = np.empty(shape, dtype)  # the payload copied straight into a new array of our own
        if nbytes:
            array.data.cast("B")[:] = memoryview(data)[4 + hlen:]
        return array
    header = msgpack.unpackb(raw_header, raw=False, max_array_len=MAX_ARRAY_DIMS + 2)
    if not (isinstance(header, list) and len(header) == 2 and isinstance(header[0], str)
            and isinstance(header[1], list) and len(header[1]) <= MAX_ARRAY_DIMS):
        raise CodecError("bad array header")
    try:
        dtype = np.dtype(header[0])
    except Exception:  # TypeError, ValueError, ... whatever numpy says about a crafted string
        raise CodecError(f"bad dtype {header[0][:40]!r}") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise CodecError(f"dtype {dtype} is not numeric")
    shape = header[1]
    if not all(type(n) is int and 0 <= n < 2**31 for n in shape):
        raise CodecError("bad array shape")
    payload = data[4 + hlen :]
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(payload):
        raise CodecError("array payload does not match its shape")
    if not count and _extent(shape) * dtype.itemsize > MAX_MESSAGE_BYTES:
        raise CodecError("an empty array whose other dimensions are too large (as large as it would be full)")
    if len(_DECODED_HEADERS) >= _HEADER_CACHE_SIZE:
        _DECODED_HEADERS.clear()
    _DECODED_HEADERS[raw_header] = (dtype, tuple(shape), count * dtype.itemsize)
    return np.frombuffer(payload, dtype=dtype).reshape(tuple(shape)).copy()


class _Budget:
    """Items a message may still decode into (shared by the nested unpackers of tuples)."""
    __slots__ = ("left",)

    def __init__(self, items: int):
        self.left = items

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise CodecError(f"the message holds more than {MAX_ITEMS} values")


def _unpack(data, depth: int, budget: _Budget):
    if depth > MAX_TUPLE_DEPTH:
        raise CodecError("tuples nested too deeply")

    def ext_hook(code, payload):
        budget.spend(1)
        if code == EXT_NDARRAY:
            return _decode_array(payload)
        if code == EXT_TUPLE:
            value = _unpack(payload, depth + 1, budget)
            if not isinstance(value, list):
                raise CodecError("bad tuple")
            return tuple(value)
        raise CodecError(f"unknown extension type {code}")

    def list_hook(items):
        budget.spend(1 + len(items))
        return items

    def pairs_hook(pairs):
        # the unpacker hands over the pairs before anything is hashed: keys are checked first
        budget.spend(1 + len(pairs))
        for key, _ in pairs:
            if type(key) not in KEY_TYPES:
                raise CodecError(f"a dict key of type {type(key).__name__} is not plain data")
        return dict(pairs)

    return msgpack.unpackb(data, ext_hook=ext_hook, list_hook=list_hook, object_pairs_hook=pairs_hook,
                           raw=False, strict_map_key=False, use_list=True,
                           max_str_len=MAX_STR_LEN, max_bin_len=MAX_MESSAGE_BYTES,
                           max_array_len=MAX_CONTAINER_LEN, max_map_len=MAX_MAP_LEN,
                           max_ext_len=MAX_MESSAGE_BYTES)


def decode(data):
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError("message too large")
    try:
        return _unpack(data, 0, _Budget(MAX_ITEMS))
    except CodecError:
        raise
    except Exception as exc:  # msgpack raises several types on malformed input
        raise CodecError(f"malformed message: {type(exc).__name__}: {exc}"[:300]) from None


def _extent(shape) -> int:
    count = 1
    for n in shape:
        count *= n or 1
    return count


def array_items(array: np.ndarray) -> int:
    """The elements an array counts for in every size limit: its own, or for an empty
    one the product of its other dimensions. An array of shape (0, 2**31) holds no bytes,
    but numpy builds 2**31 elements from it (a sum over its empty axis, in a comparison's
    hint or in a served reference call): it is as large as it would be full."""
    return array.size or _extent(array.shape)


def plain_size(value, limit: int, array_items_limit: int | None = None) -> int:
    """About what plain data takes encoded, counting a shared object every time it is
    reached (msgpack encodes it every time): a walk, without encoding, that stops once
    `limit` is passed (a cycle passes it too). An array counts for array_items(): an
    empty one as if it were full. CodecError when an array has more than
    `array_items_limit` elements."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            items = item.size or _extent(item.shape)
            if array_items_limit is not None and items > array_items_limit:
                raise CodecError(f"an array of {items} elements")
            total += items * item.itemsize + 16
        elif isinstance(item, (str, bytes)):
            total += len(item) + 4
        elif isinstance(item, dict):
            total += 4 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 4 + len(item)
            stack.extend(item)
        else:
            total += 9
    return total


# --- framing over a socket: 4-byte length + payload ------------------------------------

def send_message(sock, obj) -> None:
    send_encoded(sock, encode(obj))


def send_encoded(sock, payload: bytes) -> None:
    sock.sendall(struct.pack("<I", len(payload)) + payload)


def encode_list(encoded: list[bytes]) -> bytes:
    """A msgpack array of items already encoded (msgpack is concatenative)."""
    n = len(encoded)
    if n < 16:
        header = bytes([0x90 | n])
    elif n < 1 << 16:
        header = b"\xdc" + struct.pack(">H", n)
    else:
        header = b"\xdd" + struct.pack(">I", n)
    return header + b"".join(encoded)


def encode_map(fields: dict, encoded: dict) -> bytes:
    """A msgpack map of `fields` (encoded now) and `encoded` (values already encoded):
    what a grader sends for every submission (hidden cases, specs) is encoded once."""
    n = len(fields) + len(encoded)
    if n >= 16:
        raise ValueError("encode_map builds small maps only")
    parts = [bytes([0x80 | n])]
    for key, value in fields.items():
        parts += [encode(key), encode(value)]
    for key, value in encoded.items():
        parts += [encode(key), value]
    return b"".join(parts)


def encode_batch(encoded: list[bytes]) -> bytes:
    """{"op": "batch", "messages": [...]} from messages already encoded: each message is
    encoded once, not again inside the batch."""
    return _BATCH_PREFIX + encode_list(encoded)


_BATCH_PREFIX = b"\x82" + msgpack.packb("op") + msgpack.packb("batch") + msgpack.packb("messages")


class ReadDeadline(TimeoutError):
    """A frame did not arrive in full before its deadline."""


def _recv_exact(sock, n: int, deadline: float | None = None) -> bytearray:
    """n bytes, read into one buffer (no second copy). With a deadline (time.monotonic()),
    the whole read must finish by then, however the peer spreads its bytes: a timeout per
    recv alone lets a peer that sends one byte a second hold the grader for ever."""
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    try:
        while got < n:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ReadDeadline(f"{n - got} of {n} bytes had not arrived by the deadline")
                sock.settimeout(remaining)
            try:
                count = sock.recv_into(view[got:], min(n - got, 1 << 20))
            except socket.timeout:
                if deadline is None:
                    raise
                continue  # the loop says so
            if not count:
                raise EOFError("peer closed the connection")
            got += count
    finally:
        view.release()
    return buffer


def recv_frame(sock, max_bytes: int = MAX_MESSAGE_BYTES, deadline: float | None = None) -> bytearray:
    """The next frame's payload, not decoded. `deadline` (time.monotonic()) bounds the
    whole read: ReadDeadline when the frame is not complete by then."""
    (length,) = struct.unpack("<I", _recv_exact(sock, 4, deadline))
    if length > max_bytes:
        raise CodecError(f"message of {length} bytes exceeds the limit")
    return _recv_exact(sock, length, deadline)


def recv_message(sock, max_bytes: int = MAX_MESSAGE_BYTES, deadline: float | None = None):
    """The next framed message, decoded (see recv_frame)."""
    return decode(recv_frame(sock, max_bytes, deadline))

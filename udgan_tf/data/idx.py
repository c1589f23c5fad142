"""Reader for the idx files MNIST ships in (gzip-compressed or plain).

Format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number ``0x00 0x00 T N``
with ``T`` the element type (``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B``
int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64) and ``N`` the number of
dimensions, then ``N`` big-endian uint32 sizes, then the elements in C order, big-endian.
"""

import gzip
import pathlib

import numpy as np

from udgan_tf.data.errors import DataFormatError

#: idx element type code -> big-endian numpy dtype.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxFormatError(DataFormatError):
    """An idx file whose header or length does not match the format."""


def read_idx(path):
    """Reads an idx file (``.gz`` or plain, judged by its first bytes) into an array.

    Args:
        path: str or Path.

    Returns:
        numpy array with the file's shape, e.g. uint8 ``[10000, 28, 28]`` for
        ``t10k-images-idx3-ubyte`` and ``[10000]`` for the labels.

    Raises:
        FileNotFoundError: no such file.
        IdxFormatError: bad magic number, unknown type code, or a data length that does
            not match the header; the message names the file and the byte offset.
    """
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise IdxFormatError(f"{path}: looks gzip-compressed but does not decompress ({error}).") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IdxFormatError(f"{path}: not an idx file: bytes 0-1 of the magic number must be 0, "
                             f"got {raw[:2].hex() or 'nothing'} at offset 0.")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise IdxFormatError(f"{path}: unknown element type 0x{type_code:02x} at offset 2; "
                             f"known: {', '.join(f'0x{code:02x}' for code in IDX_DTYPES)}.")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise IdxFormatError(f"{path}: the header declares {ndim} dimensions but the file ends at "
                             f"offset {len(raw)}, before the sizes end at offset {header_end}.")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise IdxFormatError(f"{path}: the header at offset 4 declares shape {shape} ({expected} bytes of data "
                             f"from offset {header_end}), but the file holds {len(raw) - header_end}.")
    return np.frombuffer(raw, dtype, offset=header_end).reshape(shape).astype(dtype.newbyteorder("="))

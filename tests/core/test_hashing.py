"""The one sha256 helper for files, streams and file-or-folder paths: the digests the records already hold."""

import hashlib
import io

from loopml.core.hashing import sha256_file, sha256_path, sha256_stream

HELLO = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_a_file_and_a_stream_hash_as_their_bytes_across_blocks(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello")
    assert sha256_file(tmp_path / "hello") == sha256_file(str(tmp_path / "hello")) == HELLO
    big = bytes(range(256)) * 8193  # a little over two 1 MiB blocks
    stream = io.BytesIO(b"skip" + big)
    stream.read(4)
    assert sha256_stream(stream) == "sha256:" + hashlib.sha256(big).hexdigest()


def test_a_folder_hashes_its_relative_paths_and_bytes_in_order_and_a_file_only_its_bytes(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b").write_bytes(b"2")
    (tmp_path / "d" / "sub" / "a").write_bytes(b"1")
    expected = hashlib.sha256(b"b" + b"2" + b"sub/a" + b"1").hexdigest()
    assert sha256_path(tmp_path / "d") == f"sha256:{expected}"
    (tmp_path / "hello").write_bytes(b"hello")
    assert sha256_path(tmp_path / "hello") == HELLO
    assert sha256_path(tmp_path / "missing") == "sha256:" + hashlib.sha256().hexdigest()

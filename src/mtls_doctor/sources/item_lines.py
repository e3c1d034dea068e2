"""The lines of a big JSON List's items, found by a forked child while this process decodes.

Finding where each of 100k items starts, and counting the newlines before it, is two scans
over the whole dump: as long as the decode itself for a 1 GB file. Neither needs the decoded
objects, so a child process does them on the other core and sends the lines back. Where
there is no fork, or the child fails, the lines are found here, after the decode.
"""

from __future__ import annotations

import os
import signal
from types import TracebackType

import msgspec

from mtls_doctor.sources.documents import Buffer, json_item_lines, json_list_lines


class ItemLines:
    """`json_item_lines(raw, count)`, started now and collected with `get` (once)."""

    def __init__(self, raw: Buffer) -> None:
        self._raw = raw
        self._pid = 0  # the child, while it has not been collected
        self._pipe = -1
        if hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: find the lines, send them, leave without any cleanup
            status = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as out:
                    out.write(msgspec.msgpack.encode(json_list_lines(self._raw)))
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def get(self, count: int) -> list[int] | None:
        if self._pid:
            with os.fdopen(self._pipe, "rb") as inp:
                data = inp.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
            if status == 0:
                lines = msgspec.msgpack.decode(data, type=list[int] | None)
                return lines if lines is not None and len(lines) == count else None
        return json_item_lines(self._raw, count)

    def close(self) -> None:
        """Stop a child whose lines are not wanted (the fast road refused the file)."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._pipe)
            self._pid = 0

    def __enter__(self) -> ItemLines:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

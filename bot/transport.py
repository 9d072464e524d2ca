"""How the bot talks HTTP to the Bot API: python-telegram-bot's request interface over aiohttp's client.

python-telegram-bot sends every Bot API call through a ``BaseRequest``, an
interface it documents for other HTTP libraries to implement; its own,
``HTTPXRequest``, was measured against this one (``bench/bench_bot.py`` and
the figures in BENCHMARKS.md, "Contributor bot"):

- per call, httpx and httpcore cost 0.7 ms of CPU with one connection and
  1.1 to 2.0 ms with 8 to 64 connections (httpcore scans its whole pool for
  every request it queues), against 0.2 ms here, the local server's share
  included;
- a contribution takes 15 calls, so on the bot's event loop that is 36 to
  50 ms of CPU per contribution with ``HTTPXRequest`` against 14 to 22 ms
  with this class; with 50 people at a time on the 2-core machine,
  ``HTTPXRequest`` with 64 connections gave a third fewer contributions a
  second, and at 20 contributions a second its calls alone would take 0.3
  to 0.6 of a core (0.07 here), which the embedding and the database
  writer need.

So the bot keeps this class. It uses only the documented interface
(``do_request``, ``BaseRequest.DEFAULT_NONE``, ``RequestData``) and behaves
as ``HTTPXRequest`` does: form-encoded parameters (multipart when a file is
sent), its timeouts, ``TimedOut`` on a timeout, ``NetworkError`` on any
other transport failure, the proxy from ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
``NO_PROXY``, certificates checked against certifi's bundle.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
from typing import Any

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

UNSET = BaseRequest.DEFAULT_NONE  # a timeout the caller left to this request's own


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` over one ``aiohttp.ClientSession`` with at most ``connection_pool_size`` connections.

    The timeouts mean what they mean for ``HTTPXRequest``: ``pool_timeout``
    to get a connection from the pool, ``connect_timeout`` to open one,
    ``read_timeout`` between two reads of the answer. aiohttp has no write
    timeout, so the write timeout (``media_write_timeout`` when a file is
    sent) is added to a cap on the whole request instead.
    """

    def __init__(
        self,
        connection_pool_size: int,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self.connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.connection_pool_size, ssl=ssl.create_default_context(cafile=certifi.where())
            )
            # trust_env=False: aiohttp would look the proxy up on a thread for every request;
            # _env_proxy reads the same environment variables once per host instead.
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}, trust_env=False
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = UNSET,
        write_timeout: Any = UNSET,
        connect_timeout: Any = UNSET,
        pool_timeout: Any = UNSET,
    ) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: the HTTP status and body of the answer."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        data: Any = request_data.json_parameters if request_data else None
        if files:
            data = _form(data or {}, files)
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout, media=bool(files))
        try:
            proxy = _env_proxy(*_scheme_and_host(url))
            async with self._session.request(method, url, data=data, timeout=timeout, proxy=proxy) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as err:  # aiohttp's timeouts, including waiting for the pool
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any, *, media: bool) -> aiohttp.ClientTimeout:
        read = self._read_timeout if read is UNSET else read
        connect = self._connect_timeout if connect is UNSET else connect
        pool = self._pool_timeout if pool is UNSET else pool
        if write is UNSET:
            write = self._media_write_timeout if media else self._write_timeout
        parts = (read, write, connect, pool)
        total = None if any(part is None for part in parts) else sum(parts)
        acquire = None if pool is None or connect is None else pool + connect
        return aiohttp.ClientTimeout(total=total, connect=acquire, sock_connect=connect, sock_read=read)


def _form(fields: dict[str, str], files: dict) -> aiohttp.FormData:
    """A multipart form: the parameters, then each file part ``(filename, content, mime type)``."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _scheme_and_host(url: str) -> tuple[str, str]:
    scheme, _, rest = url.partition("://")
    return scheme.lower(), rest.split("/", 1)[0].rsplit("@", 1)[-1]


@functools.lru_cache(maxsize=16)
def _env_proxy(scheme: str, host: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` name for this host, as httpx would use."""
    if urllib.request.proxy_bypass(host.split(":", 1)[0]):
        return None
    return urllib.request.getproxies().get(scheme)

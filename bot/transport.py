"""How the bot talks HTTP to the Bot API: python-telegram-bot's request interface over aiohttp.

python-telegram-bot sends every Bot API call through a ``BaseRequest``; its
default, ``HTTPXRequest``, costs about 1.5 ms of CPU per call in httpx and
httpcore, and a contribution takes some 16 calls, so on a small machine the
HTTP client was the larger part of the bot's whole CPU. ``AiohttpRequest``
does the same with aiohttp's client (C-accelerated HTTP parsing), about a
tenth of that. Requests, timeouts and errors behave as with ``HTTPXRequest``:
form-encoded parameters (multipart when a file is sent), ``TimedOut`` on a
timeout, ``NetworkError`` on any other transport failure.

Where aiohttp is not installed, ``bot_api_requests`` falls back to
``HTTPXRequest``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import sys
import urllib.request
from typing import Any

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

try:
    import aiohttp
except ImportError:  # pragma: no cover - then bot_api_requests falls back to httpx
    aiohttp = None

log = logging.getLogger(__name__)
_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # a timeout the caller left to this request's own

# python-telegram-bot's HTTPXRequest defaults, in seconds
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` over one ``aiohttp.ClientSession`` with at most ``connection_pool_size`` connections.

    The timeouts are those of ``HTTPXRequest``: ``pool_timeout`` to get a
    connection from the pool, ``connect_timeout`` to open one, ``read_timeout``
    between two reads of the answer; aiohttp has no write timeout, so the
    write timeout (``media_write_timeout`` when a file is sent) is added to a
    cap on the whole request instead.
    """

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        if aiohttp is None:
            raise RuntimeError("AiohttpRequest needs aiohttp: pip install aiohttp")
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
            connector = aiohttp.TCPConnector(limit=self.connection_pool_size, ssl=_ssl_context())
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
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: the HTTP status and body of the answer."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        data: Any = request_data.json_parameters if request_data else None
        if files:
            data = _form(data or {}, files)
        timeout = self._timeout(
            read_timeout,
            write_timeout,
            connect_timeout,
            pool_timeout,
            media=bool(files),
        )
        try:
            proxy = _env_proxy(*_scheme_and_host(url))
            async with self._session.request(method, url, data=data, timeout=timeout, proxy=proxy) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as err:  # aiohttp's timeouts, including waiting for the pool
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any, *, media: bool) -> aiohttp.ClientTimeout:
        read = self._read_timeout if isinstance(read, _DEFAULT) else read
        connect = self._connect_timeout if isinstance(connect, _DEFAULT) else connect
        pool = self._pool_timeout if isinstance(pool, _DEFAULT) else pool
        if isinstance(write, _DEFAULT):
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


def _ssl_context() -> ssl.SSLContext:
    """Certificate checks with certifi's CA bundle (as httpx does), else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def bot_api_requests(connection_pool_size: int, pool_timeout: float) -> tuple[BaseRequest, BaseRequest]:
    """The request objects for Bot API calls and for ``getUpdates`` (one connection of its own)."""
    if aiohttp is None:
        log.warning("aiohttp is not installed; Bot API calls go through httpx, which costs more CPU")
        _fail_fast_without_sniffio()
        return (
            HTTPXRequest(connection_pool_size=connection_pool_size, pool_timeout=pool_timeout),
            HTTPXRequest(connection_pool_size=1),
        )
    return AiohttpRequest(connection_pool_size, pool_timeout=pool_timeout), AiohttpRequest(1)


def _fail_fast_without_sniffio() -> None:
    """Make httpcore's per-request ``import sniffio`` fail at once when sniffio is not installed.

    httpcore asks sniffio which async library runs, several times per request,
    and takes asyncio when the import fails. Newer anyio no longer installs
    sniffio, and a failed import is not cached: each attempt searches all of
    ``sys.path`` again (a fifth of the bot's CPU under load, measured). A
    ``None`` in ``sys.modules`` makes the import fail at once, with the same
    outcome.
    """
    if "sniffio" in sys.modules:
        return
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None

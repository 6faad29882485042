"""The YooKassa API through the official (synchronous) SDK, called off the event loop.

Every call runs in one of the API's own worker threads (a fixed number, so at most that
many connections are kept to the API, whatever the number of calls; the event loop's
default pool would grow and shrink with them) under ``asyncio.wait_for``; a call that takes too long
counts as the API being unavailable. The SDK itself sets no HTTP timeout (its ``timeout``
setting is a retry backoff), so a stalled API would keep the thread forever and, thread
by thread, stop the ingest: our payment and refund classes give the SDK a client whose
requests time out too.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Self

import requests
from yookassa import Configuration, Payment, Refund
from yookassa.client import ApiClient
from yookassa.domain.exceptions import BadRequestError, NotFoundError


class YooKassaUnavailable(RuntimeError):
    """The API did not answer usefully in time; try again later."""


class YooKassaRefused(ValueError):
    """The API refused the request (400): asking again will not help."""


ApiObject = dict[str, Any]


class _KeptSession(requests.Session):
    """A session whose requests give up after the client's timeout unless told otherwise,
    and which stays open when the SDK closes it after each request: its connections are
    kept alive for the next call made on the same thread."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", _TimedClient.timeout_s)
        return super().request(*args, **kwargs)

    def close(self) -> None:
        """Kept open (the SDK closes its session after every request)."""


class _TimedClient(ApiClient):  # type: ignore[misc]  # the SDK has no type hints
    """The SDK's client, one per worker thread, with one kept-alive session each.

    The SDK builds a client (user agent, configuration) and a session per call and closes
    the session afterwards: a new TCP connection for every API call. A requests session
    is not safe across threads, so each thread keeps its own."""

    timeout_s = 10.0  # set by YooKassaApi.configure, like the SDK's own Configuration
    configuration = 0  # counts YooKassaApi.configure calls: a thread's client is rebuilt
    _threads = threading.local()

    @classmethod
    def of_this_thread(cls) -> _TimedClient:
        client: _TimedClient | None = getattr(cls._threads, "client", None)
        if client is None or getattr(cls._threads, "configuration", None) != cls.configuration:
            client = cls._threads.client = cls()  # reads the SDK's Configuration
            cls._threads.configuration = cls.configuration
            cls._threads.session = None
        return client

    def get_session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._threads, "session", None)
        if session is None:
            session = self._threads.session = _KeptSession()
            for prefix, adapter in super().get_session().adapters.items():  # SDK's retries
                session.mount(prefix, adapter)
        return session


class _Payment(Payment):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.client = _TimedClient.of_this_thread()


class _Refund(Refund):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.client = _TimedClient.of_this_thread()


class YooKassaApi:
    def __init__(self, timeout_s: float, threads: int) -> None:
        self._timeout_s = timeout_s
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="yookassa-api")

    @classmethod
    def configure(
        cls, shop_id: str, secret_key: str, api_url: str, timeout_s: float, threads: int = 8
    ) -> Self:
        """Point the SDK (process-wide configuration) at the shop and the API; at most
        ``threads`` calls (and kept connections) at once."""
        Configuration.configure(shop_id, secret_key, api_url=api_url.rstrip("/"), max_attempts=1)
        _TimedClient.timeout_s = timeout_s
        _TimedClient.configuration += 1
        return cls(timeout_s, threads)

    def close(self) -> None:
        """Let calls under way finish in their threads; no new call starts."""
        self._threads.shutdown(wait=False)

    async def _call(self, function: Callable[[], Any]) -> ApiObject | None:
        running = asyncio.get_running_loop().run_in_executor(self._threads, function)
        try:
            result = await asyncio.wait_for(running, self._timeout_s)
        except NotFoundError:
            return None
        except BadRequestError as error:
            raise YooKassaRefused(str(error)) from error
        except TimeoutError as error:
            raise YooKassaUnavailable(f"no answer within {self._timeout_s}s") from error
        except Exception as error:  # the SDK raises bare errors on transport failures
            raise YooKassaUnavailable(f"{type(error).__name__}: {error}") from error
        parsed: ApiObject = json.loads(result.json())
        return parsed

    async def payment(self, payment_id: str) -> ApiObject | None:
        """The payment as the API sees it, or None if the API does not know it."""
        return await self._call(functools.partial(_Payment.find_one, payment_id))

    async def refund(self, refund_id: str) -> ApiObject | None:
        return await self._call(functools.partial(_Refund.find_one, refund_id))

    async def create_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        metadata: dict[str, str],
        return_url: str,
        idempotency_key: str,
        save_payment_method: bool = False,
        payment_method_id: str | None = None,
    ) -> ApiObject:
        """A payment the payer confirms at ``return_url``'s checkout (saving their method
        for later when asked), or, with ``payment_method_id``, a charge of a saved method
        made without the payer."""
        params: dict[str, Any] = {
            "amount": {"value": f"{amount:.2f}", "currency": currency},
            "capture": True,
            "description": description,
            "metadata": metadata,
        }
        if payment_method_id is None:
            params["confirmation"] = {"type": "redirect", "return_url": return_url}
            if save_payment_method:
                params["save_payment_method"] = True
        else:
            params["payment_method_id"] = payment_method_id
        created = await self._call(functools.partial(_Payment.create, params, idempotency_key))
        if created is None:
            raise YooKassaUnavailable("the API answered 404 to a payment creation")
        return created

    async def create_refund(
        self, *, payment_id: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ApiObject:
        params = {
            "payment_id": payment_id,
            "amount": {"value": f"{amount:.2f}", "currency": currency},
            "description": "Keyland: held payment refunded by an admin",
        }
        created = await self._call(functools.partial(_Refund.create, params, idempotency_key))
        if created is None:
            raise YooKassaUnavailable("the API answered 404 to a refund creation")
        return created

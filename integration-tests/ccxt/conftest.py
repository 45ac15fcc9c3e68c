"""Fixtures: each test module gets its own exchange process on a fresh SQLite database (so
market data assertions see only that module's trades); each test opens fresh accounts through
/admin. When a test fails, its report carries the exchange's log tail and the last request
(and answer) of every ccxt client the test made."""

import pytest

from harness import CLIENTS_OF_CURRENT_TEST, RUNNING_EXCHANGES, ExchangeProcess, Trader
from harness import exchange_binary


@pytest.fixture(scope="module")
def exchange():
    process = ExchangeProcess(exchange_binary())
    RUNNING_EXCHANGES.append(process)
    yield process
    RUNNING_EXCHANGES.remove(process)
    process.stop()


@pytest.fixture
def alice(exchange) -> Trader:
    """A maker with both sides of BTC/USDT to quote."""
    return exchange.open_trader({"BTC": "10", "USDT": "1000000"})


@pytest.fixture
def bob(exchange) -> Trader:
    """A taker with both sides of BTC/USDT to trade."""
    return exchange.open_trader({"BTC": "10", "USDT": "1000000"})


@pytest.fixture(autouse=True)
def forget_clients():
    CLIENTS_OF_CURRENT_TEST.clear()
    yield


def describe_last_request(client) -> str:
    response = client.last_http_response
    if isinstance(response, str) and len(response) > 2000:
        response = response[:2000] + "..."
    frames = "".join(
        f"\n  ws frame: {frame}"[:2000] for frame in getattr(client, "last_frames", [])
    )
    return (
        f"{type(client).__module__}.{type(client).__name__} ({client.apiKey[:8]}...)\n"
        f"  request:  {client.last_request_url}\n"
        f"  body:     {client.last_request_body}\n"
        f"  response: {response}{frames}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for process in RUNNING_EXCHANGES:
            report.sections.append(("exchange log tail", process.log_tail()))
        requests = "\n".join(describe_last_request(c) for c in CLIENTS_OF_CURRENT_TEST)
        if requests:
            report.sections.append(("last ccxt requests", requests))
    return report

"""The real `exchange serve` binary on 127.0.0.1 port 0, its admin API, and ccxt clients
configured exactly as ../shared/BINANCE_COMPAT.md says: base URLs and the three spot-only
options, nothing else."""

import collections
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import ccxt
import ccxt.pro

WORKSPACE_ROOT = pathlib.Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "ccxt-suite-admin-token"
SYMBOL = "BTC/USDT"
MARKET_ID = "BTCUSDT"
STARTUP_TIMEOUT_S = 30
LOG_TAIL_LINES = 40

# Every ccxt client a test made, so a failure can show their last requests.
CLIENTS_OF_CURRENT_TEST = []
RUNNING_EXCHANGES = []


@dataclass
class Trader:
    account_id: int
    api_key: str
    secret: str


class ExchangeProcess:
    """`exchange serve` with its stdout and stderr in a log file; killed by stop()."""

    def __init__(self, binary: str):
        self.directory = tempfile.mkdtemp(prefix="ccxt-suite-")
        self.log_path = os.path.join(self.directory, "exchange.log")
        database_url = f"sqlite://{self.directory}/exchange.db?mode=rwc"
        environment = dict(os.environ)
        environment.pop("EXCHANGE_CONFIG", None)
        environment.update(
            EXCHANGE_LISTEN="127.0.0.1:0",
            DATABASE_URL=database_url,
            ADMIN_TOKEN=ADMIN_TOKEN,
            RUST_LOG=os.environ.get("CCXT_SUITE_RUST_LOG", "info"),
            NO_COLOR="1",
            # Binance's request-weight limits stay (test_errors probes them); the order-count
            # limits (100 per 10 s) would stop the 5,000-order book-sync test.
            RATE_LIMIT_ORDERS_PER_10S="4000000000",
            RATE_LIMIT_ORDERS_PER_DAY="4000000000",
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "serve"],
                cwd=WORKSPACE_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = "http://" + self._wait_for_address()
        self.ws_base = self.base.replace("http://", "ws://", 1)

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                for line in log:
                    if line.startswith("listening on "):
                        return line.removeprefix("listening on ").strip()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"exchange did not print its address:\n{self.log_tail()}")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def http(self, method: str, path: str, data: bytes = None, headers=None):
        """A plain HTTP request: (status, parsed JSON answer)."""
        request = urllib.request.Request(self.base + path, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def signed(self, trader: "Trader", method: str, path: str, params: dict):
        """A Binance-signed request outside ccxt (the load generator's batchOrders):
        GET/DELETE carry the parameters in the query, POST in a form body."""
        payload = urllib.parse.urlencode(dict(params, timestamp=int(time.time() * 1000)))
        digest = hmac.new(trader.secret.encode(), payload.encode(), hashlib.sha256)
        payload += "&signature=" + digest.hexdigest()
        headers = {"X-MBX-APIKEY": trader.api_key}
        if method in ("GET", "DELETE"):
            return self.http(method, f"{path}?{payload}", None, headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.http(method, path, payload.encode(), headers)

    def metric(self, name: str) -> float:
        """The sum of every series of `name` in GET /metrics (0 when absent)."""
        with urllib.request.urlopen(self.base + "/metrics", timeout=30) as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and line[len(name)] in " {"
        )

    def admin(self, path: str, body: dict) -> dict:
        headers = {"X-Admin-Token": ADMIN_TOKEN, "Content-Type": "application/json"}
        status, answer = self.http("POST", path, json.dumps(body).encode(), headers)
        assert status == 200, f"{path}: {status} {answer}"
        return answer

    def open_trader(self, deposits: dict) -> Trader:
        """A new account holding `deposits` (asset -> decimal string)."""
        account = self.admin("/admin/accounts", {})
        trader = Trader(account["accountId"], account["apiKey"], account["secretKey"])
        for asset, amount in deposits.items():
            body = {"accountId": trader.account_id, "asset": asset, "amount": amount}
            self.admin("/admin/deposits", body)
        return trader

    def ccxt_config(self, trader: Trader) -> dict:
        base = self.base + "/api/v3"
        return {
            "apiKey": trader.api_key,
            "secret": trader.secret,
            "urls": {"api": {"public": base, "private": base}},
            "options": {
                "fetchCurrencies": False,
                "fetchMargins": False,
                "fetchMarkets": {"types": ["spot"]},
            },
        }

    def rest(self, trader: Trader) -> ccxt.binance:
        client = ccxt.binance(self.ccxt_config(trader))
        CLIENTS_OF_CURRENT_TEST.append(client)
        return client

    def pro(self, trader: Trader) -> ccxt.pro.binance:
        client = ccxt.pro.binance(self.ccxt_config(trader))
        client.urls["api"]["ws"]["spot"] = self.ws_base + "/ws"
        client.urls["api"]["ws"]["ws-api"]["spot"] = self.ws_base + "/ws-api/v3"
        remember_frames(client)
        CLIENTS_OF_CURRENT_TEST.append(client)
        return client


def remember_frames(client, frames_max: int = 5):
    """Keeps the last frames a ccxt.pro client received (in `client.last_frames`) for a
    failure report: a WebSocket answer or event is what a REST request is for the others."""
    client.last_frames = collections.deque(maxlen=frames_max)
    handle_message = client.handle_message

    def remembering(ws_client, message):
        client.last_frames.append(message)
        return handle_message(ws_client, message)

    client.handle_message = remembering


def exchange_binary() -> str:
    binary = os.environ.get("EXCHANGE_BINARY", str(WORKSPACE_ROOT / "target/debug/exchange"))
    assert os.access(binary, os.X_OK), f"{binary} is missing: cargo build --bin exchange"
    return binary




def eventually(read, expected, timeout_s: float = 10.0, interval_s: float = 0.05):
    """Calls `read()` until it returns `expected` (settlement and market data trail the match
    by milliseconds); returns the last value read, which the caller asserts."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = read()
    return value


def balance_of(client, asset: str) -> tuple:
    """(free, used) of `asset` as fetch_balance reports them."""
    balance = client.fetch_balance()
    return (balance[asset]["free"], balance[asset]["used"])

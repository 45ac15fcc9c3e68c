"""ccxt.pro over the exchange's WebSocket endpoints: market streams at /ws (order book kept
in sync from snapshot + diffs, trades) and the ws-api at /ws-api/v3 (user data stream:
orders, balance, own trades; order placement and cancel)."""

import asyncio
import json
import random
import time

import pytest_asyncio

from harness import MARKET_ID, SYMBOL

LOAD_ORDERS = 5000
# batchOrders places a batch in one book message: small batches make many book changes for
# the watcher's merged diffs while keeping the 5,000 orders quick.
LOAD_BATCH_SIZE = 20
WAIT_S = 15


@pytest_asyncio.fixture
async def pro_clients(exchange):
    """Makes ccxt.pro clients for traders and closes them (their sockets) after the test."""
    made = []

    def make(trader):
        client = exchange.pro(trader)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def wait_for_metric(exchange, name: str, at_least: float):
    """The exchange counts a subscription once it has acknowledged it: wait for that, so
    the events a test causes next are certain to reach the subscriber."""
    deadline = time.monotonic() + WAIT_S
    while exchange.metric(name) < at_least:
        assert time.monotonic() < deadline, f"{name} stayed below {at_least}"
        await asyncio.sleep(0.02)


class Collector:
    """Runs `watch()` in a loop in the background, so a test can wait for a condition on what
    it returned while the test makes the events happen. `latest` is the last result; for
    list results (ccxt.pro returns only what is new since the previous call) it is every item
    returned so far."""

    def __init__(self, watch, accumulate: bool = False):
        self.latest = [] if accumulate else None
        self.task = asyncio.create_task(self._run(watch, accumulate))

    async def _run(self, watch, accumulate):
        while True:
            result = await watch()
            self.latest = self.latest + list(result) if accumulate else result

    async def until(self, condition, what: str):
        deadline = time.monotonic() + WAIT_S
        while not self.latest or not condition(self.latest):
            if self.task.done():
                self.task.result()  # re-raises what the watch raised
            assert time.monotonic() < deadline, f"never saw {what}; last: {self.latest}"
            await asyncio.sleep(0.01)
        return self.latest

    def stop(self):
        self.task.cancel()


def load_orders(seed: int) -> list:
    """5,000 orders around 50,000: 80% resting quotes on 100 levels a side, 20% crossing IOC
    orders that take out the best levels (so levels appear, change and disappear)."""
    rng = random.Random(seed)
    orders = []
    for _ in range(LOAD_ORDERS):
        quantity = f"{rng.randint(1, 10) / 1000:.3f}"
        if rng.random() < 0.8:
            side = rng.choice(["BUY", "SELL"])
            offset = rng.randint(1, 100)
            price = 50000 - offset if side == "BUY" else 50000 + offset
            order = {"timeInForce": "GTC", "price": f"{price}.00", "maker": True}
        else:
            side = rng.choice(["BUY", "SELL"])
            price = 50100 if side == "BUY" else 49900
            order = {"timeInForce": "IOC", "price": f"{price}.00", "maker": False}
        order.update(symbol=MARKET_ID, side=side, type="LIMIT", quantity=quantity)
        orders.append(order)
    return orders


def send_load(exchange, maker, taker, orders) -> int:
    """Sends `orders` by batchOrders, LOAD_BATCH_SIZE a request: quotes from `maker`, crossing
    orders from `taker` (separate accounts: no self-trade prevention in the way). Returns the
    number of requests."""
    requests = 0
    for start in range(0, len(orders), LOAD_BATCH_SIZE):
        batch = orders[start : start + LOAD_BATCH_SIZE]
        for trader, is_maker in ((maker, True), (taker, False)):
            mine = [
                {k: v for k, v in o.items() if k != "maker"}
                for o in batch
                if o["maker"] == is_maker
            ]
            if not mine:
                continue
            params = {"batchOrders": json.dumps(mine)}
            status, answers = exchange.signed(trader, "POST", "/api/v3/batchOrders", params)
            assert status == 200, answers
            refused = [answer for answer in answers if "code" in answer]
            assert refused == [], refused
            requests += 1
    return requests


def book_levels(book) -> tuple:
    return ([list(level) for level in book["bids"]], [list(level) for level in book["asks"]])


async def test_watch_order_book_stays_in_sync_under_5000_orders(exchange, alice, pro_clients):
    watcher = pro_clients(alice)
    rest = exchange.rest(alice)
    book = await watcher.watch_order_book(SYMBOL)
    assert book["nonce"] is not None
    maker = exchange.open_trader({"BTC": "100", "USDT": "10000000"})
    taker = exchange.open_trader({"BTC": "100", "USDT": "10000000"})
    # Count the diffs ccxt applies to its local book (each checked for U = previous u + 1).
    diffs_applied = []
    apply_diff = watcher.handle_order_book_message

    def counting_apply(client, message, orderbook):
        diffs_applied.append(message["u"])
        return apply_diff(client, message, orderbook)

    watcher.handle_order_book_message = counting_apply
    collector = Collector(lambda: watcher.watch_order_book(SYMBOL))
    load = load_orders(seed=10)
    requests = await asyncio.to_thread(send_load, exchange, maker, taker, load)
    try:
        # The book no longer changes: the stream must reach REST depth's lastUpdateId.
        snapshot = await asyncio.to_thread(rest.fetch_order_book, SYMBOL, 1000)
        final = await collector.until(lambda b: b["nonce"] >= snapshot["nonce"], "the final nonce")
        assert final["nonce"] == snapshot["nonce"]
        assert book_levels(final) == book_levels(snapshot)
    finally:
        collector.stop()
        # Later tests of this module trade at 50,000 on an empty book.
        exchange.signed(maker, "DELETE", "/api/v3/openOrders", {"symbol": MARKET_ID})
    bids, asks = book_levels(snapshot)
    assert len(bids) > 50 and len(asks) > 50, "the load built a deep book"
    assert bids[0][0] < asks[0][0]
    # ccxt subscribes to @depth@100ms: the requests' changes came merged into at most one
    # frame per 100 ms (a late tick may fire twice), applied in order.
    assert 2 <= len(diffs_applied), (len(diffs_applied), requests)
    assert diffs_applied == sorted(diffs_applied)


async def test_watch_trades_sees_each_fill(exchange, alice, bob, pro_clients):
    watcher = pro_clients(alice)
    await watcher.load_markets()
    subscriptions_before = exchange.metric("exchange_ws_subscriptions")
    collector = Collector(lambda: watcher.watch_trades(SYMBOL), accumulate=True)
    await wait_for_metric(exchange, "exchange_ws_subscriptions", subscriptions_before + 1)
    maker, taker = exchange.rest(alice), exchange.rest(bob)
    try:
        await asyncio.to_thread(maker.create_order, SYMBOL, "limit", "sell", 0.003, 50000)
        await asyncio.to_thread(maker.create_order, SYMBOL, "limit", "sell", 0.004, 50001)
        await asyncio.to_thread(taker.create_order, SYMBOL, "market", "buy", 0.007)
        trades = await collector.until(lambda t: sum(x["amount"] for x in t) >= 0.007, "two trades")
        seen = [(t["symbol"], t["side"], t["price"], t["amount"], t["cost"]) for t in trades]
        assert seen == [
            (SYMBOL, "buy", 50000.0, 0.003, 150.0),
            (SYMBOL, "buy", 50001.0, 0.004, 200.004),
        ]
        assert int(trades[1]["id"]) == int(trades[0]["id"]) + 1
    finally:
        collector.stop()


async def test_user_stream_pushes_orders_balance_and_my_trades(exchange, alice, bob, pro_clients):
    client = pro_clients(alice)
    await client.load_markets()
    streams_before = exchange.metric("exchange_ws_user_streams")
    orders = Collector(lambda: client.watch_orders(SYMBOL), accumulate=True)
    balance = Collector(client.watch_balance)
    my_trades = Collector(lambda: client.watch_my_trades(SYMBOL), accumulate=True)
    await wait_for_metric(exchange, "exchange_ws_user_streams", streams_before + 1)
    try:
        seller = exchange.rest(bob)
        await asyncio.to_thread(seller.create_order, SYMBOL, "limit", "sell", 0.01, 50000)
        bid = await asyncio.to_thread(
            exchange.rest(alice).create_order, SYMBOL, "limit", "buy", 0.02, 50000
        )
        assert (bid["status"], bid["filled"]) == ("open", 0.01)

        def partly_filled(watched):
            return any(o["id"] == bid["id"] and o["filled"] == 0.01 for o in watched)

        watched = await orders.until(partly_filled, "the bid partly filled")
        order = [o for o in watched if o["id"] == bid["id"]][-1]
        assert (order["status"], order["price"], order["amount"], order["remaining"]) == (
            "open", 50000.0, 0.02, 0.01,
        )
        assert (order["cost"], order["side"], order["type"]) == (500.0, "buy", "limit")

        trades = await my_trades.until(lambda t: len(t) >= 1, "the fill")
        [trade] = trades
        assert (trade["order"], trade["side"], trade["takerOrMaker"]) == (bid["id"], "buy", "taker")
        assert (trade["price"], trade["amount"], trade["cost"]) == (50000.0, 0.01, 500.0)
        assert trade["fee"] == {"cost": 0.00001, "currency": "BTC"}

        expected = {"BTC": (10.00999, 0.0), "USDT": (999000.0, 500.0)}

        def settled(watched):
            return all((watched.get(a, {}).get("free"), watched.get(a, {}).get("used")) == v
                       for a, v in expected.items())

        await balance.until(settled, f"balances {expected}")
    finally:
        for collector in (orders, balance, my_trades):
            collector.stop()
        exchange.signed(alice, "DELETE", "/api/v3/openOrders", {"symbol": MARKET_ID})


async def test_create_and_cancel_order_over_ws_api(exchange, alice, bob, pro_clients):
    client = pro_clients(alice)
    await client.load_markets()
    resting = await client.create_order_ws(SYMBOL, "limit", "buy", 0.01, 49000)
    assert (resting["status"], resting["price"], resting["amount"], resting["remaining"]) == (
        "open", 49000.0, 0.01, 0.01,
    )
    rest = exchange.rest(alice)
    assert (await asyncio.to_thread(rest.fetch_order, resting["id"], SYMBOL))["status"] == "open"
    canceled = await client.cancel_order_ws(resting["id"], SYMBOL)
    assert (canceled["id"], canceled["status"], canceled["filled"]) == (
        resting["id"], "canceled", 0.0,
    )
    assert await asyncio.to_thread(rest.fetch_open_orders, SYMBOL) == []

    await asyncio.to_thread(exchange.rest(bob).create_order, SYMBOL, "limit", "sell", 0.01, 50000)
    filled = await client.create_order_ws(SYMBOL, "limit", "buy", 0.01, 50000)
    assert (filled["status"], filled["filled"], filled["remaining"], filled["cost"]) == (
        "closed", 0.01, 0.0, 500.0,
    )
    assert filled["fee"] == {"cost": 0.00001, "currency": "BTC"}
    balance = await asyncio.to_thread(rest.fetch_balance)
    assert (balance["BTC"]["free"], balance["USDT"]["free"]) == (10.00999, 999500.0)

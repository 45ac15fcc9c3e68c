"""Public REST market data through ccxt on a fresh exchange where this module makes the only
trades: a maker quotes, a taker buys through two asks and sells into a bid."""

import time

import pytest

from harness import SYMBOL, eventually


@pytest.fixture(scope="module")
def traded(exchange):
    """Three trades: buy 0.01 @ 50000 and 0.005 @ 50010 (one taker order), sell 0.005 @ 49990.
    Book after: asks 0.015 @ 50010, 0.03 @ 50020; bids 0.005 @ 49990, 0.02 @ 49980."""
    maker = exchange.rest(exchange.open_trader({"BTC": "1", "USDT": "10000"}))
    taker = exchange.rest(exchange.open_trader({"BTC": "1", "USDT": "10000"}))
    for side, amount, price in [
        ("sell", 0.01, 50000),
        ("sell", 0.02, 50010),
        ("sell", 0.03, 50020),
        ("buy", 0.01, 49990),
        ("buy", 0.02, 49980),
    ]:
        assert maker.create_order(SYMBOL, "limit", side, amount, price)["status"] == "open"
    started_ms = int(time.time() * 1000)
    buy = taker.create_order(SYMBOL, "limit", "buy", 0.015, 50010, {"timeInForce": "IOC"})
    assert (buy["status"], buy["filled"], buy["cost"]) == ("closed", 0.015, 750.05)
    sell = taker.create_order(SYMBOL, "limit", "sell", 0.005, 49990)
    assert (sell["status"], sell["filled"], sell["cost"]) == ("closed", 0.005, 249.95)
    return {"client": taker, "started_ms": started_ms}


def test_load_markets_reads_exchange_info(exchange, alice):
    client = exchange.rest(alice)
    markets = client.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    market = markets[SYMBOL]
    assert (market["id"], market["base"], market["quote"]) == ("BTCUSDT", "BTC", "USDT")
    assert (market["type"], market["spot"], market["active"]) == ("spot", True, True)
    assert (market["swap"], market["future"], market["contract"]) == (False, False, False)
    assert (market["precision"]["amount"], market["precision"]["price"]) == (0.00001, 0.01)
    assert (market["precision"]["base"], market["precision"]["quote"]) == (1e-08, 1e-08)
    assert market["limits"]["amount"] == {"min": 0.00001, "max": 9000.0}
    assert market["limits"]["price"] == {"min": 0.01, "max": 1000000.0}
    assert market["limits"]["cost"] == {"min": 5.0, "max": 9000000.0}
    assert {"LIMIT", "MARKET", "LIMIT_MAKER"} <= set(market["info"]["orderTypes"])


def test_fetch_time_is_the_server_clock(exchange, alice):
    before_ms = int(time.time() * 1000)
    server_ms = exchange.rest(alice).fetch_time()
    after_ms = int(time.time() * 1000)
    assert before_ms - 1000 <= server_ms <= after_ms + 1000


def test_fetch_order_book_has_every_level(exchange, alice, traded):
    book = exchange.rest(alice).fetch_order_book(SYMBOL)
    assert book["symbol"] == SYMBOL
    assert book["asks"] == [[50010.0, 0.015], [50020.0, 0.03]]
    assert book["bids"] == [[49990.0, 0.005], [49980.0, 0.02]]
    assert isinstance(book["nonce"], int) and book["nonce"] > 0
    limited = exchange.rest(alice).fetch_order_book(SYMBOL, limit=5)
    assert limited["asks"] == book["asks"] and limited["bids"] == book["bids"]


def test_fetch_trades_lists_the_aggregates(exchange, alice, traded):
    client = exchange.rest(alice)

    def summary():
        trades = client.fetch_trades(SYMBOL)
        return [(t["side"], t["price"], t["amount"], t["cost"]) for t in trades]

    assert eventually(summary, [
        ("buy", 50000.0, 0.01, 500.0),
        ("buy", 50010.0, 0.005, 250.05),
        ("sell", 49990.0, 0.005, 249.95),
    ]) == [
        ("buy", 50000.0, 0.01, 500.0),
        ("buy", 50010.0, 0.005, 250.05),
        ("sell", 49990.0, 0.005, 249.95),
    ]
    trades = client.fetch_trades(SYMBOL, since=traded["started_ms"] - 1000)
    assert len(trades) == 3
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(t["symbol"] == SYMBOL for t in trades)
    now_ms = int(time.time() * 1000)
    assert all(traded["started_ms"] - 1000 <= t["timestamp"] <= now_ms for t in trades)


def test_fetch_ticker_has_the_day_statistics(exchange, alice, traded):
    client = exchange.rest(alice)
    ticker = eventually(lambda: client.fetch_ticker(SYMBOL)["last"], 49990.0)
    assert ticker == 49990.0
    ticker = client.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL
    assert (ticker["open"], ticker["high"], ticker["low"], ticker["close"]) == (
        50000.0,
        50010.0,
        49990.0,
        49990.0,
    )
    assert (ticker["bid"], ticker["bidVolume"]) == (49990.0, 0.005)
    assert (ticker["ask"], ticker["askVolume"]) == (50010.0, 0.015)
    assert ticker["baseVolume"] == pytest.approx(0.02, abs=1e-12)
    assert ticker["quoteVolume"] == pytest.approx(1000.0, abs=1e-9)
    assert ticker["vwap"] == pytest.approx(50000.0, abs=1e-6)
    assert ticker["change"] == -10.0
    assert ticker["percentage"] == pytest.approx(-0.02, abs=1e-9)


def test_fetch_ohlcv_candles_sum_to_the_trades(exchange, alice, traded):
    client = exchange.rest(alice)

    def volume():
        return round(sum(candle[5] for candle in client.fetch_ohlcv(SYMBOL, "1m")), 8)

    assert eventually(volume, 0.02) == 0.02
    candles = client.fetch_ohlcv(SYMBOL, "1m", since=traded["started_ms"] - 60_000)
    # The trades fall into one minute, or two when a minute boundary passed between them.
    assert 1 <= len(candles) <= 2
    assert all(candle[0] % 60_000 == 0 for candle in candles)
    assert candles[0][1] == 50000.0
    assert max(candle[2] for candle in candles) == 50010.0
    assert min(candle[3] for candle in candles) == 49990.0
    assert candles[-1][4] == 49990.0

"""Private REST trading through ccxt: every order type and time in force the issue lists, the
queries, cancels and amend, with the balances before and after each.

Fees (config/default.toml): taker 0.1%, maker 0.01%, charged in the asset received. alice
and bob each start with 10 BTC and 1,000,000 USDT; prices stay near 50,000 (inside the price
band around the last trade)."""

import pytest
import ccxt

from harness import SYMBOL, eventually


def holdings(client) -> dict:
    """{asset: (free, used)} for BTC and USDT."""
    balance = client.fetch_balance()
    return {asset: (balance[asset]["free"], balance[asset]["used"]) for asset in ("BTC", "USDT")}


def expect_holdings(client, expected: dict):
    """Settlement trails the fill by milliseconds: wait for `expected`, then assert it."""
    assert eventually(lambda: holdings(client), expected) == expected


STARTING = {"BTC": (10.0, 0.0), "USDT": (1000000.0, 0.0)}


@pytest.fixture
def maker(exchange, alice):
    client = exchange.rest(alice)
    yield client
    cancel_everything(client)


@pytest.fixture
def taker(exchange, bob):
    client = exchange.rest(bob)
    yield client
    cancel_everything(client)


def cancel_everything(client):
    """Leaves the module's shared book as the test found it, even after a failure."""
    if client.fetch_open_orders(SYMBOL):
        client.cancel_all_orders(SYMBOL)


def test_fetch_balance_shows_deposits_and_holds(maker):
    expect_holdings(maker, STARTING)
    balance = maker.fetch_balance()
    assert balance["total"]["BTC"] == 10.0 and balance["total"]["USDT"] == 1000000.0
    bid = maker.create_order(SYMBOL, "limit", "buy", 0.1, 50000)
    expect_holdings(maker, {"BTC": (10.0, 0.0), "USDT": (995000.0, 5000.0)})
    ask = maker.create_order(SYMBOL, "limit", "sell", 0.25, 50100)
    expect_holdings(maker, {"BTC": (9.75, 0.25), "USDT": (995000.0, 5000.0)})
    maker.cancel_order(bid["id"], SYMBOL)
    maker.cancel_order(ask["id"], SYMBOL)
    expect_holdings(maker, STARTING)


def test_limit_gtc_rests_fills_partly_and_cancels(maker, taker):
    bid = maker.create_order(SYMBOL, "limit", "buy", 0.1, 50000)
    assert (bid["symbol"], bid["type"], bid["side"], bid["timeInForce"]) == (
        SYMBOL, "limit", "buy", "GTC",
    )
    assert (bid["status"], bid["price"], bid["amount"], bid["filled"], bid["remaining"]) == (
        "open", 50000.0, 0.1, 0.0, 0.1,
    )
    assert bid["postOnly"] is False and len(bid["clientOrderId"]) > 0

    ask = taker.create_order(SYMBOL, "limit", "sell", 0.04, 50000)
    assert (ask["status"], ask["filled"], ask["remaining"], ask["cost"], ask["average"]) == (
        "closed", 0.04, 0.0, 2000.0, 50000.0,
    )
    assert ask["fee"] == {"cost": 2.0, "currency": "USDT"}
    assert [(t["price"], t["amount"]) for t in ask["trades"]] == [(50000.0, 0.04)]

    partly = eventually(lambda: maker.fetch_order(bid["id"], SYMBOL)["filled"], 0.04)
    assert partly == 0.04
    fetched = maker.fetch_order(bid["id"], SYMBOL)
    assert (fetched["status"], fetched["remaining"], fetched["cost"]) == ("open", 0.06, 2000.0)
    expect_holdings(maker, {"BTC": (10.039996, 0.0), "USDT": (995000.0, 3000.0)})
    expect_holdings(taker, {"BTC": (9.96, 0.0), "USDT": (1001998.0, 0.0)})

    canceled = maker.cancel_order(bid["id"], SYMBOL)
    assert (canceled["id"], canceled["status"], canceled["filled"], canceled["remaining"]) == (
        bid["id"], "canceled", 0.04, 0.06,
    )
    expect_holdings(maker, {"BTC": (10.039996, 0.0), "USDT": (998000.0, 0.0)})


def test_limit_ioc_fills_what_it_can_and_expires_the_rest(maker, taker):
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    ioc = taker.create_order(SYMBOL, "limit", "buy", 0.03, 50000, {"timeInForce": "IOC"})
    assert (ioc["status"], ioc["timeInForce"], ioc["filled"], ioc["remaining"]) == (
        "expired", "IOC", 0.01, 0.02,
    )
    assert (ioc["cost"], ioc["fee"]) == (500.0, {"cost": 0.00001, "currency": "BTC"})
    assert taker.fetch_open_orders(SYMBOL) == []
    expect_holdings(taker, {"BTC": (10.00999, 0.0), "USDT": (999500.0, 0.0)})


def test_limit_fok_fills_all_or_nothing(maker, taker):
    ask = maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    refused = taker.create_order(SYMBOL, "limit", "buy", 0.02, 50000, {"timeInForce": "FOK"})
    assert (refused["status"], refused["timeInForce"], refused["filled"]) == (
        "expired", "FOK", 0.0,
    )
    assert refused["remaining"] == 0.02 and refused["trades"] == []
    assert maker.fetch_order(ask["id"], SYMBOL)["remaining"] == 0.01
    expect_holdings(taker, STARTING)

    filled = taker.create_order(SYMBOL, "limit", "buy", 0.01, 50000, {"timeInForce": "FOK"})
    assert (filled["status"], filled["filled"], filled["remaining"], filled["cost"]) == (
        "closed", 0.01, 0.0, 500.0,
    )
    expect_holdings(taker, {"BTC": (10.00999, 0.0), "USDT": (999500.0, 0.0)})


def test_market_order_by_amount_walks_the_book(maker, taker):
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50100)
    buy = taker.create_order(SYMBOL, "market", "buy", 0.015)
    assert (buy["type"], buy["side"], buy["status"], buy["filled"], buy["remaining"]) == (
        "market", "buy", "closed", 0.015, 0.0,
    )
    assert buy["cost"] == 750.5
    assert buy["average"] == pytest.approx(750.5 / 0.015, abs=1e-6)
    assert [(t["price"], t["amount"]) for t in buy["trades"]] == [(50000.0, 0.01), (50100.0, 0.005)]
    assert buy["fee"] == {"cost": 0.000015, "currency": "BTC"}
    expect_holdings(taker, {"BTC": (10.014985, 0.0), "USDT": (999249.5, 0.0)})

    maker.create_order(SYMBOL, "limit", "buy", 0.02, 49900)
    sell = taker.create_order(SYMBOL, "market", "sell", 0.005)
    assert (sell["status"], sell["filled"], sell["cost"]) == ("closed", 0.005, 249.5)
    assert sell["fee"] == {"cost": 0.2495, "currency": "USDT"}


def test_market_buy_by_cost_spends_the_quote_amount(maker, taker):
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    buy = taker.create_market_buy_order_with_cost(SYMBOL, 250)
    assert (buy["status"], buy["filled"], buy["cost"], buy["average"]) == (
        "closed", 0.005, 250.0, 50000.0,
    )
    assert buy["fee"] == {"cost": 0.000005, "currency": "BTC"}
    expect_holdings(taker, {"BTC": (10.004995, 0.0), "USDT": (999750.0, 0.0)})


def test_post_only_rests_or_is_refused(maker, taker):
    bid = maker.create_order(SYMBOL, "limit", "buy", 0.01, 49000, {"postOnly": True})
    assert (bid["status"], bid["postOnly"], bid["type"], bid["price"]) == (
        "open", True, "limit", 49000.0,
    )
    assert maker.fetch_order(bid["id"], SYMBOL)["postOnly"] is True
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        taker.create_order(SYMBOL, "limit", "buy", 0.01, 50000, {"postOnly": True})
    assert taker.fetch_open_orders(SYMBOL) == []
    expect_holdings(taker, STARTING)


def test_self_trade_prevention_expires_the_chosen_side(maker):
    ask = maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    taker_expired = maker.create_order(
        SYMBOL, "limit", "buy", 0.01, 50000, {"selfTradePreventionMode": "EXPIRE_TAKER"}
    )
    assert (taker_expired["status"], taker_expired["filled"]) == ("expired", 0.0)
    assert taker_expired["info"]["status"] == "EXPIRED_IN_MATCH"
    assert maker.fetch_order(ask["id"], SYMBOL)["status"] == "open"

    resting_bid = maker.create_order(
        SYMBOL, "limit", "buy", 0.01, 50000, {"selfTradePreventionMode": "EXPIRE_MAKER"}
    )
    assert (resting_bid["status"], resting_bid["filled"]) == ("open", 0.0)
    expired_ask = maker.fetch_order(ask["id"], SYMBOL)
    assert (expired_ask["status"], expired_ask["filled"]) == ("expired", 0.0)
    assert maker.fetch_my_trades(SYMBOL) == []
    expect_holdings(maker, {"BTC": (10.0, 0.0), "USDT": (999500.0, 500.0)})


def test_self_trade_prevention_expire_both_and_none(maker):
    first_ask = maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    both = maker.create_order(
        SYMBOL, "limit", "buy", 0.01, 50000, {"selfTradePreventionMode": "EXPIRE_BOTH"}
    )
    assert (both["status"], both["filled"], both["info"]["status"]) == (
        "expired", 0.0, "EXPIRED_IN_MATCH",
    )
    assert maker.fetch_order(first_ask["id"], SYMBOL)["status"] == "expired"
    assert maker.fetch_open_orders(SYMBOL) == []

    # NONE (the default) lets an account trade with itself, paying both fees.
    maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    self_trade = maker.create_order(
        SYMBOL, "limit", "buy", 0.01, 50000, {"selfTradePreventionMode": "NONE"}
    )
    assert (self_trade["status"], self_trade["filled"], self_trade["cost"]) == (
        "closed", 0.01, 500.0,
    )
    [bought] = [t for t in maker.fetch_my_trades(SYMBOL) if t["side"] == "buy"]
    assert (bought["price"], bought["amount"], bought["takerOrMaker"]) == (50000.0, 0.01, "taker")
    # Sold 0.01 for 500 less the maker's 0.05 USDT, bought it back for 500 less 0.00001 BTC.
    expect_holdings(maker, {"BTC": (9.99999, 0.0), "USDT": (999999.95, 0.0)})


def test_cancel_all_orders_empties_the_account(maker):
    prices = (49000, 49010, 49020)
    ids = {maker.create_order(SYMBOL, "limit", "buy", 0.01, price)["id"] for price in prices}
    assert {order["id"] for order in maker.fetch_open_orders(SYMBOL)} == ids
    canceled = maker.cancel_all_orders(SYMBOL)
    assert {order["id"] for order in canceled} == ids
    assert {order["status"] for order in canceled} == {"canceled"}
    assert maker.fetch_open_orders(SYMBOL) == []
    expect_holdings(maker, STARTING)


def test_open_closed_and_single_order_queries(maker, taker):
    named = {"clientOrderId": "ccxt-open-bid"}
    open_bid = maker.create_order(SYMBOL, "limit", "buy", 0.01, 49900, named)
    filled_ask = maker.create_order(SYMBOL, "limit", "sell", 0.01, 50000)
    canceled_bid = maker.create_order(SYMBOL, "limit", "buy", 0.01, 49800)
    maker.cancel_order(canceled_bid["id"], SYMBOL)
    taker.create_order(SYMBOL, "market", "buy", 0.01)

    def open_ids():
        return [order["id"] for order in maker.fetch_open_orders(SYMBOL)]

    assert eventually(open_ids, [open_bid["id"]]) == [open_bid["id"]]
    closed = maker.fetch_closed_orders(SYMBOL)
    assert [(o["id"], o["status"], o["filled"], o["price"]) for o in closed] == [
        (filled_ask["id"], "closed", 0.01, 50000.0),
    ]
    by_client_id = maker.fetch_order(None, SYMBOL, {"clientOrderId": "ccxt-open-bid"})
    assert (by_client_id["id"], by_client_id["clientOrderId"], by_client_id["status"]) == (
        open_bid["id"], "ccxt-open-bid", "open",
    )
    canceled = maker.fetch_order(canceled_bid["id"], SYMBOL)
    assert (canceled["status"], canceled["filled"], canceled["remaining"]) == (
        "canceled", 0.0, 0.01,
    )
    every_order = maker.fetch_orders(SYMBOL)
    assert [o["id"] for o in every_order] == [open_bid["id"], filled_ask["id"], canceled_bid["id"]]


def test_fetch_my_trades_reports_prices_and_fees(maker, taker):
    ask = maker.create_order(SYMBOL, "limit", "sell", 0.02, 50000)
    bid = taker.create_order(SYMBOL, "limit", "buy", 0.02, 50000)

    maker_trades = eventually(lambda: len(maker.fetch_my_trades(SYMBOL)), 1)
    assert maker_trades == 1
    [sold] = maker.fetch_my_trades(SYMBOL)
    assert (sold["order"], sold["side"], sold["takerOrMaker"]) == (ask["id"], "sell", "maker")
    assert (sold["price"], sold["amount"], sold["cost"]) == (50000.0, 0.02, 1000.0)
    assert sold["fee"] == {"cost": 0.1, "currency": "USDT"}
    [bought] = taker.fetch_my_trades(SYMBOL)
    assert (bought["order"], bought["side"], bought["takerOrMaker"]) == (bid["id"], "buy", "taker")
    assert (bought["price"], bought["amount"], bought["cost"]) == (50000.0, 0.02, 1000.0)
    assert bought["fee"] == {"cost": 0.00002, "currency": "BTC"}
    assert bought["id"] == sold["id"]
    expect_holdings(maker, {"BTC": (9.98, 0.0), "USDT": (1000999.9, 0.0)})
    expect_holdings(taker, {"BTC": (10.01998, 0.0), "USDT": (999000.0, 0.0)})


def test_edit_order_replaces_price_and_amount(maker):
    original = maker.create_order(SYMBOL, "limit", "buy", 0.01, 49000)
    edited = maker.edit_order(original["id"], SYMBOL, "limit", "buy", 0.02, 49500)
    assert edited["id"] != original["id"]
    assert (edited["status"], edited["price"], edited["amount"], edited["filled"]) == (
        "open", 49500.0, 0.02, 0.0,
    )
    assert maker.fetch_order(original["id"], SYMBOL)["status"] == "canceled"
    assert [order["id"] for order in maker.fetch_open_orders(SYMBOL)] == [edited["id"]]
    expect_holdings(maker, {"BTC": (10.0, 0.0), "USDT": (999010.0, 990.0)})

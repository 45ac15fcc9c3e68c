use exchange_actors::account::OrderStatus;
use rstest::rstest;

use super::*;
use crate::api::testing::order_record;

/// (orderId, created from, created to, limit)
type Parsed = (Option<u64>, Option<u64>, Option<u64>, usize);

fn window(query: &str) -> Result<HistoryWindow, i32> {
    history_window(&Params::from_query(query).unwrap()).map_err(|error| error.code())
}

fn ids(orders: &[OrderRecord]) -> Vec<u64> {
    orders.iter().map(|order| order.order_id.0).collect()
}

#[rstest]
#[case("", Ok((None, None, None, 500)))]
#[case("orderId=7&limit=1000", Ok((Some(7), None, None, 1000)))]
#[case("startTime=1&endTime=2", Ok((None, Some(1_000_000), Some(2_999_999), 500)))]
#[case("limit=0", Err(code::INVALID_PARAMETER))]
#[case("limit=1001", Err(code::INVALID_PARAMETER))]
#[case("limit=x", Err(code::ILLEGAL_CHARS))]
#[case("orderId=-1", Err(code::ILLEGAL_CHARS))]
#[case("startTime=5&endTime=4", Err(code::OPTIONAL_PARAMS_BAD_COMBO))]
#[case("startTime=0&endTime=86400001", Err(code::TIME_RANGE_TOO_LONG))]
#[case("startTime=0&endTime=86400000", Ok((None, Some(0), Some(86_400_000_999_999), 500)))]
#[case("endTime=18446744073709551615", Err(code::INVALID_PARAMETER))]
#[case("startTime=", Err(code::PARAM_EMPTY))]
fn windows(#[case] query: &str, #[case] expected: Result<Parsed, i32>) {
    let parsed = window(query).map(|window| {
        (
            window.from_order_id.map(|id| id.0),
            window.created_from_ns,
            window.created_to_ns,
            window.limit,
        )
    });
    assert_eq!(parsed, expected);
}

#[test]
fn memory_wins_and_fills_in_rows_not_yet_written() {
    let window = window("").unwrap();
    let stored = vec![order_record(3, 1, OrderStatus::New), order_record(1, 1, OrderStatus::New)];
    let known =
        vec![order_record(3, 1, OrderStatus::Filled), order_record(5, 2, OrderStatus::Pending)];
    let merged = merge_history(stored, known, &window);
    assert_eq!(ids(&merged), [1, 3, 5]);
    assert_eq!(merged[1].status, OrderStatus::Filled);
}

#[test]
fn most_recent_without_a_lower_bound_oldest_first_with_one() {
    let all: Vec<_> = (1..=10).map(|id| order_record(id, id, OrderStatus::Canceled)).collect();
    let recent = window("limit=3").unwrap();
    assert_eq!(ids(&merge_history(all.clone(), Vec::new(), &recent)), [8, 9, 10]);
    let from = window("limit=3&orderId=4").unwrap();
    assert_eq!(ids(&merge_history(all.clone(), Vec::new(), &from)), [4, 5, 6]);
    let since = window("limit=3&startTime=6").unwrap();
    assert_eq!(ids(&merge_history(all.clone(), Vec::new(), &since)), [6, 7, 8]);
    let until = window("limit=3&endTime=5").unwrap();
    assert_eq!(ids(&merge_history(all, Vec::new(), &until)), [3, 4, 5]);
}

#[test]
fn a_page_of_limit_rows_plus_memory_is_enough() {
    // Rows 1..=10 journaled, 11 and 12 only in memory; the page read newest first holds the
    // 3 newest rows, and the answer is still the 3 newest orders.
    let page: Vec<_> = (8..=10).rev().map(|id| order_record(id, id, OrderStatus::New)).collect();
    let known =
        vec![order_record(11, 11, OrderStatus::New), order_record(12, 12, OrderStatus::New)];
    let window = window("limit=3").unwrap();
    assert_eq!(ids(&merge_history(page, known, &window)), [10, 11, 12]);
}
